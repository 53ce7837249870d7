//! How many of the analysed users a condition matches right now, column by column (fast enough to
//! follow every edit in the rule editor). Profiles carry no session, history or scores, so event counts
//! are 0, scores are unknown (no match) and consent is as given.

use std::collections::BTreeMap;

use super::context::UserProfile;
use super::model::Condition;

/// The analysed users, as columns.
#[derive(Debug, Clone, Default)]
pub struct Population {
    pub n: usize,
    /// User ids (hashed when ids were hashed on load), in profile order.
    pub users: Vec<String>,
    /// Feature id → raw values, one per user.
    pub features: BTreeMap<String, Vec<Option<f64>>>,
    /// Each user's segment.
    pub segments: Vec<usize>,
    /// Persona id per segment.
    pub persona_ids: Vec<String>,
    /// Whether each user consented (the analysed users passed the consent filter, if one was mapped).
    pub consent: bool,
}

impl Population {
    /// User `i` as `decide` takes it: every profile feature, the consent flag, no events.
    pub fn user_profile(&self, i: usize) -> UserProfile {
        UserProfile {
            user_id: self.users.get(i).cloned().unwrap_or_default(),
            features: self
                .features
                .iter()
                .map(|(f, col)| (f.clone(), col.get(i).copied().flatten()))
                .collect(),
            consent: Some(self.consent),
            ..Default::default()
        }
    }

    /// The persona id of user `i`.
    pub fn persona_of(&self, i: usize) -> Option<&str> {
        let s = *self.segments.get(i)?;
        self.persona_ids.get(s).map(String::as_str)
    }
}

/// One flag per user: does the condition hold?
pub fn matches(c: &Condition, pop: &Population) -> Vec<bool> {
    let all = |v: bool| vec![v; pop.n];
    match c {
        Condition::Always => all(true),
        Condition::PersonaIn(ids) | Condition::PersonaNotIn(ids) => {
            let inside = matches!(c, Condition::PersonaIn(_));
            let hit: Vec<bool> = pop
                .persona_ids
                .iter()
                .map(|p| ids.contains(p) == inside)
                .collect();
            pop.segments
                .iter()
                .map(|&s| hit.get(s).copied().unwrap_or(!inside))
                .collect()
        }
        Condition::Feature(f, cmp) => match pop.features.get(f) {
            Some(col) => col
                .iter()
                .map(|v| v.is_some_and(|x| cmp.holds(x)))
                .collect(),
            None => all(false),
        },
        Condition::EventCount(_, _, cmp) => all(cmp.holds(0.0)),
        Condition::Score(..) => all(false),
        Condition::Returning(want) => match pop.features.get("sessions") {
            Some(col) => col
                .iter()
                .map(|v| v.is_some_and(|s| (s > 1.0) == *want))
                .collect(),
            None => all(false),
        },
        Condition::Consent(want) => all(pop.consent == *want),
        Condition::All(cs) => {
            let mut acc = all(true);
            for c in cs {
                for (a, b) in acc.iter_mut().zip(matches(c, pop)) {
                    *a &= b;
                }
            }
            acc
        }
        Condition::Any(cs) => {
            let mut acc = all(false);
            for c in cs {
                for (a, b) in acc.iter_mut().zip(matches(c, pop)) {
                    *a |= b;
                }
            }
            acc
        }
        Condition::Not(c) => matches(c, pop).into_iter().map(|b| !b).collect(),
    }
}

/// How many users the condition matches.
pub fn count(c: &Condition, pop: &Population) -> usize {
    matches(c, pop).into_iter().filter(|&b| b).count()
}
