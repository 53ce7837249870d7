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
    /// Predicted scores by name, one per user (from the models the rule set will carry).
    pub scores: BTreeMap<String, Vec<f64>>,
    /// `empty_features`, computed once (the rule editor asks every frame).
    pub(crate) empty: std::sync::OnceLock<Vec<String>>,
}

impl Population {
    /// A population with no scores yet (`scores` is public: models add theirs).
    pub fn new(
        users: Vec<String>,
        features: BTreeMap<String, Vec<Option<f64>>>,
        segments: Vec<usize>,
        persona_ids: Vec<String>,
        consent: bool,
    ) -> Population {
        Population {
            n: users.len(),
            users,
            features,
            segments,
            persona_ids,
            consent,
            scores: BTreeMap::new(),
            empty: std::sync::OnceLock::new(),
        }
    }

    /// Features that are zero or missing for every analysed user: a condition on one cannot tell
    /// users apart.
    pub fn empty_features(&self) -> &[String] {
        self.empty.get_or_init(|| {
            self.features
                .iter()
                .filter(|(_, col)| col.iter().all(|v| v.is_none_or(|x| x == 0.0)))
                .map(|(f, _)| f.clone())
                .collect()
        })
    }

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
        Condition::Score(name, cmp) => match pop.scores.get(name) {
            Some(col) => col.iter().map(|&v| cmp.holds(v)).collect(),
            None => all(false),
        },
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

/// The condition with every fact the population does not carry (session and day-window event counts,
/// scores no model computes) assumed to go the rule's way: such a leaf becomes true where it counts
/// for the rule and false under a `Not`. Its matches are an upper bound of the users the rule reaches.
pub fn optimistic(c: &Condition, pop: &Population) -> Condition {
    fn go(c: &Condition, positive: bool, pop: &Population) -> Condition {
        match c {
            c if unknown(c, pop) => {
                if positive {
                    Condition::Always
                } else {
                    Condition::Any(vec![])
                }
            }
            Condition::All(cs) => Condition::All(cs.iter().map(|c| go(c, positive, pop)).collect()),
            Condition::Any(cs) => Condition::Any(cs.iter().map(|c| go(c, positive, pop)).collect()),
            Condition::Not(inner) => Condition::Not(Box::new(go(inner, !positive, pop))),
            other => other.clone(),
        }
    }
    go(c, true, pop)
}

/// A leaf whose value the population cannot know.
fn unknown(c: &Condition, pop: &Population) -> bool {
    match c {
        Condition::EventCount(..) => true,
        Condition::Score(name, _) => !pop.scores.contains_key(name),
        _ => false,
    }
}

/// Whether the condition reads facts the population does not carry (event counts, unknown scores).
pub fn needs_session(c: &Condition, pop: &Population) -> bool {
    match c {
        Condition::All(cs) | Condition::Any(cs) => cs.iter().any(|c| needs_session(c, pop)),
        Condition::Not(inner) => needs_session(inner, pop),
        c => unknown(c, pop),
    }
}

/// How many users the condition matches.
pub fn count(c: &Condition, pop: &Population) -> usize {
    matches(c, pop).into_iter().filter(|&b| b).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::EventKind;
    use crate::rules::{Cmp, EventMatch, Window};

    fn pop() -> Population {
        Population {
            n: 4,
            users: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            features: [(
                "sessions".to_string(),
                vec![Some(1.0), Some(2.0), Some(5.0), None],
            )]
            .into_iter()
            .collect(),
            segments: vec![0, 0, 1, 1],
            persona_ids: vec!["p0".into(), "p1".into()],
            consent: true,
            scores: Default::default(),
            empty: Default::default(),
        }
    }

    #[test]
    fn optimistic_counts_bound_what_sessions_can_add() {
        let views = Condition::EventCount(
            EventMatch::Kind(EventKind::ProductView),
            Window::Session,
            Cmp::Gt(2.0),
        );
        let rule = Condition::All(vec![
            Condition::Feature("sessions".into(), Cmp::Ge(2.0)),
            views.clone(),
        ]);
        let p = pop();
        // With an empty session nobody viewed 3 products; at most the two with 2+ sessions can.
        assert_eq!(count(&rule, &p), 0);
        assert_eq!(count(&optimistic(&rule, &p), &p), 2);
        assert!(needs_session(&rule, &p));
        // Under a negation the unknown fact goes the other way: "not (views > 2)" can hold for all,
        // "sessions >= 2 and not (views > 2 or sessions >= 5)" for user b only.
        let neg = Condition::All(vec![
            Condition::Feature("sessions".into(), Cmp::Ge(2.0)),
            Condition::Not(Box::new(Condition::Any(vec![
                views,
                Condition::Feature("sessions".into(), Cmp::Ge(5.0)),
            ]))),
        ]);
        assert_eq!(
            matches(&optimistic(&neg, &p), &p),
            vec![false, true, false, false]
        );
        let plain = Condition::PersonaIn(vec!["p1".into()]);
        assert_eq!(optimistic(&plain, &p), plain);
        assert!(!needs_session(&plain, &p));
        // A score is unknown until a model gives one per user; then it is counted.
        let risky = Condition::Score("churn_risk".into(), Cmp::Gt(0.7));
        assert!(needs_session(&risky, &p));
        let mut q = p.clone();
        q.scores
            .insert("churn_risk".into(), vec![0.9, 0.1, 0.8, 0.5]);
        assert!(!needs_session(&risky, &q));
        assert_eq!(matches(&risky, &q), vec![true, false, true, false]);
        assert_eq!(user_profile_ids(&p), vec!["a", "b", "c", "d"]);
    }

    fn user_profile_ids(p: &Population) -> Vec<String> {
        (0..p.n).map(|i| p.user_profile(i).user_id).collect()
    }
}
