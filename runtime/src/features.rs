//! The feature specification a rule set carries: event kinds and their names, the aggregation
//! settings, and the fitted transform from raw profile values to the clustering vector.

use serde::{Deserialize, Serialize};

/// Prefix of the per-event-name counts: `count:add_to_cart`.
pub const COUNT_PREFIX: &str = "count:";
/// Prefix of the one-hot attribute features: `is:device.category=mobile`.
pub const ONE_HOT_PREFIX: &str = "is:";

/// What kind of quantity a feature is; it decides the default transform and missing-value policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeatureKind {
    /// A count of events or sessions (heavy-tailed; log1p by default; missing = 0).
    Count,
    /// Money (heavy-tailed; log1p by default; missing = 0).
    Money,
    /// A count per session (no log by default: rates are far less skewed than the counts they come
    /// from, and logging them blurs the planted groups of the sample; missing = 0).
    PerSession,
    /// Seconds (log1p by default; missing = 0).
    Seconds,
    /// A share between 0 and 1 (no log; missing = median).
    Ratio,
    /// A percentage 0..100 (no log; missing = median).
    Percent,
    /// Days (no log; missing = median).
    Days,
    /// A column of a per-user table whose meaning we do not know (log1p when non-negative and
    /// strongly right-skewed; missing = median).
    Other,
}

impl FeatureKind {
    pub fn default_log1p(self) -> bool {
        matches!(
            self,
            FeatureKind::Count | FeatureKind::Money | FeatureKind::Seconds
        )
    }

    pub fn default_missing(self) -> MissingPolicy {
        match self {
            FeatureKind::Count
            | FeatureKind::Money
            | FeatureKind::PerSession
            | FeatureKind::Seconds => MissingPolicy::Zero,
            _ => MissingPolicy::Median,
        }
    }
}

/// How a missing value is filled before transforming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MissingPolicy {
    Zero,
    /// The median of the observed values (computed on the data the transform is fitted on).
    Median,
}

/// Semantic event kinds, recognised from event names across GA4, Segment, Mixpanel and Amplitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    PageView,
    ProductView,
    AddToCart,
    Purchase,
    Search,
    VideoPlay,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::PageView,
        EventKind::ProductView,
        EventKind::AddToCart,
        EventKind::Purchase,
        EventKind::Search,
        EventKind::VideoPlay,
    ];

    pub fn label(self) -> &'static str {
        match self {
            EventKind::PageView => "page view",
            EventKind::ProductView => "product view",
            EventKind::AddToCart => "add to cart",
            EventKind::Purchase => "purchase",
            EventKind::Search => "search",
            EventKind::VideoPlay => "video play",
        }
    }

    /// Event names of this kind, normalised (lowercase, non-alphanumerics as `_`).
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            EventKind::PageView => &[
                "page_view",
                "pageview",
                "page_viewed",
                "page",
                "screen_view",
                "screen",
                "viewed_page",
                "loaded_a_page",
                "view_page",
                "mp_page_view",
                "mp_web_page_view",
                "amplitude_page_viewed",
            ],
            EventKind::ProductView => &[
                "view_item",
                "product_viewed",
                "view_product",
                "product_view",
                "viewed_product",
                "product_detail_view",
                "item_viewed",
                "view_item_details",
            ],
            EventKind::AddToCart => &[
                "add_to_cart",
                "product_added",
                "added_to_cart",
                "addtocart",
                "add_cart",
                "cart_add",
                "add_to_bag",
                "added_to_bag",
            ],
            EventKind::Purchase => &[
                "purchase",
                "order_completed",
                "checkout_completed",
                "completed_order",
                "transaction",
                "order_placed",
                "purchase_completed",
                "completed_purchase",
            ],
            EventKind::Search => &[
                "search",
                "view_search_results",
                "products_searched",
                "search_performed",
                "searched",
                "site_search",
                "product_search",
            ],
            EventKind::VideoPlay => &[
                "video_start",
                "video_play",
                "video_playback_started",
                "play_video",
                "video_started",
                "video_played",
            ],
        }
    }

    /// The kind of a raw event name, if any.
    pub fn classify(name: &str) -> Option<EventKind> {
        let n = normalise(name);
        EventKind::ALL
            .into_iter()
            .find(|k| k.synonyms().contains(&n.as_str()))
    }
}

/// Lowercase, every run of non-alphanumerics as one `_`, trimmed.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_us = true;
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Settings of the aggregation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// Per-event-name counts for the N most frequent event names (the rest as `count:other`).
    pub top_events: usize,
    /// Half-life of the time-decayed event count, in days.
    pub half_life_days: f64,
    /// Inactivity gap that starts a new session when the export has no session column, in minutes.
    pub session_gap_minutes: f64,
    /// Reference time (microseconds, UTC) for recency and decay; events after it are ignored.
    /// None: the last event of the export.
    pub as_of: Option<i64>,
    /// Per-name counts for exactly these event names instead of the top N (a deployed rule set pins the
    /// names it was trained on, so a new export yields the same columns).
    #[serde(default)]
    pub event_names: Option<Vec<String>>,
    /// Compute the counts of these event kinds even when no event of the kind occurs (as 0).
    #[serde(default)]
    pub event_kinds: Option<Vec<EventKind>>,
    /// One 0/1 feature per common value of each categorical attribute (`is:device.category=mobile`:
    /// the user's most frequent value is mobile), offered and chosen for clustering. Off: the
    /// attributes only describe the personas. Left out of files when off, so they read as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_hot_attributes: bool,
    /// Exactly these one-hot features (`is:device.category=mobile`) instead of each attribute's most
    /// common values: a deployed rule set pins the ones it was trained on, as it pins event names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_hot_values: Option<Vec<String>>,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            top_events: 10,
            half_life_days: 14.0,
            session_gap_minutes: 30.0,
            as_of: None,
            event_names: None,
            event_kinds: None,
            one_hot_attributes: false,
            one_hot_values: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scaler {
    /// z-score: (t - mean) / population standard deviation (scikit-learn's StandardScaler).
    Standard,
    /// (t - median) / interquartile range (scikit-learn's RobustScaler; IQR 0 falls back to 1).
    Robust,
    /// (t - min) / (max - min), into 0..1 (scikit-learn's MinMaxScaler).
    MinMax,
    /// No scaling.
    None,
}

impl std::str::FromStr for Scaler {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "standard" | "zscore" | "z-score" => Ok(Scaler::Standard),
            "robust" => Ok(Scaler::Robust),
            "minmax" | "min-max" => Ok(Scaler::MinMax),
            "none" => Ok(Scaler::None),
            _ => Err(format!(
                "unknown scaler {s:?}: use standard, robust, minmax or none"
            )),
        }
    }
}

/// The fitted parameters of one feature: everything needed to transform a new user's raw value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FittedFeature {
    pub id: String,
    pub kind: FeatureKind,
    pub missing: MissingPolicy,
    pub fill: f64,
    pub log1p: bool,
    pub center: f64,
    pub scale: f64,
    pub weight: f64,
}

impl FittedFeature {
    /// Scaled, unweighted value `z` of a raw value.
    pub fn scaled(&self, raw: Option<f64>) -> f64 {
        let x = raw.filter(|v| v.is_finite()).unwrap_or(self.fill);
        let t = if self.log1p { x.max(0.0).ln_1p() } else { x };
        (t - self.center) / self.scale
    }

    /// The clustering column value `w * z`.
    pub fn weighted(&self, raw: Option<f64>) -> f64 {
        self.weight * self.scaled(raw)
    }

    /// The raw value whose clustering value is `weighted` (the inverse of [`FittedFeature::weighted`]),
    /// e.g. a centroid back in raw units.
    pub fn raw_of(&self, weighted: f64) -> f64 {
        let t = weighted / self.weight * self.scale + self.center;
        if self.log1p { t.exp_m1() } else { t }
    }
}

/// A fitted transform: the features kept, with their parameters, and what was left out and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FittedTransform {
    pub scaler: Scaler,
    pub features: Vec<FittedFeature>,
    /// Features left out, with the reason (zero variance, no values, weight 0).
    pub excluded: Vec<(String, String)>,
    /// Missing values filled per feature: (feature, count, policy, fill value).
    pub filled: Vec<(String, usize, MissingPolicy, f64)>,
    /// Other notes for the analyst (log1p switched off, IQR fallback).
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What docs/ruleset-format.md says about the encodings, checked.
    #[test]
    fn encodings_are_as_documented() {
        let t = FittedTransform {
            scaler: Scaler::None,
            features: vec![],
            excluded: vec![],
            filled: vec![],
            notes: vec![],
        };
        let ron_text = ron::ser::to_string(&t).unwrap();
        assert!(ron_text.contains("scaler:r#None"), "{ron_text}");
        for text in ["scaler: None", "scaler: r#None"] {
            let back: FittedTransform = ron::from_str(&format!(
                "(features: [], excluded: [], filled: [], notes: [], {text})"
            ))
            .unwrap();
            assert_eq!(back.scaler, Scaler::None);
        }
        let numbers = serde_json::to_string(&[2.0, 0.1, 1e16, 1.5e-7, -0.0]).unwrap();
        assert_eq!(numbers, "[2.0,0.1,1e+16,1.5e-7,-0.0]");
        let edges = serde_json::to_string(&[
            1e15,
            9999999999999998.0,
            123456789012345680.0,
            1e-5,
            1e-6,
            1.5e-6,
            0.0001,
            1e-7,
            5e-324,
            1.7976931348623157e308,
            12.5,
            100.0,
        ])
        .unwrap();
        assert_eq!(
            edges,
            "[1000000000000000.0,9999999999999998.0,1.2345678901234568e+17,0.00001,1e-6,1.5e-6,\
             0.0001,1e-7,5e-324,1.7976931348623157e+308,12.5,100.0]"
        );
    }
}
