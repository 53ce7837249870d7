//! `persona-lab sql features`: one query that computes, per user, the profile features of a feature
//! configuration over an events table in the warehouse, with Persona Lab's column names and formulas
//! (`features/accumulate.rs` and `features/aggregate.rs` are the definition; the DuckDB tests hold the
//! two together to 1e-9 relative).
//!
//! What the app discovers in an export, the query is told: the per-name counts need the names (a
//! rule set pins them; else `--event-names`), the sum / mean / max features need the numeric columns
//! (`--measure-cols`; GA4: `event_params.NAME`), the one-hot features need their values
//! (`is:device.category=mobile`, pinned by a rule set or `--one-hot-values`) and the attribute
//! columns they come from. Event kinds are all six, always (the app leaves out a kind the export never
//! has, unless the rule set pins it); a measure no event has comes out as sum 0, mean and max empty
//! (the app leaves such a measure out).

use std::f64::consts::LN_2;

use persona_lab_runtime::features::{COUNT_PREFIX, EventKind, FeatureConfig, ONE_HOT_PREFIX};

use super::dialect::Dialect;
use crate::features::catalogue::count_feature;

/// How the table's time column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// A TIMESTAMP (UTC).
    Timestamp,
    Micros,
    Millis,
    Seconds,
}

impl std::str::FromStr for TimeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeUnit, String> {
        match s {
            "timestamp" => Ok(TimeUnit::Timestamp),
            "us" | "micros" => Ok(TimeUnit::Micros),
            "ms" | "millis" => Ok(TimeUnit::Millis),
            "s" | "seconds" => Ok(TimeUnit::Seconds),
            _ => Err(format!(
                "unknown time unit {s:?}; use timestamp, us, ms or s"
            )),
        }
    }
}

/// The columns of a canonical events table (one row per event).
#[derive(Debug, Clone)]
pub struct EventsTable {
    pub user: String,
    pub ts: String,
    pub ts_unit: TimeUnit,
    pub event: String,
    pub session: Option<String>,
    pub value: Option<String>,
    pub duration: Option<String>,
    /// Durations in milliseconds (else seconds).
    pub duration_ms: bool,
    pub scroll: Option<String>,
    /// Rows count only where this column says consent was granted.
    pub consent: Option<String>,
    /// Numeric columns with sum, mean and max features (`sum:NAME`, as the app names them).
    pub measures: Vec<String>,
    /// Categorical columns: per user the most frequent value (ties: the first by byte order), given
    /// out as a text column of that name, and one-hot features for the pinned values.
    pub attributes: Vec<String>,
}

/// What a query cannot be made for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    #[error(
        "one-hot features need their values named (a rule set pins them; else --one-hot-values \
         is:device.category=mobile,...): a query cannot find the most common values and name \
         columns after them"
    )]
    OneHotUnpinned,
    #[error(
        "{feature} needs the attribute column {attribute}, which the query was not given \
         (--attribute-cols {attribute})"
    )]
    NoAttribute { feature: String, attribute: String },
    #[error("the rule set uses features this query does not compute: {0}")]
    Missing(String),
}

/// The attribute and the value of a one-hot feature id (`is:device.category=mobile`).
pub fn one_hot_parts(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix(ONE_HOT_PREFIX)?.split_once('=')
}

/// The measure column of an optional feature id (`sum:event_params.quantity`).
pub fn measure_of(id: &str) -> Option<&str> {
    ["sum:", "mean:", "max:"]
        .iter()
        .find_map(|p| id.strip_prefix(p))
}

/// The columns a set of feature ids needs beyond the roles: measures and attributes, in first-seen
/// order (a rule set's features, or a profile's).
pub fn needed_columns(features: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut measures, mut attributes) = (Vec::<String>::new(), Vec::<String>::new());
    for f in features {
        if let Some(m) = measure_of(f)
            && !measures.iter().any(|x| x == m)
        {
            measures.push(m.to_string());
        }
        if let Some((a, _)) = one_hot_parts(f)
            && !attributes.iter().any(|x| x == a)
        {
            attributes.push(a.to_string());
        }
    }
    (measures, attributes)
}

/// A feature configuration with what a profile counted pinned by name: its per-name counts and its
/// one-hot values, so the query gives the profile's columns.
pub fn pinned_to(cfg: &FeatureConfig, features: &[String]) -> FeatureConfig {
    let mut cfg = cfg.clone();
    cfg.event_names = Some(crate::features::catalogue::counted_names(features));
    let one_hot: Vec<String> = features
        .iter()
        .filter(|f| one_hot_parts(f).is_some())
        .cloned()
        .collect();
    if cfg.one_hot_attributes {
        cfg.one_hot_values = Some(one_hot);
    }
    cfg
}

const DAY_US: i64 = 86_400_000_000;

impl Dialect {
    fn int_type(self) -> &'static str {
        match self {
            Dialect::DuckDb | Dialect::Spark | Dialect::Snowflake => "BIGINT",
            Dialect::BigQuery => "INT64",
        }
    }

    /// µs since the epoch of a time column.
    fn micros(self, col: &str, unit: TimeUnit) -> String {
        let int = self.int_type();
        match unit {
            TimeUnit::Micros => format!("CAST({col} AS {int})"),
            TimeUnit::Millis => format!("CAST({col} AS {int}) * 1000"),
            TimeUnit::Seconds => format!("CAST({col} AS {int}) * 1000000"),
            TimeUnit::Timestamp => match self {
                Dialect::DuckDb => format!("epoch_us(CAST({col} AS TIMESTAMP))"),
                Dialect::Spark => format!("unix_micros(CAST({col} AS TIMESTAMP))"),
                Dialect::BigQuery => format!("UNIX_MICROS(CAST({col} AS TIMESTAMP))"),
                Dialect::Snowflake => {
                    format!("DATE_PART(epoch_microsecond, CAST({col} AS TIMESTAMP_NTZ))")
                }
            },
        }
    }

    /// The event name normalised as the catalogue does: lower case, runs of anything but letters and
    /// digits as one `_`, no `_` at either end.
    fn normalised(self, col: &str) -> String {
        match self {
            Dialect::DuckDb => {
                format!("trim(regexp_replace(lower({col}), '[^\\p{{L}}\\p{{N}}]+', '_', 'g'), '_')")
            }
            Dialect::Spark => {
                format!(
                    "trim(BOTH '_' FROM regexp_replace(lower({col}), '[^\\\\p{{L}}\\\\p{{N}}]+', '_'))"
                )
            }
            Dialect::BigQuery => {
                format!("TRIM(REGEXP_REPLACE(LOWER({col}), r'[^\\p{{L}}\\p{{N}}]+', '_'), '_')")
            }
            Dialect::Snowflake => {
                format!("TRIM(REGEXP_REPLACE(LOWER({col}), '[^[:alnum:]]+', '_'), '_')")
            }
        }
    }
}

/// An output column with its name quoted (`x AS name`, or a bare column `name`): Snowflake would
/// otherwise upper-case Persona Lab's feature names, which then no longer load as those features.
/// The name is the engine's for it ([`Dialect::column_name`]).
pub(super) fn named(d: Dialect, column: &str) -> String {
    let name = d.ident(&d.column_name(&output_name(column)));
    match column.rsplit_once(" AS ") {
        Some((expr, _)) => format!("{expr} AS {name}"),
        None if column.starts_with(['"', '`']) && d.column_name(column) == column => {
            column.to_string()
        }
        None => format!("{column} AS {name}"),
    }
}

fn list(d: Dialect, items: &[&str]) -> String {
    items
        .iter()
        .map(|s| d.text(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A features query and the columns it gives (`user_id`, then the feature ids and attributes).
#[derive(Debug, Clone)]
pub struct Query {
    pub sql: String,
    pub columns: Vec<String>,
}

impl Query {
    /// Refuses a query that lacks a feature the rule set's clustering or models read.
    pub fn check_covers(&self, rs: &crate::ruleset::RuleSet) -> Result<(), SqlError> {
        let needed = rs
            .features
            .transform
            .features
            .iter()
            .chain(rs.models.iter().flat_map(|m| &m.transform.features))
            .map(|f| f.id.as_str());
        let mut missing: Vec<&str> = needed
            .filter(|f| !self.columns.iter().any(|c| c == f))
            .collect();
        missing.dedup();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(SqlError::Missing(missing.join(", ")))
        }
    }
}

/// The name an output column of the query gets (`x AS "name"`, or a bare column).
fn output_name(column: &str) -> String {
    let name = column.rsplit_once(" AS ").map_or(column, |(_, n)| n);
    match name.chars().next() {
        Some(q @ ('"' | '`')) => {
            let inner = &name[1..name.len() - 1];
            inner.replace(&format!("{q}{q}"), &q.to_string())
        }
        _ => name.to_string(),
    }
}

/// The query over `table` (used as written).
pub fn query(
    cfg: &FeatureConfig,
    t: &EventsTable,
    d: Dialect,
    table: &str,
) -> Result<Query, SqlError> {
    // The one-hot features: (attribute index, value, feature id).
    let mut one_hot = Vec::new();
    if cfg.one_hot_attributes {
        let Some(ids) = &cfg.one_hot_values else {
            return Err(SqlError::OneHotUnpinned);
        };
        for id in ids {
            let Some((attr, value)) = one_hot_parts(id) else {
                continue;
            };
            let Some(i) = t.attributes.iter().position(|a| a == attr) else {
                return Err(SqlError::NoAttribute {
                    feature: id.clone(),
                    attribute: attr.to_string(),
                });
            };
            one_hot.push((i, value, id));
        }
    }
    let dbl = d.double_type();
    let txt = d.text_type();
    let q = |c: &str| d.ident(c);
    let mut e = vec![
        format!("CAST({} AS {txt}) AS u", q(&t.user)),
        format!("{} AS t", d.micros(&q(&t.ts), t.ts_unit)),
        format!("CAST({} AS {txt}) AS ev", q(&t.event)),
        format!(
            "{} AS evn",
            d.normalised(&format!("CAST({} AS {txt})", q(&t.event)))
        ),
    ];
    if let Some(s) = &t.session {
        e.push(format!("CAST({} AS {txt}) AS s", q(s)));
    }
    if let Some(v) = &t.value {
        e.push(format!("CAST({} AS {dbl}) AS val", q(v)));
    }
    if let Some(v) = &t.duration {
        let div = if t.duration_ms { 1000.0 } else { 1.0 };
        e.push(format!("CAST({} AS {dbl}) / {} AS dur", q(v), d.num(div)));
    }
    if let Some(v) = &t.scroll {
        e.push(format!("CAST({} AS {dbl}) AS scr", q(v)));
    }
    for (i, m) in t.measures.iter().enumerate() {
        e.push(format!("CAST({} AS {dbl}) AS m{i}", q(&d.column_name(m))));
    }
    for (i, a) in t.attributes.iter().enumerate() {
        // The app's null tokens are no value.
        let v = format!("CAST({} AS {txt})", q(&d.column_name(a)));
        e.push(format!(
            "CASE WHEN TRIM({v}) IN ({}) THEN NULL ELSE {v} END AS a{i}",
            list(d, &["", "NULL", "null", "\\N"])
        ));
    }
    let mut filter = vec![
        format!("{} IS NOT NULL", q(&t.user)),
        format!("{} IS NOT NULL", q(&t.ts)),
        format!("{} IS NOT NULL", q(&t.event)),
    ];
    if let Some(c) = &t.consent {
        filter.push(format!(
            "lower(trim(CAST({} AS {txt}))) IN ({})",
            q(c),
            list(d, &crate::data::privacy::CONSENT_GRANTED)
        ));
    }
    let reference = match cfg.as_of {
        Some(a) => format!("CAST({a} AS {})", d.int_type()),
        None => "MAX(t)".into(),
    };
    let as_of = cfg
        .as_of
        .map(|a| format!(" WHERE t <= {a}"))
        .unwrap_or_default();
    let kind_test = |k: EventKind| format!("evn IN ({})", list(d, k.synonyms()));
    let purchase = kind_test(EventKind::Purchase);
    // Revenue counts purchase events when the export has any (or the configuration pins the kind),
    // else every event's value.
    let purchase_only = if cfg
        .event_kinds
        .as_ref()
        .is_some_and(|k| k.contains(&EventKind::Purchase))
    {
        "TRUE".to_string()
    } else {
        // A scalar count: Spark takes EXISTS only in a filter.
        format!("(SELECT COUNT(*) FROM f WHERE {purchase}) > 0")
    };
    let mut agg = vec![
        "u".to_string(),
        format!("CAST(COUNT(*) AS {dbl}) AS events"),
        // Distinct UTC days as integers (BigQuery groups no FLOAT64 well, and no engine needs to).
        format!(
            "CAST(COUNT(DISTINCT CAST(FLOOR(CAST(t AS {dbl}) / {}) AS {})) AS {dbl}) AS active_days",
            d.num(DAY_US as f64),
            d.int_type()
        ),
        "MIN(t) AS first_t".into(),
        "MAX(t) AS last_t".into(),
        format!(
            "SUM(EXP((CAST(r.ref AS {dbl}) - CAST(t AS {dbl})) / {} * {})) AS decayed_events",
            d.num(DAY_US as f64),
            d.num(-LN_2 / cfg.half_life_days)
        ),
    ];
    let sessions_raw = match &t.session {
        Some(_) => format!("CAST(COUNT(DISTINCT s) AS {dbl})"),
        None => format!("CAST(1 + SUM(CASE WHEN gap THEN 1 ELSE 0 END) AS {dbl})"),
    };
    agg.push(format!("{sessions_raw} AS sessions_raw"));
    if t.duration.is_some() {
        agg.push(format!("COALESCE(SUM(dur), {}) AS time_total", d.num(0.0)));
    }
    if t.scroll.is_some() {
        agg.push(format!(
            "CASE WHEN COUNT(scr) > 0 THEN SUM(scr) / CAST(COUNT(scr) AS {dbl}) END AS scroll_mean"
        ));
        agg.push("MAX(scr) AS scroll_max".into());
    }
    for k in EventKind::ALL {
        let name = count_feature(k);
        agg.push(format!(
            "CAST(SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS {dbl}) AS {name}",
            kind_test(k)
        ));
    }
    if t.value.is_some() {
        agg.push(format!(
            "COALESCE(SUM(CASE WHEN NOT p.purchase_only OR {purchase} THEN val END), {}) AS revenue",
            d.num(0.0)
        ));
    }
    for i in 0..t.measures.len() {
        agg.push(format!("SUM(m{i}) AS msum{i}"));
        agg.push(format!("COUNT(m{i}) AS mcnt{i}"));
        agg.push(format!("MAX(m{i}) AS mmax{i}"));
    }
    let names: Vec<&String> = cfg.event_names.iter().flatten().collect();
    for (i, n) in names.iter().enumerate() {
        agg.push(format!(
            "CAST(SUM(CASE WHEN ev = {} THEN 1 ELSE 0 END) AS {dbl}) AS n{i}",
            d.text(n)
        ));
    }

    // The derived features, as aggregate.rs derives them.
    let per = |c: &str| format!("{c} / sessions AS {c}_per_session");
    let day = d.num(DAY_US as f64);
    let mut out = vec![
        "u AS user_id".to_string(),
        "events".into(),
        "sessions".into(),
        "active_days".into(),
        per("events"),
    ];
    if t.duration.is_some() {
        out.push("time_total".into());
        out.push("time_total / sessions AS time_per_session".into());
    }
    if t.scroll.is_some() {
        out.push("scroll_mean".into());
        out.push("scroll_max".into());
    }
    out.push(format!(
        "(CAST(ref AS {dbl}) - CAST(last_t AS {dbl})) / {day} AS recency_days"
    ));
    out.push(format!(
        "(CAST(ref AS {dbl}) - CAST(first_t AS {dbl})) / {day} AS tenure_days"
    ));
    out.push(format!(
        "sessions / GREATEST((CAST(ref AS {dbl}) - CAST(first_t AS {dbl})) / {day} / {}, {}) AS frequency",
        d.num(7.0),
        d.num(1.0)
    ));
    for k in EventKind::ALL {
        let name = count_feature(k);
        out.push(name.into());
        if k != EventKind::Purchase {
            out.push(per(name));
        }
    }
    out.push(
        "CASE WHEN product_views > 0 THEN cart_adds / product_views END AS add_to_cart_rate".into(),
    );
    out.push("purchases / sessions AS conversion_rate".into());
    if t.value.is_some() {
        out.push("revenue".into());
        out.push("CASE WHEN purchases > 0 THEN revenue / purchases END AS avg_order_value".into());
    }
    out.push("decayed_events".into());
    for (i, n) in names.iter().enumerate() {
        out.push(format!("n{i} AS {}", q(&format!("{COUNT_PREFIX}{n}"))));
    }
    if !names.is_empty() {
        let top: Vec<String> = (0..names.len()).map(|i| format!("n{i}")).collect();
        out.push(format!(
            "events - ({}) AS {}",
            top.join(" + "),
            q(&format!("{COUNT_PREFIX}other"))
        ));
    }

    // The measures' features as aggregate.rs makes them: sum 0 without values, mean and max empty.
    for (i, m) in t.measures.iter().enumerate() {
        out.push(format!(
            "COALESCE(msum{i}, {}) AS {}",
            d.num(0.0),
            q(&format!("sum:{m}"))
        ));
        out.push(format!(
            "CASE WHEN mcnt{i} > 0 THEN msum{i} / CAST(mcnt{i} AS {dbl}) END AS {}",
            q(&format!("mean:{m}"))
        ));
        out.push(format!("mmax{i} AS {}", q(&format!("max:{m}"))));
    }
    // Each attribute's value per user (text), then the one-hot features of the pinned values.
    for (i, a) in t.attributes.iter().enumerate() {
        out.push(format!("v{i} AS {}", q(a)));
    }
    for (i, value, id) in &one_hot {
        out.push(format!(
            "CASE WHEN v{i} = {} THEN {} ELSE {} END AS {}",
            d.text(value),
            d.num(1.0),
            d.num(0.0),
            q(id)
        ));
    }

    let columns: Vec<String> = out.iter().map(|c| output_name(c)).collect();
    let out: Vec<String> = out.iter().map(|c| named(d, c)).collect();

    // Per attribute, each user's most frequent value: most events, then the first value.
    let mut mode_ctes = String::new();
    let mut joins = String::new();
    for i in 0..t.attributes.len() {
        mode_ctes.push_str(&format!(
            "c{i} AS (\n  SELECT u AS mu{i}, a{i} AS v{i}, COUNT(*) AS n{i}\n  FROM f WHERE a{i} IS NOT NULL\n  GROUP BY u, a{i}\n),\n\
             r{i} AS (\n  SELECT mu{i}, v{i}, ROW_NUMBER() OVER (PARTITION BY mu{i} ORDER BY n{i} DESC, v{i}) AS k{i}\n  FROM c{i}\n),\n"
        ));
        joins.push_str(&format!(
            "\nLEFT JOIN (SELECT mu{i}, v{i} FROM r{i} WHERE k{i} = 1) AS o{i} ON o{i}.mu{i} = b.u"
        ));
    }

    let gap_cte = if t.session.is_none() {
        let gap_us = (cfg.session_gap_minutes * 60.0 * 1e6).round() as i64;
        format!(
            "g AS (\n  SELECT f.*, t - LAG(t) OVER (PARTITION BY u ORDER BY t) > {gap_us} AS gap\n  FROM f\n),\n"
        )
    } else {
        String::new()
    };
    let from = if t.session.is_none() { "g" } else { "f" };
    let sql = format!(
        "-- persona-lab sql features ({d}): one row per user with Persona Lab's profile features.\n\
         -- Half-life {} days, reference {}, sessions {}.\n\
         WITH e AS (\n  SELECT\n    {}\n  FROM {table}\n  WHERE {}\n),\n\
         r AS (SELECT {reference} AS ref FROM e),\n\
         f AS (SELECT * FROM e{as_of}),\n\
         p AS (SELECT {purchase_only} AS purchase_only),\n\
         {gap_cte}\
         a AS (\n  SELECT\n    {}\n  FROM {from} CROSS JOIN r CROSS JOIN p\n  GROUP BY u\n),\n\
         {mode_ctes}\
         b AS (\n  SELECT a.*, r.ref, CASE WHEN sessions_raw < 1 THEN {} ELSE sessions_raw END AS sessions\n  FROM a CROSS JOIN r\n)\n\
         SELECT\n  {}\nFROM b{joins}\n",
        cfg.half_life_days,
        match cfg.as_of {
            Some(a) => format!("{a} µs"),
            None => "the last event".into(),
        },
        match &t.session {
            Some(s) => format!("from the column {s}"),
            None => format!(
                "split after {} minutes without events",
                cfg.session_gap_minutes
            ),
        },
        e.join(",\n    "),
        filter.join(" AND "),
        agg.join(",\n    "),
        d.num(1.0),
        out.join(",\n  ")
    );
    Ok(Query { sql, columns })
}

/// The events table of a loaded export, as the query names its columns: the roles the app mapped.
/// The notes say what the query does differently from the app for this export (fallback columns it
/// does not use).
pub fn table_of(loaded: &crate::data::Loaded) -> Result<(EventsTable, Vec<String>), String> {
    use crate::data::{DurationUnit, Shape, TimeEncoding};
    if loaded.shape != Shape::Events {
        return Err("the export is a per-user table already: it is the profile".into());
    }
    let m = &loaded.mapping;
    let need = |c: &Option<String>, role: &str| {
        c.clone()
            .ok_or_else(|| format!("no column is mapped to the {role}"))
    };
    let ts_unit = match &loaded.time_encoding {
        Some(TimeEncoding::EpochMicros) => TimeUnit::Micros,
        Some(TimeEncoding::EpochMillis) => TimeUnit::Millis,
        Some(TimeEncoding::EpochSeconds) => TimeUnit::Seconds,
        Some(TimeEncoding::Iso8601Zoned) | Some(TimeEncoding::Format(_)) => TimeUnit::Timestamp,
        Some(other) => {
            return Err(format!(
                "the timestamp is {other}: convert it to a TIMESTAMP column in the warehouse first"
            ));
        }
        None => TimeUnit::Timestamp,
    };
    let mut notes = Vec::new();
    if let Some(f) = &m.user_id_fallback {
        notes.push(format!(
            "the user id fallback {f} is not used: rows without a user id are left out"
        ));
    }
    if let Some(f) = &m.event_fallback {
        notes.push(format!("the event name fallback {f} is not used"));
    }
    if !m.value_fallback.is_empty() {
        notes.push(format!(
            "the value fallbacks ({}) are not used",
            m.value_fallback.join(", ")
        ));
    }
    if !m.dedup_key.is_empty() {
        notes.push(
            "the vendor's duplicate events are not removed: deduplicate the table first".into(),
        );
    }
    Ok((
        EventsTable {
            user: need(&m.user_id, "user id")?,
            ts: need(&m.timestamp, "timestamp")?,
            ts_unit,
            event: need(&m.event, "event name")?,
            session: m.session.clone(),
            value: m.value.clone(),
            duration: m.duration.clone(),
            duration_ms: loaded.duration_unit == Some(DurationUnit::Milliseconds),
            scroll: m.scroll.clone(),
            consent: m.consent.clone(),
            measures: m.measures.clone(),
            attributes: m.attributes.clone(),
        },
        notes,
    ))
}

/// A note for a GA4 table name that reads every table of the dataset: `events_*` also matches the
/// `events_intraday_` and `events_fresh_` tables, so a day GA4 keeps in two tables (the intraday one
/// lives on until the daily one is complete) counts twice, as the file loader avoids
/// (`data::ga4_tables`). `events_2*` matches only the daily tables.
pub fn ga4_wildcard_note(table: &str) -> Option<String> {
    let at = table.find("events_*")?;
    let daily = format!(
        "{}events_2*{}",
        &table[..at],
        &table[at + "events_*".len()..]
    );
    Some(format!(
        "{table} also matches GA4's events_intraday_ and events_fresh_ tables: a day held in two of \
         them (the intraday table lives on until the daily one is complete) counts twice. For the \
         complete daily tables only: --table '{daily}'"
    ))
}

/// GA4's BigQuery export schema as the query's events table: one row per event, the event
/// parameters taken out of `event_params` by key (`UNNEST` in BigQuery and DuckDB, `filter` in Spark,
/// `FILTER` on the VARIANT array in Snowflake), the value as the app takes it (the purchase revenue,
/// else `event_value_in_usd`, else the `value` parameter), consent from `privacy_info`. Returns the
/// relation to read from (a subquery) and its columns. `measures` and `attributes` are named as the
/// app names them: `event_params.quantity` (a numeric parameter), `device.category` (a field of a
/// record), `platform` (a column).
pub fn ga4_source(
    d: Dialect,
    table: &str,
    measures: &[String],
    attributes: &[String],
) -> (String, EventsTable) {
    let dbl = d.double_type();
    let txt = d.text_type();
    // One parameter as a number or as text, whichever of its typed values is set.
    let param = |key: &str, text: bool| -> String {
        let k = d.text(key);
        let pick = |v: &str| {
            if text {
                format!("COALESCE({v}.string_value, CAST({v}.int_value AS {txt}))")
            } else {
                format!(
                    "COALESCE(CAST({v}.int_value AS {dbl}), CAST({v}.float_value AS {dbl}), CAST({v}.double_value AS {dbl}))"
                )
            }
        };
        match d {
            Dialect::DuckDb => format!(
                "(SELECT {} FROM UNNEST(event_params) AS _p(p) WHERE p.key = {k} LIMIT 1)",
                pick("p.value")
            ),
            Dialect::BigQuery => format!(
                "(SELECT {} FROM UNNEST(event_params) AS p WHERE p.key = {k} LIMIT 1)",
                pick("p.value")
            ),
            Dialect::Spark => pick(&format!(
                "try_element_at(filter(event_params, p -> p.key = {k}), 1).value"
            )),
            Dialect::Snowflake => {
                let e = format!("FILTER(event_params, p -> p:key::STRING = {k})[0]:value");
                if text {
                    format!("COALESCE({e}:string_value::STRING, {e}:int_value::STRING)")
                } else {
                    format!(
                        "COALESCE({e}:int_value::FLOAT, {e}:float_value::FLOAT, {e}:double_value::FLOAT)"
                    )
                }
            }
        }
    };
    let field = |s: &str, f: &str, ty: &str| match d {
        Dialect::Snowflake => format!("{s}:{f}::{ty}"),
        _ => format!("CAST({s}.{f} AS {ty})"),
    };
    // A column or a field of a record, as text.
    let path = |p: &str| -> String {
        match p.split_once('.') {
            Some((record, field)) => match d {
                Dialect::Snowflake => format!("{record}:{}::STRING", field.replace('.', ":")),
                _ => format!("CAST({p} AS {txt})"),
            },
            None => format!("CAST({p} AS {txt})"),
        }
    };
    let mut select = vec![
        format!("CAST(user_pseudo_id AS {txt}) AS user_id"),
        "event_timestamp AS ts".to_string(),
        "event_name AS event".to_string(),
        format!("{} AS session", param("ga_session_id", true)),
        format!(
            "COALESCE({}, CAST(event_value_in_usd AS {dbl}), {}) AS value",
            field("ecommerce", "purchase_revenue", dbl),
            param("value", false)
        ),
        format!(
            "{} AS engagement_time_msec",
            param("engagement_time_msec", false)
        ),
        format!("{} AS percent_scrolled", param("percent_scrolled", false)),
        format!(
            "{} AS consent",
            field("privacy_info", "analytics_storage", txt)
        ),
    ];
    // GA4's field names hold no `__`: a name from a BigQuery-made profile reads as the path.
    let field_path = |name: &str| name.replace("__", ".");
    for m in measures {
        let value = match field_path(m).strip_prefix("event_params.") {
            Some(key) => param(key, false),
            None => format!("CAST({} AS {dbl})", path(&field_path(m))),
        };
        select.push(format!("{value} AS {}", d.ident(&d.column_name(m))));
    }
    for a in attributes {
        let value = match field_path(a).strip_prefix("event_params.") {
            Some(key) => param(key, true),
            None => path(&field_path(a)),
        };
        select.push(format!("{value} AS {}", d.ident(&d.column_name(a))));
    }
    let select: Vec<String> = select.iter().map(|c| named(d, c)).collect();
    (
        format!(
            "(\n    SELECT\n      {}\n    FROM {table}\n  ) AS ga4",
            select.join(",\n      ")
        ),
        EventsTable {
            user: "user_id".into(),
            ts: "ts".into(),
            ts_unit: TimeUnit::Micros,
            event: "event".into(),
            session: Some("session".into()),
            value: Some("value".into()),
            duration: Some("engagement_time_msec".into()),
            duration_ms: true,
            scroll: Some("percent_scrolled".into()),
            consent: Some("consent".into()),
            measures: measures.to_vec(),
            attributes: attributes.to_vec(),
        },
    )
}

/// Whether a loaded export is GA4's nested schema (its roles come out of `event_params`), which the
/// warehouse holds nested too: its query reads it with [`ga4_source`].
pub fn is_ga4_nested(loaded: &crate::data::Loaded) -> bool {
    let m = &loaded.mapping;
    [&m.session, &m.duration, &m.scroll]
        .iter()
        .any(|c| c.as_deref().is_some_and(|c| c.starts_with("event_params.")))
}
