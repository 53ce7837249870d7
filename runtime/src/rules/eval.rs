//! Evaluating rules for one user: conditions, dates, caps, guardrails, holdout and variant bucketing.
//! `RuleSet::decide` gathers the facts (segment, persona, scores) and calls [`decide`]; the app's
//! Simulate view calls the same function, so what the app shows is what production does.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::context::parse_time;
use super::describe::{PersonaNames, customer, describe, num};
use super::model::{Condition, EventMatch, Guardrails, Rule, Window};
use crate::error::RuleError;

const DAY_US: i64 = 86_400_000_000;

/// Everything known about the user at decision time.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub user_id: &'a str,
    pub persona: &'a str,
    pub features: &'a BTreeMap<String, Option<f64>>,
    pub scores: BTreeMap<String, f64>,
    pub consent: bool,
    pub returning: Option<bool>,
    /// µs since epoch, UTC.
    pub now: i64,
    /// Event names of the current session.
    pub session_events: Vec<&'a str>,
    /// Earlier events (name, µs), before the current session.
    pub history: Vec<(&'a str, i64)>,
    /// Earlier personalised decisions: (rule id, µs, in this session).
    pub shown: Vec<(&'a str, i64, bool)>,
}

/// One thing to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub slot: String,
    pub rule: String,
    pub rule_name: String,
    /// None for the holdout: the user sees the slot's default content.
    pub module: Option<String>,
    pub variant: Option<String>,
    pub holdout: bool,
    /// The "Why am I seeing this?" text (its `{condition}` in customer words).
    pub explanation: String,
    /// What matched, exactly, for the analyst: "recency_days > 21".
    pub condition: String,
}

/// Why a rule did or did not produce a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Decided {
        holdout: bool,
    },
    Disabled,
    NotStarted,
    Ended,
    NoConsent,
    NotMatched,
    /// A rule of higher priority already filled the slot.
    SlotTaken {
        by: String,
    },
    /// The rule's own frequency cap.
    RuleCap {
        limit: u32,
        window: &'static str,
    },
    /// A guardrail across all rules.
    Guardrail {
        limit: u32,
        window: &'static str,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Decided { holdout: false } => write!(f, "fires"),
            Outcome::Decided { holdout: true } => write!(f, "matches; user is in the holdout"),
            Outcome::Disabled => write!(f, "disabled"),
            Outcome::NotStarted => write!(f, "not started yet"),
            Outcome::Ended => write!(f, "ended"),
            Outcome::NoConsent => write!(f, "no consent to personalisation"),
            Outcome::NotMatched => write!(f, "condition not met"),
            Outcome::SlotTaken { by } => write!(f, "matches, but slot already filled by {by}"),
            Outcome::RuleCap { limit, window } => {
                write!(f, "matches, but capped ({limit} per {window})")
            }
            Outcome::Guardrail { limit, window } => {
                write!(
                    f,
                    "matches, but guardrail reached ({limit} offers per {window})"
                )
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub rule: String,
    pub priority: u32,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Rules in evaluation order: priority, then position in the file.
pub fn ordered(rules: &[Rule]) -> Vec<&Rule> {
    let mut v: Vec<&Rule> = rules.iter().collect();
    v.sort_by_key(|r| r.priority);
    v
}

/// Decide what to show: per slot the first eligible rule by priority.
pub fn decide(
    rules: &[Rule],
    guard: &Guardrails,
    facts: &Facts,
    names: PersonaNames,
) -> Result<(Vec<Decision>, Vec<Trace>), RuleError> {
    let mut decisions: Vec<Decision> = Vec::new();
    let mut trace = Vec::new();
    let mut taken: BTreeMap<&str, &str> = BTreeMap::new();
    let day_start = facts.now.div_euclid(DAY_US) * DAY_US;
    let shown_session = facts.shown.iter().filter(|s| s.2).count() as u32;
    let shown_day = facts
        .shown
        .iter()
        .filter(|s| s.1 >= day_start && s.1 <= facts.now)
        .count() as u32;
    for rule in ordered(rules) {
        let outcome = outcome(
            rule,
            guard,
            facts,
            &taken,
            shown_session + decisions.len() as u32,
            shown_day + decisions.len() as u32,
            day_start,
        )?;
        if let Outcome::Decided { holdout } = outcome {
            taken.insert(&rule.action.slot, &rule.id);
            decisions.push(decision(rule, facts, holdout, names)?);
        }
        trace.push(Trace {
            rule: rule.id.clone(),
            priority: rule.priority,
            outcome,
        });
    }
    Ok((decisions, trace))
}

fn outcome(
    rule: &Rule,
    guard: &Guardrails,
    facts: &Facts,
    taken: &BTreeMap<&str, &str>,
    offers_session: u32,
    offers_day: u32,
    day_start: i64,
) -> Result<Outcome, RuleError> {
    if !rule.enabled {
        return Ok(Outcome::Disabled);
    }
    if let Some(s) = &rule.start
        && facts.now < parse_time(&format!("rule {:?} start", rule.id), s)?
    {
        return Ok(Outcome::NotStarted);
    }
    if let Some(e) = &rule.end
        && facts.now >= parse_time(&format!("rule {:?} end", rule.id), e)?
    {
        return Ok(Outcome::Ended);
    }
    if guard.require_consent && !facts.consent {
        return Ok(Outcome::NoConsent);
    }
    if !holds(&rule.when, facts, &rule.id)? {
        return Ok(Outcome::NotMatched);
    }
    if let Some(by) = taken.get(rule.action.slot.as_str()) {
        return Ok(Outcome::SlotTaken { by: by.to_string() });
    }
    let mine = facts.shown.iter().filter(|s| s.0 == rule.id);
    if let Some(limit) = rule.caps.per_session
        && mine.clone().filter(|s| s.2).count() as u32 >= limit
    {
        return Ok(Outcome::RuleCap {
            limit,
            window: "session",
        });
    }
    if let Some(limit) = rule.caps.per_day
        && mine
            .filter(|s| s.1 >= day_start && s.1 <= facts.now)
            .count() as u32
            >= limit
    {
        return Ok(Outcome::RuleCap {
            limit,
            window: "day",
        });
    }
    if let Some(limit) = guard.max_offers_per_session
        && offers_session >= limit
    {
        return Ok(Outcome::Guardrail {
            limit,
            window: "session",
        });
    }
    if let Some(limit) = guard.max_offers_per_day
        && offers_day >= limit
    {
        return Ok(Outcome::Guardrail {
            limit,
            window: "day",
        });
    }
    Ok(Outcome::Decided {
        holdout: in_holdout(rule, facts.user_id),
    })
}

/// Whether a user is in a rule's holdout.
pub fn in_holdout(rule: &Rule, user_id: &str) -> bool {
    (bucket("holdout", &rule.id, user_id) as f64) < (rule.action.holdout_percent * 100.0).round()
}

/// The decision a rule would make for a user if it fired (for the editor's explanation preview).
pub fn preview(rule: &Rule, facts: &Facts, names: PersonaNames) -> Result<Decision, RuleError> {
    decision(rule, facts, in_holdout(rule, facts.user_id), names)
}

fn decision(
    rule: &Rule,
    facts: &Facts,
    holdout: bool,
    names: PersonaNames,
) -> Result<Decision, RuleError> {
    let (module, variant) = if holdout {
        (None, None)
    } else {
        match variant_of(rule, facts.user_id) {
            Some(v) => (
                Some(v.module.clone().unwrap_or(rule.action.module.clone())),
                Some(v.id.clone()),
            ),
            None => (Some(rule.action.module.clone()), None),
        }
    };
    let matched = matched_text(&rule.when, facts, &rule.id, &|c| customer(c))?;
    let exact = matched_text(&rule.when, facts, &rule.id, &|c| describe(c, names))?;
    let persona = names(facts.persona);
    let explanation = fill(
        &rule.explanation,
        &[
            ("persona", &persona),
            ("condition", &matched),
            ("rule", &rule.name),
            ("variant", variant.as_deref().unwrap_or("")),
            ("module", module.as_deref().unwrap_or("")),
        ],
    );
    Ok(Decision {
        slot: rule.action.slot.clone(),
        rule: rule.id.clone(),
        rule_name: rule.name.clone(),
        module,
        variant,
        holdout,
        explanation,
        condition: exact,
    })
}

/// Replace each `{name}` of a known placeholder in one left-to-right pass: a value is never searched
/// again (a persona named "{rule}" stays as it is), and any other braces are kept as written.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v, close))
        });
        match hit {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The variant a user sees under a rule: the first variant whose cumulative weight (in basis points)
/// exceeds the user's bucket.
pub fn variant_of<'r>(rule: &'r Rule, user_id: &str) -> Option<&'r super::model::Variant> {
    if rule.action.variants.is_empty() {
        return None;
    }
    let b = bucket("variant", &rule.id, user_id);
    let mut cum = 0u64;
    for v in &rule.action.variants {
        cum += u64::from(v.weight) * 100;
        if b < cum {
            return Some(v);
        }
    }
    rule.action.variants.last()
}

/// A user's bucket 0..10000 for a rule: the first 8 bytes of SHA-256("{purpose}:{rule id}:{user id}"),
/// big-endian, modulo 10000. Deterministic, so a user always sees the same variant, and independent
/// between rules and between the holdout and the variant draw.
pub fn bucket(purpose: &str, rule_id: &str, user_id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(purpose.as_bytes());
    h.update(b":");
    h.update(rule_id.as_bytes());
    h.update(b":");
    h.update(user_id.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b) % 10_000
}

/// Whether a condition holds. A feature whose value is missing (null) fails every comparison.
pub fn holds(c: &Condition, f: &Facts, rule: &str) -> Result<bool, RuleError> {
    Ok(match c {
        Condition::Always => true,
        Condition::PersonaIn(ids) => ids.iter().any(|i| i == f.persona),
        Condition::PersonaNotIn(ids) => !ids.iter().any(|i| i == f.persona),
        Condition::Feature(name, cmp) => match f.features.get(name) {
            None => {
                return Err(RuleError::MissingFeature {
                    feature: name.clone(),
                    needed_by: format!("rule {rule:?}"),
                });
            }
            Some(None) => false,
            Some(Some(v)) => cmp.holds(*v),
        },
        Condition::EventCount(ev, window, cmp) => cmp.holds(event_count(ev, *window, f) as f64),
        Condition::Score(name, cmp) => match f.scores.get(name) {
            Some(v) => cmp.holds(*v),
            None => {
                return Err(RuleError::MissingScore {
                    score: name.clone(),
                    rule: rule.into(),
                });
            }
        },
        Condition::Returning(want) => match f.returning {
            Some(r) => r == *want,
            None => return Err(RuleError::UnknownReturning { rule: rule.into() }),
        },
        Condition::Consent(want) => f.consent == *want,
        Condition::All(cs) => {
            for c in cs {
                if !holds(c, f, rule)? {
                    return Ok(false);
                }
            }
            true
        }
        Condition::Any(cs) => {
            for c in cs {
                if holds(c, f, rule)? {
                    return Ok(true);
                }
            }
            false
        }
        Condition::Not(c) => !holds(c, f, rule)?,
    })
}

/// Events matching `ev` in the session, and, for a window of days, in the history within it.
fn event_count(ev: &EventMatch, window: Window, f: &Facts) -> usize {
    let in_session = f.session_events.iter().filter(|e| ev.matches(e)).count();
    let earlier = match window {
        Window::Session => 0,
        Window::Days(n) => {
            let from = f.now - i64::from(n) * DAY_US;
            f.history
                .iter()
                .filter(|(e, t)| *t > from && *t <= f.now && ev.matches(e))
                .count()
        }
    };
    in_session + earlier
}

/// Why a condition does not hold for these facts: each part that failed, as the analyst wrote it,
/// with what this user has ("recency_days > 54.95: this user has 40.35"). Every failing part of an
/// `all`, every part of an `any` (none held), the inner part of a `not` that held. Empty when the
/// condition holds. For Simulate's trace ("why not?"); not part of a decision, so `decide` never
/// pays for it.
pub fn missed(
    c: &Condition,
    f: &Facts,
    rule: &str,
    names: PersonaNames,
) -> Result<Vec<String>, RuleError> {
    let mut out = Vec::new();
    if !holds(c, f, rule)? {
        missed_parts(c, f, rule, names, &mut out)?;
    }
    Ok(out)
}

/// The parts of `c`, which does not hold, that failed (see [`missed`]).
fn missed_parts(
    c: &Condition,
    f: &Facts,
    rule: &str,
    names: PersonaNames,
    out: &mut Vec<String>,
) -> Result<(), RuleError> {
    match c {
        Condition::All(cs) if !cs.is_empty() => {
            for part in cs {
                if !holds(part, f, rule)? {
                    missed_parts(part, f, rule, names, out)?;
                }
            }
            return Ok(());
        }
        Condition::Any(cs) if !cs.is_empty() => {
            for part in cs {
                missed_parts(part, f, rule, names, out)?;
            }
            return Ok(());
        }
        _ => {}
    }
    // A part that is not a list: said as written, with what the user has.
    let wanted = describe(c, names);
    let text = match c {
        Condition::Feature(name, _) => match f.features.get(name).copied().flatten() {
            Some(v) => format!("{wanted}: this user has {}", num(v)),
            None => format!("{wanted}: no value for this user"),
        },
        Condition::EventCount(ev, window, _) => {
            format!("{wanted}: {}", event_count(ev, *window, f))
        }
        Condition::Score(name, _) => match f.scores.get(name) {
            Some(v) => format!("{wanted}: this user scores {}", num(*v)),
            None => format!("{wanted}: no score"),
        },
        Condition::PersonaIn(_) | Condition::PersonaNotIn(_) => {
            format!("{wanted}: this user is {}", names(f.persona))
        }
        Condition::Returning(true) => format!("{wanted}: this is a first visit"),
        Condition::Returning(false) => format!("{wanted}: this user has visited before"),
        Condition::Consent(true) => format!("{wanted}: not given"),
        Condition::Consent(false) => format!("{wanted}: given"),
        Condition::Not(_) => format!("{wanted}: it holds"),
        // `always` and an empty `all` hold; an empty `any` holds for nobody.
        Condition::Always | Condition::All(_) | Condition::Any(_) => wanted,
    };
    out.push(text);
    Ok(())
}

/// The text of what matched, in the words `say` gives each part: every part of an `all` (a part
/// said the same way twice is said once), the first matching part of an `any`.
fn matched_text(
    c: &Condition,
    f: &Facts,
    rule: &str,
    say: &dyn Fn(&Condition) -> String,
) -> Result<String, RuleError> {
    Ok(match c {
        Condition::All(cs) if !cs.is_empty() => {
            let mut parts: Vec<String> = Vec::with_capacity(cs.len());
            for c in cs {
                let p = matched_text(c, f, rule, say)?;
                if !parts.contains(&p) {
                    parts.push(p);
                }
            }
            parts.join(" and ")
        }
        Condition::Any(cs) => {
            for c in cs {
                if holds(c, f, rule)? {
                    return matched_text(c, f, rule, say);
                }
            }
            say(c)
        }
        _ => say(c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::model::{Cmp, EventMatch};

    #[test]
    fn a_miss_names_each_failed_part_with_what_the_user_has() {
        let features: BTreeMap<String, Option<f64>> = [
            ("recency_days".to_string(), Some(40.0)),
            ("sessions".to_string(), Some(3.0)),
            ("purchases".to_string(), None),
        ]
        .into();
        let now = 30 * DAY_US;
        let f = Facts {
            user_id: "u1",
            persona: "p_lapsed",
            features: &features,
            scores: BTreeMap::new(),
            consent: true,
            returning: Some(true),
            now,
            session_events: vec!["view_item"],
            // Two searches in the last 7 days, one older.
            history: vec![
                ("search", now - DAY_US),
                ("search", now - 2 * DAY_US),
                ("search", now - 10 * DAY_US),
            ],
            shown: vec![],
        };
        let names = |id: &str| id.trim_start_matches("p_").to_string();
        let feat = |n: &str, c: Cmp| Condition::Feature(n.into(), c);
        let searches = Condition::EventCount(
            EventMatch::Name("search".into()),
            Window::Days(7),
            Cmp::Ge(3.0),
        );
        let c = Condition::All(vec![
            feat("recency_days", Cmp::Gt(54.95)),
            // Holds: not said.
            feat("sessions", Cmp::Ge(2.0)),
            feat("purchases", Cmp::Gt(0.0)),
            searches,
            Condition::PersonaIn(vec!["p_loyal".into()]),
            Condition::Not(Box::new(Condition::Consent(true))),
        ]);
        assert_eq!(
            missed(&c, &f, "r", &names).unwrap(),
            vec![
                "recency_days > 54.95: this user has 40",
                "purchases > 0: no value for this user",
                "\"search\" events in the last 7 days >= 3: 2",
                "you belong to loyal: this user is lapsed",
                "not (you allowed personalisation): it holds",
            ]
        );
        // An `any` that missed: every part; a condition that holds: nothing.
        let any = Condition::Any(vec![
            feat("recency_days", Cmp::Gt(60.0)),
            Condition::Returning(false),
        ]);
        assert_eq!(
            missed(&any, &f, "r", &names).unwrap(),
            vec![
                "recency_days > 60: this user has 40",
                "this is your first visit: this user has visited before",
            ]
        );
        assert!(
            missed(&feat("sessions", Cmp::Ge(2.0)), &f, "r", &names)
                .unwrap()
                .is_empty()
        );
        // A feature the profile lacks is the same error `decide` gives.
        assert!(missed(&feat("nope", Cmp::Gt(1.0)), &f, "r", &names).is_err());
    }

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        let v = [("persona", "{rule}"), ("rule", "R"), ("variant", "")];
        assert_eq!(fill("{persona}/{rule}", &v), "{rule}/R");
        assert_eq!(fill("a {unknown} {rule", &v), "a {unknown} {rule");
        assert_eq!(fill("{{rule}}", &v), "{R}");
        assert_eq!(fill("[{variant}]", &v), "[]");
        assert_eq!(fill("no braces", &v), "no braces");
    }
}
