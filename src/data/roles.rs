//! Column roles (which column is the user id, the timestamp, ...) and the presets that recognise known
//! exports (GA4, Segment, Mixpanel, Amplitude) by their column names.

use serde::{Deserialize, Serialize};

/// What a column means to the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    UserId,
    Timestamp,
    Event,
    Session,
    Value,
    Duration,
    Scroll,
    Consent,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::UserId,
        Role::Timestamp,
        Role::Event,
        Role::Session,
        Role::Value,
        Role::Duration,
        Role::Scroll,
        Role::Consent,
    ];

    /// The CLI flag that sets this role explicitly.
    pub fn flag(self) -> &'static str {
        match self {
            Role::UserId => "--user-col",
            Role::Timestamp => "--time-col",
            Role::Event => "--event-col",
            Role::Session => "--session-col",
            Role::Value => "--value-col",
            Role::Duration => "--duration-col",
            Role::Scroll => "--scroll-col",
            Role::Consent => "--consent-col",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::UserId => "user id",
            Role::Timestamp => "timestamp",
            Role::Event => "event name",
            Role::Session => "session id",
            Role::Value => "value / revenue",
            Role::Duration => "duration / engagement time",
            Role::Scroll => "scroll depth",
            Role::Consent => "consent",
        }
    }

    /// Column names that take this role, best first (compared case-insensitively).
    fn candidates(self) -> &'static [&'static str] {
        match self {
            Role::UserId => &[
                "user_pseudo_id",
                "userId",
                "user_id",
                "properties.distinct_id",
                "distinct_id",
                "anonymousId",
                "anonymous_id",
                "amplitude_id",
                "customer_id",
                "visitor_id",
                "client_id",
                "uid",
                "user",
            ],
            Role::Timestamp => &[
                "event_timestamp",
                "timestamp",
                "properties.time",
                "event_time",
                "time",
                "ts",
                "datetime",
                "event_datetime",
                "created_at",
                "occurred_at",
                "originalTimestamp",
                "client_event_time",
                "date",
                "event_date",
            ],
            Role::Event => &[
                "event_name",
                "event",
                "event_type",
                "action",
                "event_action",
                "name",
            ],
            Role::Session => &[
                "ga_session_id",
                "event_params.ga_session_id",
                "session_id",
                "sessionId",
                "properties.session_id",
                "properties.$session_id",
                "context.sessionId",
                "visit_id",
                "session",
            ],
            Role::Value => &[
                "value",
                "revenue",
                "properties.revenue",
                "properties.value",
                "properties.total",
                "purchase_revenue",
                "ecommerce.purchase_revenue",
                "event_value_in_usd",
                "event_properties.revenue",
                "amount",
                "price",
            ],
            Role::Duration => &[
                "engagement_time_msec",
                "event_params.engagement_time_msec",
                "duration",
                "time_spent",
                "properties.duration",
                "properties.time_spent",
                "engagement_time",
                "dwell_time",
                "duration_ms",
                "duration_sec",
                "event_properties.duration",
            ],
            Role::Scroll => &[
                "percent_scrolled",
                "event_params.percent_scrolled",
                "scroll_depth",
                "properties.scroll_depth",
                "properties.percent_scrolled",
                "event_properties.scroll_depth",
                "scroll_percent",
                "scroll",
            ],
            Role::Consent => &[
                "consent",
                "analytics_consent",
                "consent_analytics",
                "properties.consent",
                "context.consent.analytics",
                "privacy_info.analytics_storage",
                "gdpr_consent",
                "tracking_consent",
            ],
        }
    }
}

/// A known export layout, recognised from its column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    Ga4,
    Segment,
    Mixpanel,
    Amplitude,
    Generic,
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Preset::Ga4 => "GA4 BigQuery export",
            Preset::Segment => "Segment",
            Preset::Mixpanel => "Mixpanel",
            Preset::Amplitude => "Amplitude",
            Preset::Generic => "generic",
        })
    }
}

/// Which column plays which role. A role may be unmapped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapping {
    pub user_id: Option<String>,
    /// Used where the user id is empty (Segment: `anonymousId` behind `userId`).
    pub user_id_fallback: Option<String>,
    pub timestamp: Option<String>,
    pub event: Option<String>,
    /// Used where the event name is empty (Segment page / screen calls carry their kind in `type`).
    pub event_fallback: Option<String>,
    pub session: Option<String>,
    pub value: Option<String>,
    /// Used, in order, where the value is missing (GA4: `ecommerce.purchase_revenue`, else
    /// `event_value_in_usd`, else the `value` event parameter).
    #[serde(default)]
    pub value_fallback: Vec<String>,
    pub duration: Option<String>,
    pub scroll: Option<String>,
    pub consent: Option<String>,
    /// Columns that together identify an event the vendor may send twice (Amplitude's and
    /// Mixpanel's `$insert_id`, Segment's `messageId`): rows repeating an earlier row's key are
    /// dropped. Empty: no deduplication.
    #[serde(default)]
    pub dedup_key: Vec<String>,
    /// With no event column, the event every row is (an order log's rows are purchases).
    #[serde(default)]
    pub every_row: Option<String>,
    /// Columns that describe the user rather than measure behaviour (platform, device category,
    /// country, acquisition channel, cohort): per user the most frequent value, shown per persona
    /// as shares ("64% mobile").
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Numeric columns beyond the roles (GA4's other event parameters: `event_params.quantity`),
    /// offered as optional per-user features (sum, mean and max over the user's events).
    #[serde(default)]
    pub measures: Vec<String>,
}

impl RoleMapping {
    pub fn get(&self, role: Role) -> Option<&str> {
        match role {
            Role::UserId => self.user_id.as_deref(),
            Role::Timestamp => self.timestamp.as_deref(),
            Role::Event => self.event.as_deref(),
            Role::Session => self.session.as_deref(),
            Role::Value => self.value.as_deref(),
            Role::Duration => self.duration.as_deref(),
            Role::Scroll => self.scroll.as_deref(),
            Role::Consent => self.consent.as_deref(),
        }
    }

    pub fn set(&mut self, role: Role, column: Option<String>) {
        let slot = match role {
            Role::UserId => &mut self.user_id,
            Role::Timestamp => &mut self.timestamp,
            Role::Event => &mut self.event,
            Role::Session => &mut self.session,
            Role::Value => &mut self.value,
            Role::Duration => &mut self.duration,
            Role::Scroll => &mut self.scroll,
            Role::Consent => &mut self.consent,
        };
        *slot = column;
    }

    /// The mapping with only the columns one file of the export has (the others are null there).
    pub fn restricted_to(&self, columns: &[String]) -> RoleMapping {
        let keep = |c: &Option<String>| c.clone().filter(|c| columns.contains(c));
        RoleMapping {
            user_id: keep(&self.user_id),
            user_id_fallback: keep(&self.user_id_fallback),
            timestamp: keep(&self.timestamp),
            event: keep(&self.event),
            event_fallback: keep(&self.event_fallback),
            session: keep(&self.session),
            value: keep(&self.value),
            value_fallback: self
                .value_fallback
                .iter()
                .filter(|c| columns.contains(c))
                .cloned()
                .collect(),
            duration: keep(&self.duration),
            scroll: keep(&self.scroll),
            consent: keep(&self.consent),
            // A file without the whole key has no duplicates to find.
            every_row: self.every_row.clone(),
            attributes: self
                .attributes
                .iter()
                .filter(|c| columns.contains(c))
                .cloned()
                .collect(),
            measures: self
                .measures
                .iter()
                .filter(|c| columns.contains(c))
                .cloned()
                .collect(),
            dedup_key: if self.dedup_key.iter().all(|c| columns.contains(c)) {
                self.dedup_key.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// Every column the mapping uses, fallbacks included.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Role::ALL
            .iter()
            .filter_map(|r| self.get(*r).map(str::to_string))
            .collect();
        out.extend(self.user_id_fallback.clone());
        out.extend(self.event_fallback.clone());
        out.extend(self.value_fallback.iter().cloned());
        out.extend(self.dedup_key.iter().cloned());
        out.extend(self.attributes.iter().cloned());
        out.extend(self.measures.iter().cloned());
        out.dedup();
        out
    }
}

fn find(columns: &[String], wanted: &str, taken: &[String]) -> Option<String> {
    columns
        .iter()
        .find(|c| c.eq_ignore_ascii_case(wanted) && !taken.contains(c))
        .cloned()
}

fn has(columns: &[String], wanted: &str) -> bool {
    columns.iter().any(|c| c.eq_ignore_ascii_case(wanted))
}

/// Columns that describe the user (categorical attributes), by the names exports give them.
const ATTRIBUTES: [&str; 22] = [
    "device.category",
    "device_category",
    "device_type",
    "context.device.type",
    "platform",
    "os_name",
    "device.operating_system",
    "properties.$os",
    "geo.country",
    "country",
    "properties.mp_country_code",
    "traffic_source.medium",
    "traffic_source.source",
    "collected_traffic_source.manual_medium",
    "acquisition_channel",
    "channel",
    "utm_medium",
    "properties.utm_medium",
    "context.campaign.medium",
    "medium",
    "cohort",
    "plan",
];

/// At most this many attributes are picked by name (each is a line per persona).
const MAX_ATTRIBUTES: usize = 6;

/// Where a GA4 export holds an event's value, best first.
const GA4_VALUE: [&str; 3] = [
    "ecommerce.purchase_revenue",
    "event_value_in_usd",
    "event_params.value",
];

/// Recognise the export and map every role it can from the column names.
pub fn auto_map(columns: &[String]) -> (Preset, RoleMapping) {
    let preset = if has(columns, "user_pseudo_id") && has(columns, "event_name") {
        Preset::Ga4
    } else if has(columns, "properties.distinct_id") || has(columns, "properties.time") {
        Preset::Mixpanel
    } else if has(columns, "event_type")
        && (has(columns, "amplitude_id") || has(columns, "user_id"))
    {
        Preset::Amplitude
    } else if (has(columns, "userId") || has(columns, "anonymousId")) && has(columns, "event") {
        Preset::Segment
    } else {
        Preset::Generic
    };
    let mut mapping = RoleMapping::default();
    let mut taken: Vec<String> = Vec::new();
    for role in Role::ALL {
        let found = role
            .candidates()
            .iter()
            .find_map(|c| find(columns, c, &taken));
        if let Some(col) = &found {
            taken.push(col.clone());
        }
        mapping.set(role, found);
    }
    if preset == Preset::Segment
        && mapping
            .user_id
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("userId"))
    {
        mapping.user_id_fallback = find(columns, "anonymousId", &[]);
    }
    if preset == Preset::Segment && mapping.event.is_some() {
        mapping.event_fallback = find(columns, "type", &[]);
    }
    if preset == Preset::Amplitude
        && mapping
            .user_id
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("user_id"))
    {
        // Amplitude: events before login carry only the device id.
        mapping.user_id_fallback = find(columns, "device_id", &[]);
    }
    let taken = mapping.columns();
    mapping.attributes = ATTRIBUTES
        .iter()
        .filter_map(|c| find(columns, c, &taken))
        .take(MAX_ATTRIBUTES)
        .collect();
    // The vendor's deduplication key, when the export has it.
    let dedup: &[&str] = match preset {
        Preset::Amplitude => &["$insert_id"],
        // Mixpanel deduplicates on event, distinct_id, time and $insert_id together.
        Preset::Mixpanel => &[
            "event",
            "properties.distinct_id",
            "properties.time",
            "properties.$insert_id",
        ],
        Preset::Segment => &["messageId"],
        Preset::Ga4 | Preset::Generic => &[],
    };
    let key: Vec<String> = dedup.iter().filter_map(|c| find(columns, c, &[])).collect();
    if !key.is_empty() && key.len() == dedup.len() {
        mapping.dedup_key = key;
    }
    if preset == Preset::Ga4 && !has(columns, "value") {
        // GA4's nested export: the purchase's revenue, else the event's value in USD, else the
        // `value` parameter as sent (in the event's currency).
        let chain: Vec<String> = GA4_VALUE
            .iter()
            .filter_map(|c| find(columns, c, &[]))
            .collect();
        if let Some((first, rest)) = chain.split_first()
            && mapping.value.as_ref().is_none_or(|v| chain.contains(v))
        {
            mapping.value = Some(first.clone());
            mapping.value_fallback = rest.to_vec();
        }
    }
    (preset, mapping)
}

/// GA4: an analyst who picks `user_id` (the logged-in identity) keeps the events before login, under
/// the device's `user_pseudo_id` (as Segment's `userId` falls back to `anonymousId`).
pub fn logged_in_identity(preset: Preset, mapping: &mut RoleMapping, columns: &[String]) {
    if preset == Preset::Ga4
        && mapping.user_id.as_deref() == Some("user_id")
        && mapping.user_id_fallback.is_none()
    {
        mapping.user_id_fallback = find(columns, "user_pseudo_id", &mapping.columns());
    }
}

/// Two roles given the same column explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleClash {
    pub column: String,
    pub first: Role,
    pub second: Role,
}

/// Merge explicit choices over an automatic mapping. `Some("")` unmaps a role. A column holds one
/// role: an explicit choice takes its column away from whatever role detection gave it to, and two
/// explicit choices of one column are refused (the reader could not build a table with the column
/// twice).
pub fn apply_overrides(
    mapping: &mut RoleMapping,
    overrides: &RoleMapping,
) -> Result<(), RoleClash> {
    let mut chosen: Vec<(Role, &str)> = Vec::new();
    for role in Role::ALL {
        if let Some(col) = overrides.get(role).filter(|c| !c.is_empty()) {
            if let Some((first, _)) = chosen.iter().find(|(_, c)| *c == col) {
                return Err(RoleClash {
                    column: col.to_string(),
                    first: *first,
                    second: role,
                });
            }
            chosen.push((role, col));
        }
    }
    for role in Role::ALL {
        if let Some(col) = overrides.get(role) {
            mapping.set(
                role,
                if col.is_empty() {
                    None
                } else {
                    Some(col.to_string())
                },
            );
            if role == Role::UserId {
                mapping.user_id_fallback = overrides.user_id_fallback.clone();
            }
            if role == Role::Event {
                mapping.event_fallback = overrides.event_fallback.clone();
            }
            if role == Role::Value {
                mapping.value_fallback = overrides.value_fallback.clone();
            }
        }
    }
    for (role, col) in &chosen {
        for other in Role::ALL {
            if other != *role && overrides.get(other).is_none() && mapping.get(other) == Some(*col)
            {
                mapping.set(other, None);
            }
        }
        if *role != Role::UserId && mapping.user_id_fallback.as_deref() == Some(*col) {
            mapping.user_id_fallback = None;
        }
        if *role != Role::Event && mapping.event_fallback.as_deref() == Some(*col) {
            mapping.event_fallback = None;
        }
        if *role != Role::Value {
            mapping.value_fallback.retain(|f| f != col);
        }
        // A column given a role is no longer an attribute or a measure.
        mapping.attributes.retain(|a| a != col);
        mapping.measures.retain(|a| a != col);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ga4_columns_map_to_roles() {
        let c = cols(&[
            "event_date",
            "event_timestamp",
            "event_name",
            "user_pseudo_id",
            "ga_session_id",
            "engagement_time_msec",
            "percent_scrolled",
            "value",
        ]);
        let (preset, m) = auto_map(&c);
        assert_eq!(preset, Preset::Ga4);
        assert_eq!(m.user_id.as_deref(), Some("user_pseudo_id"));
        assert_eq!(m.timestamp.as_deref(), Some("event_timestamp"));
        assert_eq!(m.event.as_deref(), Some("event_name"));
        assert_eq!(m.session.as_deref(), Some("ga_session_id"));
        assert_eq!(m.duration.as_deref(), Some("engagement_time_msec"));
        assert_eq!(m.scroll.as_deref(), Some("percent_scrolled"));
        assert_eq!(m.value.as_deref(), Some("value"));
    }

    #[test]
    fn segment_uses_anonymous_id_behind_user_id() {
        let c = cols(&[
            "anonymousId",
            "userId",
            "event",
            "type",
            "timestamp",
            "properties.revenue",
        ]);
        let (preset, m) = auto_map(&c);
        assert_eq!(preset, Preset::Segment);
        assert_eq!(m.user_id.as_deref(), Some("userId"));
        assert_eq!(m.user_id_fallback.as_deref(), Some("anonymousId"));
        assert_eq!(m.event_fallback.as_deref(), Some("type"));
        assert_eq!(m.value.as_deref(), Some("properties.revenue"));
    }

    #[test]
    fn mixpanel_and_amplitude_are_recognised() {
        let (p, m) = auto_map(&cols(&[
            "event",
            "properties.distinct_id",
            "properties.time",
        ]));
        assert_eq!(p, Preset::Mixpanel);
        assert_eq!(m.user_id.as_deref(), Some("properties.distinct_id"));
        assert_eq!(m.timestamp.as_deref(), Some("properties.time"));
        let (p, m) = auto_map(&cols(&[
            "user_id",
            "event_type",
            "event_time",
            "session_id",
        ]));
        assert_eq!(p, Preset::Amplitude);
        assert_eq!(m.event.as_deref(), Some("event_type"));
        assert_eq!(m.session.as_deref(), Some("session_id"));
    }

    #[test]
    fn overrides_replace_and_unmap() {
        let (_, mut m) = auto_map(&cols(&["user_id", "event", "ts", "value"]));
        let mut o = RoleMapping::default();
        o.set(Role::UserId, Some("customer".into()));
        o.set(Role::Value, Some(String::new()));
        apply_overrides(&mut m, &o).unwrap();
        assert_eq!(m.user_id.as_deref(), Some("customer"));
        assert_eq!(m.value, None);
        assert_eq!(m.timestamp.as_deref(), Some("ts"));
    }
}
