//! What `decide` is given about a user and the current session (the JSON documents of
//! `persona-lab decide`). Times are RFC 3339 text or `YYYY-MM-DD`, parsed to µs since epoch, UTC.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One user's profile: raw feature values (the same units as the profile table), and facts the
/// conditions may test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserProfile {
    /// Used for deterministic variant bucketing (hash it the same way as at training when ids are hashed).
    pub user_id: String,
    /// Raw feature values by feature id. A key that is present with `null` is a missing value (filled
    /// as at training); a feature the rule set needs that is absent is an error.
    #[serde(default)]
    pub features: BTreeMap<String, Option<f64>>,
    /// Predicted scores (e.g. `churn_risk`) computed outside; scores the rule set's models compute
    /// take precedence.
    #[serde(default)]
    pub scores: BTreeMap<String, f64>,
    /// Consent to personalisation; absent means no.
    #[serde(default)]
    pub consent: Option<bool>,
    /// Returning (true) or first-time (false) user; absent: derived from the `sessions` feature (> 1).
    #[serde(default)]
    pub returning: Option<bool>,
    /// Recent events before the current session, for day-window counts.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One event with its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub event: String,
    pub time: String,
}

/// A personalised decision made earlier (for frequency caps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shown {
    pub rule: String,
    pub time: String,
    /// Whether it was in the current session.
    #[serde(default)]
    pub this_session: bool,
}

/// The current session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// The time of the decision; absent: the time `decide` runs.
    #[serde(default)]
    pub now: Option<String>,
    /// Events of this session so far.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Personalised decisions already made for this user (this session and earlier), for caps.
    #[serde(default)]
    pub shown: Vec<Shown>,
}

pub use crate::time::parse_time;
