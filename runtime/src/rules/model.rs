//! The rule model: if-then content rules as they are stored in the rule set file.
//!
//! A rule says: when this condition holds for a user, show this content module in this slot (one of its
//! variants, or nothing for the holdout share). Rules are ordered by `priority` (1 first); per slot the
//! first eligible rule wins. Every type here is plain data with a stable RON form; evaluation lives in
//! `eval`, checks in `validate`, human-readable text in `describe`.

use serde::{Deserialize, Serialize};

use crate::features::EventKind;

/// Comparison of a number with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Cmp {
    Gt(f64),
    Ge(f64),
    Lt(f64),
    Le(f64),
    Eq(f64),
    /// Inclusive on both ends.
    Between(f64, f64),
}

impl Cmp {
    pub fn holds(self, x: f64) -> bool {
        match self {
            Cmp::Gt(t) => x > t,
            Cmp::Ge(t) => x >= t,
            Cmp::Lt(t) => x < t,
            Cmp::Le(t) => x <= t,
            Cmp::Eq(t) => x == t,
            Cmp::Between(a, b) => x >= a && x <= b,
        }
    }

    /// The thresholds, for checks (finite numbers only).
    pub fn thresholds(self) -> Vec<f64> {
        match self {
            Cmp::Gt(t) | Cmp::Ge(t) | Cmp::Lt(t) | Cmp::Le(t) | Cmp::Eq(t) => vec![t],
            Cmp::Between(a, b) => vec![a, b],
        }
    }
}

/// Which events a windowed count counts: one event name, or every name of a recognised kind (the same
/// synonyms the feature catalogue uses, e.g. `view_item` and `Product Viewed` are both product views).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventMatch {
    Name(String),
    Kind(EventKind),
}

impl EventMatch {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            EventMatch::Name(n) => n == name,
            EventMatch::Kind(k) => EventKind::classify(name) == Some(*k),
        }
    }
}

/// The time window of an event count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Window {
    /// The events of the current session.
    Session,
    /// The last N days up to the session's `now`, the current session included.
    Days(u32),
}

/// A condition on a user. Leaves test one fact; `All`, `Any` and `Not` nest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// Always true (a rule for everyone, e.g. a default banner).
    Always,
    /// The user's persona is one of these persona ids.
    PersonaIn(Vec<String>),
    /// The user's persona is none of these persona ids.
    PersonaNotIn(Vec<String>),
    /// A profile feature (raw units, as in the profile table) compared with a threshold.
    Feature(String, Cmp),
    /// Events matching `event` within `window`, compared with a threshold.
    EventCount(EventMatch, Window, Cmp),
    /// A predicted score (e.g. `churn_risk`, `conversion_score`) compared with a threshold.
    Score(String, Cmp),
    /// true: a returning user; false: a first-time user.
    Returning(bool),
    /// true: the user consented to personalisation; false: the user did not (or said nothing).
    Consent(bool),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Every feature the condition reads.
    pub fn features(&self, out: &mut Vec<String>) {
        match self {
            Condition::Feature(f, _) if !out.contains(f) => out.push(f.clone()),
            Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| c.features(out)),
            Condition::Not(c) => c.features(out),
            _ => {}
        }
    }

    /// Rename the personas the condition names (all at once, so renames never chain); a list that
    /// ends up naming a persona twice keeps it once.
    pub fn rename_personas(&mut self, rename: &dyn Fn(&str) -> Option<String>) {
        match self {
            Condition::PersonaIn(ids) | Condition::PersonaNotIn(ids) => {
                let mut out: Vec<String> = Vec::with_capacity(ids.len());
                for id in ids.iter() {
                    let new = rename(id).unwrap_or_else(|| id.clone());
                    if !out.contains(&new) {
                        out.push(new);
                    }
                }
                *ids = out;
            }
            Condition::All(cs) | Condition::Any(cs) => {
                cs.iter_mut().for_each(|c| c.rename_personas(rename))
            }
            Condition::Not(c) => c.rename_personas(rename),
            _ => {}
        }
    }

    /// Every score the condition reads.
    pub fn scores(&self, out: &mut Vec<String>) {
        match self {
            Condition::Score(s, _) if !out.contains(s) => out.push(s.clone()),
            Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| c.scores(out)),
            Condition::Not(c) => c.scores(out),
            _ => {}
        }
    }
}

/// One arm of an A/B test: a share of the treated users sees this module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub id: String,
    /// The module this variant shows; None: the action's module.
    #[serde(default)]
    pub module: Option<String>,
    /// Share of the treated users, in percent; the weights of a rule sum to 100.
    pub weight: u32,
}

/// What a rule shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Content module id, e.g. "recommendation_carousel".
    pub module: String,
    /// Where it goes, e.g. "home_hero"; one decision per slot.
    pub slot: String,
    /// Empty: everyone treated sees `module`.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Percent of matching users kept as a control group: they are recorded but see the default
    /// content, so the rule's lift can be measured.
    #[serde(default)]
    pub holdout_percent: f64,
}

/// How often one rule may fire for a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    #[serde(default)]
    pub per_session: Option<u32>,
    #[serde(default)]
    pub per_day: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id: used for bucketing, caps and reporting; never reuse one for a different rule.
    pub id: String,
    pub name: String,
    /// 1 is evaluated first. Equal priorities on one slot are an ambiguity the validation reports.
    pub priority: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub when: Condition,
    pub action: Action,
    #[serde(default)]
    pub caps: Caps,
    /// First day (inclusive), `YYYY-MM-DD` or RFC 3339, UTC.
    #[serde(default)]
    pub start: Option<String>,
    /// Last moment (exclusive), `YYYY-MM-DD` or RFC 3339, UTC.
    #[serde(default)]
    pub end: Option<String>,
    /// The "Why am I seeing this?" text; `{persona}`, `{condition}`, `{rule}`, `{variant}` and
    /// `{module}` are replaced.
    pub explanation: String,
}

fn yes() -> bool {
    true
}

impl Rule {
    /// A new rule for everyone, to be edited.
    pub fn new(id: impl Into<String>, priority: u32) -> Rule {
        let id = id.into();
        Rule {
            name: id.clone(),
            id,
            priority,
            enabled: true,
            when: Condition::Always,
            action: Action {
                module: "module".into(),
                slot: "slot".into(),
                variants: vec![],
                holdout_percent: 0.0,
            },
            caps: Caps::default(),
            start: None,
            end: None,
            explanation: "Recommended for {persona} because {condition}.".into(),
        }
    }
}

/// Move the rule at `from` to position `to` and renumber priorities by position (1 first), as the
/// editor's list shows them. Out-of-range positions leave the list as it is.
pub fn move_rule(rules: &mut Vec<Rule>, from: usize, to: usize) {
    if from >= rules.len() || to >= rules.len() {
        return;
    }
    let r = rules.remove(from);
    rules.insert(to, r);
    renumber(rules);
}

/// Priorities by position: the first rule gets 1.
pub fn renumber(rules: &mut [Rule]) {
    for (i, r) in rules.iter_mut().enumerate() {
        r.priority = i as u32 + 1;
    }
}

/// An id not used by any rule yet: `rule_1`, `rule_2`, ...
pub fn fresh_id(rules: &[Rule]) -> String {
    (1..)
        .map(|i| format!("rule_{i}"))
        .find(|id| rules.iter().all(|r| &r.id != id))
        .unwrap_or_default()
}

/// Limits across all rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    /// At most this many personalised decisions per session (the article's default: 3). Left out of a
    /// file it is 3, never "no limit": a hand-written block must not drop the cap silently. `None`
    /// written out is no limit (and `verify` warns).
    #[serde(default = "default_session_cap")]
    pub max_offers_per_session: Option<u32>,
    #[serde(default)]
    pub max_offers_per_day: Option<u32>,
    /// Only users whose profile says they consented get personalised content.
    #[serde(default)]
    pub require_consent: bool,
}

/// The article's "at most 3 offers per session".
pub const DEFAULT_SESSION_CAP: u32 = 3;

fn default_session_cap() -> Option<u32> {
    Some(DEFAULT_SESSION_CAP)
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            max_offers_per_session: default_session_cap(),
            max_offers_per_day: None,
            require_consent: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(rules: &[Rule]) -> Vec<(&str, u32)> {
        rules.iter().map(|r| (r.id.as_str(), r.priority)).collect()
    }

    #[test]
    fn persona_renames_apply_at_once_and_deduplicate() {
        let mut c = Condition::All(vec![
            Condition::PersonaIn(vec!["a".into(), "b".into(), "c".into()]),
            Condition::Not(Box::new(Condition::PersonaNotIn(vec!["b".into()]))),
        ]);
        // a -> b and b -> a swap (no chaining); c merges into a.
        let rename = |id: &str| match id {
            "a" => Some("b".to_string()),
            "b" => Some("a".to_string()),
            "c" => Some("a".to_string()),
            _ => None,
        };
        c.rename_personas(&rename);
        assert_eq!(
            c,
            Condition::All(vec![
                Condition::PersonaIn(vec!["b".into(), "a".into()]),
                Condition::Not(Box::new(Condition::PersonaNotIn(vec!["a".into()]))),
            ])
        );
    }

    #[test]
    fn moving_a_rule_renumbers_priorities_by_position() {
        let mut rules: Vec<Rule> = (1..=4).map(|i| Rule::new(format!("r{i}"), 9)).collect();
        move_rule(&mut rules, 3, 0);
        assert_eq!(ids(&rules), [("r4", 1), ("r1", 2), ("r2", 3), ("r3", 4)]);
        move_rule(&mut rules, 0, 2);
        assert_eq!(ids(&rules), [("r1", 1), ("r2", 2), ("r4", 3), ("r3", 4)]);
        move_rule(&mut rules, 1, 7);
        assert_eq!(ids(&rules), [("r1", 1), ("r2", 2), ("r4", 3), ("r3", 4)]);
        assert_eq!(fresh_id(&rules), "rule_1");
        rules[0].id = "rule_1".into();
        assert_eq!(fresh_id(&rules), "rule_2");
    }
}
