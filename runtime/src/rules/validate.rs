//! Checks of a rule list before it is deployed: unknown personas, features and scores, variant weights,
//! dates, explanation placeholders, rules that can never match, overlapping rules of equal priority on
//! one slot, and rules shadowed by a higher-priority rule.
//!
//! Matching, overlap and shadowing are decided on a region: per feature / event count / score an
//! interval, the set of personas allowed, and the returning / consent facts. The region of a condition
//! is an over-approximation (every user the condition accepts lies in it), flagged exact when it is
//! the condition's set exactly; so "empty region" proves a rule can never match, and "B's region inside
//! A's exact region" proves A takes every user B would.

use std::collections::BTreeSet;

use serde::Serialize;

use super::context::parse_time;
use super::describe::event_text;
use super::model::{Cmp, Condition, EventMatch, Rule, Window};
use super::region::{RegionEstimate, region};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding; `rule` is the rule id it concerns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub rule: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.rule {
            Some(r) => write!(f, "{sev}: rule {r:?}: {}", self.message),
            None => write!(f, "{sev}: {}", self.message),
        }
    }
}

/// What the rules may refer to.
pub struct Known<'a> {
    /// (id, name) of every persona.
    pub personas: Vec<(&'a str, &'a str)>,
    /// Every feature of the profile.
    pub features: Vec<&'a str>,
    /// Scores the rule set's models compute.
    pub scores: Vec<&'a str>,
    /// Features zero or missing for every analysed user (known in the app, not from a file alone).
    pub empty_features: Vec<&'a str>,
}

const PLACEHOLDERS: [&str; 5] = ["persona", "condition", "rule", "variant", "module"];

pub fn validate(rules: &[Rule], known: &Known) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for r in rules {
        let mut err = |sev: Severity, message: String| {
            out.push(Finding {
                severity: sev,
                rule: Some(r.id.clone()),
                message,
            })
        };
        if r.id.trim().is_empty() {
            err(Severity::Error, "the rule id is empty".into());
        } else if !ids.insert(r.id.as_str()) {
            err(
                Severity::Error,
                "the rule id is used by another rule (ids must be unique)".into(),
            );
        }
        if r.priority == 0 {
            err(Severity::Error, "priority must be 1 or more".into());
        }
        leaves(&r.when, known, &mut |sev, m| err(sev, m));
        let a = &r.action;
        if a.module.trim().is_empty() {
            err(Severity::Error, "the action has no module".into());
        }
        if a.slot.trim().is_empty() {
            err(Severity::Error, "the action has no slot".into());
        }
        if !a.variants.is_empty() {
            // Summed in u64 and each weight at most 100: a u32 sum wrapped (4294967246 + 150 "summed
            // to 100") and handed every user to one variant.
            if let Some(v) = a.variants.iter().find(|v| v.weight > 100) {
                err(
                    Severity::Error,
                    format!(
                        "variant {:?} has weight {}; a weight is a share in percent (0 to 100)",
                        v.id, v.weight
                    ),
                );
            }
            let total: u64 = a.variants.iter().map(|v| u64::from(v.weight)).sum();
            if total != 100 {
                err(
                    Severity::Error,
                    format!("variant weights sum to {total}, not 100"),
                );
            }
            let mut vids = BTreeSet::new();
            for v in &a.variants {
                if v.id.trim().is_empty() {
                    err(Severity::Error, "a variant has an empty id".into());
                } else if !vids.insert(v.id.as_str()) {
                    err(
                        Severity::Error,
                        format!("variant id {:?} is repeated", v.id),
                    );
                }
            }
        }
        if !(a.holdout_percent.is_finite() && (0.0..100.0).contains(&a.holdout_percent)) {
            err(
                Severity::Error,
                format!(
                    "holdout_percent must be at least 0 and below 100, got {}",
                    a.holdout_percent
                ),
            );
        }
        if r.caps.per_session == Some(0) || r.caps.per_day == Some(0) {
            err(
                Severity::Warning,
                "a frequency cap of 0 means the rule never fires".into(),
            );
        }
        let start = r
            .start
            .as_ref()
            .map(|s| parse_time(&format!("start {s:?}"), s));
        let end = r.end.as_ref().map(|s| parse_time(&format!("end {s:?}"), s));
        for t in [&start, &end].into_iter().flatten() {
            if let Err(e) = t {
                err(Severity::Error, e.to_string());
            }
        }
        if let (Some(Ok(s)), Some(Ok(e))) = (&start, &end)
            && s >= e
        {
            err(
                Severity::Error,
                "the end date is not after the start date".into(),
            );
        }
        if r.explanation.trim().is_empty() {
            err(
                Severity::Error,
                "the explanation (\"Why am I seeing this?\") is empty".into(),
            );
        }
        for p in placeholders(&r.explanation) {
            if !PLACEHOLDERS.contains(&p.as_str()) {
                err(
                    Severity::Error,
                    format!(
                        "the explanation uses {{{p}}}; known placeholders: {}",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ),
                );
            }
        }
        let mut read = Vec::new();
        r.when.features(&mut read);
        for f in read
            .iter()
            .filter(|f| known.empty_features.contains(&f.as_str()))
        {
            err(
                Severity::Warning,
                format!(
                    "the condition on {f} cannot tell users apart: {f} is zero or missing for \
                     every analysed user"
                ),
            );
        }
        for problem in explanation_words(&r.explanation, known) {
            err(Severity::Warning, problem);
        }
        if r.enabled
            && let Some(why) = &region(&r.when, known).region.empty
        {
            err(Severity::Error, format!("can never match: {why}"));
        }
    }

    // Pairs on one slot, in evaluation order.
    let order = super::eval::ordered(rules);
    let regions: Vec<RegionEstimate> = order.iter().map(|r| region(&r.when, known)).collect();
    for (j, b) in order.iter().enumerate() {
        if !b.enabled || regions[j].region.empty.is_some() {
            continue;
        }
        for (i, a) in order[..j].iter().enumerate() {
            if !a.enabled || a.action.slot != b.action.slot || regions[i].region.empty.is_some() {
                continue;
            }
            if a.priority == b.priority && regions[i].region.meets(&regions[j].region) {
                out.push(Finding {
                    severity: Severity::Error,
                    rule: Some(b.id.clone()),
                    message: format!(
                        "overlaps rule {:?} on slot {:?} with the same priority {}: give one of them a higher priority",
                        a.id, b.action.slot, b.priority
                    ),
                });
            } else if regions[i].exact
                && a.caps == Default::default()
                && a.start.is_none()
                && a.end.is_none()
                && regions[j].region.inside(&regions[i].region)
            {
                out.push(Finding {
                    severity: Severity::Warning,
                    rule: Some(b.id.clone()),
                    message: format!(
                        "never fires: rule {:?} (priority {}) takes slot {:?} for every user this rule matches",
                        a.id, a.priority, b.action.slot
                    ),
                });
                break;
            }
        }
    }
    out
}

/// `{name}` placeholders of a text.
/// What in an explanation's own text would read as internals to a customer: a feature id that looks
/// like one (`recency_days`, `count:page_view`: plain words such as "sessions" are fine), a persona
/// id, or a number with more than two decimals. (`{condition}` is filled in customer words.)
fn explanation_words(text: &str, known: &Known) -> Vec<String> {
    let mut out = Vec::new();
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '_' | ':' | '=' | '.');
    let words: Vec<&str> = text
        .split(|c: char| !is_word(c))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    for f in &known.features {
        if f.contains(['_', ':', '=']) && words.contains(f) {
            out.push(format!(
                "the explanation shows the feature id {f:?} to customers: say it in words, or use \
                 {{condition}}"
            ));
        }
    }
    for (id, _) in &known.personas {
        if words.contains(id) {
            out.push(format!(
                "the explanation shows the persona id {id:?} to customers"
            ));
        }
    }
    if let Some(m) = long_decimal(text) {
        out.push(format!(
            "the explanation shows the number {m} to customers: round it to two decimals at most"
        ));
    }
    out
}

/// The first number with three or more decimals (`\d+\.\d{3,}`), if any.
fn long_decimal(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < b.len() && b[i] == b'.' {
                let dot = i;
                let mut j = dot + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j - dot > 3 {
                    return Some(&text[start..j]);
                }
            }
        } else {
            i += 1;
        }
    }
    None
}

fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j) => {
                out.push(after[..j].to_string());
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}

/// Checks of single leaves: names that must exist, numbers that must be finite.
fn leaves(c: &Condition, known: &Known, err: &mut dyn FnMut(Severity, String)) {
    let cmp_ok = |cmp: &Cmp, what: &str, err: &mut dyn FnMut(Severity, String)| {
        if cmp.thresholds().iter().any(|t| !t.is_finite()) {
            err(
                Severity::Error,
                format!("the threshold on {what} is not a finite number"),
            );
        }
    };
    match c {
        Condition::PersonaIn(ids) | Condition::PersonaNotIn(ids) => {
            for id in ids {
                if !known.personas.iter().any(|(pid, _)| pid == id) {
                    let hint = match known.personas.iter().find(|(_, name)| name == id) {
                        Some((pid, _)) => {
                            format!(" (did you mean the id {pid:?}? rules name personas by id)")
                        }
                        None => format!(
                            "; known: {}",
                            known
                                .personas
                                .iter()
                                .map(|(i, n)| format!("{i} ({n})"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    err(Severity::Error, format!("unknown persona {id:?}{hint}"));
                }
            }
        }
        Condition::Feature(f, cmp) => {
            if !known.features.contains(&f.as_str()) {
                err(
                    Severity::Error,
                    format!(
                        "unknown feature {f:?}; the profile has: {}",
                        known.features.join(", ")
                    ),
                );
            }
            cmp_ok(cmp, f, err);
        }
        Condition::EventCount(e, w, cmp) => {
            if let EventMatch::Name(n) = e
                && n.trim().is_empty()
            {
                err(
                    Severity::Error,
                    "an event count has an empty event name".into(),
                );
            }
            if *w == Window::Days(0) {
                err(Severity::Error, "an event window of 0 days is empty".into());
            }
            cmp_ok(cmp, &event_text(e), err);
        }
        Condition::Score(s, cmp) => {
            if !known.scores.contains(&s.as_str()) {
                err(
                    Severity::Warning,
                    format!(
                        "no model in this rule set computes the score {s:?}: every profile must carry it under `scores`"
                    ),
                );
            }
            cmp_ok(cmp, s, err);
        }
        Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| leaves(c, known, err)),
        Condition::Not(c) => leaves(c, known, err),
        Condition::Always | Condition::Returning(_) | Condition::Consent(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::EventKind;

    fn known() -> Known<'static> {
        Known {
            personas: vec![("segment_0", "Browsers"), ("segment_1", "Buyers")],
            features: vec!["sessions", "recency_days"],
            scores: vec![],
            empty_features: vec![],
        }
    }

    fn rule(id: &str, priority: u32, slot: &str, when: Condition) -> Rule {
        let mut r = Rule::new(id, priority);
        r.action.slot = slot.into();
        r.when = when;
        r
    }

    fn messages(rules: &[Rule]) -> Vec<String> {
        validate(rules, &known())
            .iter()
            .map(|f| f.to_string())
            .collect()
    }

    #[test]
    fn explanations_that_show_internals_are_warned_about() {
        let mut r = rule("a", 1, "hero", Condition::Always);
        r.explanation =
            "Because your recency_days is over 21.4567 and you are in segment_0 ({condition})."
                .into();
        assert_eq!(
            messages(&[r.clone()]),
            [
                "warning: rule \"a\": the explanation shows the feature id \"recency_days\" to \
                 customers: say it in words, or use {condition}",
                "warning: rule \"a\": the explanation shows the persona id \"segment_0\" to customers",
                "warning: rule \"a\": the explanation shows the number 21.4567 to customers: round \
                 it to two decimals at most",
            ]
        );
        // Plain words that happen to be feature ids, thousands and two decimals are fine.
        r.explanation = "Your sessions with us, 1,000 happy customers, 9.99 off.".into();
        assert_eq!(messages(&[r]), Vec::<String>::new());
    }

    #[test]
    fn a_condition_on_a_feature_no_user_has_is_warned_about() {
        let r = rule(
            "a",
            1,
            "hero",
            Condition::Feature("recency_days".into(), Cmp::Gt(3.0)),
        );
        let mut k = known();
        k.empty_features = vec!["recency_days"];
        let m: Vec<String> = validate(&[r], &k).iter().map(|f| f.to_string()).collect();
        assert_eq!(
            m,
            [
                "warning: rule \"a\": the condition on recency_days cannot tell users apart: \
              recency_days is zero or missing for every analysed user"
            ]
        );
    }

    #[test]
    fn a_clean_rule_list_has_no_findings() {
        let rules = vec![
            rule(
                "a",
                1,
                "hero",
                Condition::PersonaIn(vec!["segment_1".into()]),
            ),
            rule("b", 2, "hero", Condition::Always),
        ];
        assert_eq!(messages(&rules), Vec::<String>::new());
    }

    #[test]
    fn contradictory_bounds_never_match() {
        let rules = vec![rule(
            "a",
            1,
            "hero",
            Condition::All(vec![
                Condition::Feature("sessions".into(), Cmp::Gt(5.0)),
                Condition::Feature("sessions".into(), Cmp::Lt(3.0)),
            ]),
        )];
        assert_eq!(
            messages(&rules),
            ["error: rule \"a\": can never match: the bounds on sessions contradict each other"]
        );
        // Counts are whole numbers: more than 2 and fewer than 3 is impossible.
        let rules = vec![rule(
            "c",
            1,
            "hero",
            Condition::All(vec![
                Condition::EventCount(
                    EventMatch::Kind(EventKind::ProductView),
                    Window::Session,
                    Cmp::Gt(2.0),
                ),
                Condition::EventCount(
                    EventMatch::Kind(EventKind::ProductView),
                    Window::Session,
                    Cmp::Lt(3.0),
                ),
            ]),
        )];
        assert_eq!(messages(&rules).len(), 1, "{:?}", messages(&rules));
        // Not everything contradictory in appearance is: any of two impossible parts vs one possible.
        let rules = vec![rule(
            "d",
            1,
            "hero",
            Condition::Any(vec![
                Condition::Feature("sessions".into(), Cmp::Between(5.0, 3.0)),
                Condition::Feature("sessions".into(), Cmp::Ge(1.0)),
            ]),
        )];
        assert_eq!(messages(&rules), Vec::<String>::new());
    }

    #[test]
    fn equal_priorities_on_one_slot_must_not_overlap() {
        let rules = vec![
            rule(
                "a",
                1,
                "hero",
                Condition::Feature("sessions".into(), Cmp::Gt(3.0)),
            ),
            rule(
                "b",
                1,
                "hero",
                Condition::Feature("sessions".into(), Cmp::Lt(5.0)),
            ),
            // Disjoint from a: fine with the same priority.
            rule(
                "c",
                1,
                "side",
                Condition::Feature("sessions".into(), Cmp::Le(3.0)),
            ),
            rule(
                "d",
                1,
                "side",
                Condition::Feature("sessions".into(), Cmp::Gt(3.0)),
            ),
        ];
        let m = messages(&rules);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("rule \"b\": overlaps rule \"a\" on slot \"hero\""),
            "{m:?}"
        );
    }

    #[test]
    fn a_rule_inside_a_higher_priority_rule_is_shadowed() {
        let rules = vec![
            rule(
                "wide",
                1,
                "hero",
                Condition::Feature("sessions".into(), Cmp::Gt(3.0)),
            ),
            rule(
                "narrow",
                2,
                "hero",
                Condition::All(vec![
                    Condition::Feature("sessions".into(), Cmp::Gt(5.0)),
                    Condition::PersonaIn(vec!["segment_1".into()]),
                ]),
            ),
            // Wider than `wide`: not shadowed.
            rule(
                "wider",
                3,
                "hero",
                Condition::Feature("sessions".into(), Cmp::Gt(1.0)),
            ),
        ];
        let m = messages(&rules);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("warning: rule \"narrow\": never fires: rule \"wide\""),
            "{m:?}"
        );
        // A capped rule lets others through when it is capped: no shadowing.
        let mut capped = rules.clone();
        capped[0].caps.per_session = Some(1);
        assert_eq!(messages(&capped), Vec::<String>::new());
    }

    #[test]
    fn names_weights_dates_and_placeholders_are_checked() {
        let mut r = rule(
            "a",
            1,
            "hero",
            Condition::All(vec![
                Condition::PersonaIn(vec!["Buyers".into()]),
                Condition::Feature("sesions".into(), Cmp::Gt(1.0)),
            ]),
        );
        r.action.variants = vec![
            super::super::model::Variant {
                id: "A".into(),
                module: None,
                weight: 50,
            },
            super::super::model::Variant {
                id: "B".into(),
                module: None,
                weight: 40,
            },
        ];
        r.start = Some("2026-12-01".into());
        r.end = Some("2026-11-01".into());
        r.explanation = "Because {persna}".into();
        let m = messages(&[r]).join("\n");
        for want in [
            "unknown persona \"Buyers\" (did you mean the id \"segment_1\"",
            "unknown feature \"sesions\"",
            "variant weights sum to 90, not 100",
            "the end date is not after the start date",
            "the explanation uses {persna}",
        ] {
            assert!(m.contains(want), "missing {want:?} in\n{m}");
        }
    }
}
