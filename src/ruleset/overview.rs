//! A rule set in a few lines per part, for the people who hand it over: where it came from, the
//! features and segments, the personas, the models, the rules and the guardrails. The Export view
//! shows this above the raw file.

use super::RuleSet;
use crate::features::display;
use crate::predict::Fitted;

/// One part of the overview: its heading and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: &'static str,
    pub lines: Vec<String>,
}

pub fn overview(rs: &RuleSet) -> Vec<Section> {
    let s = |heading, lines| Section { heading, lines };
    let t = &rs.features.transform;
    let fp: String = rs.source.fingerprint.chars().take(12).collect();
    let mut out = vec![
        s(
            "Source",
            vec![format!(
                "{}: {}, {} users (SHA-256 {fp}…)",
                rs.source.file_name, rs.source.shape, rs.source.users
            )],
        ),
        s(
            "Features",
            vec![
                format!(
                    "{} in the segment vector ({:?} scaler): {}",
                    t.features.len(),
                    t.scaler,
                    t.features
                        .iter()
                        .map(|f| display::name(&f.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "{} profile features that rules may test",
                    rs.features.profile_features.len()
                ),
            ],
        ),
        s(
            "Segments",
            vec![format!(
                "{}, k = {}, seed {}; new users go to the nearest centroid",
                rs.segments.method, rs.segments.k, rs.segments.seed
            )],
        ),
        s(
            "Personas",
            rs.personas
                .iter()
                .map(|p| format!("segment {} ({}): {}", p.segment, p.id, p.name))
                .collect(),
        ),
    ];
    out.push(s(
        "Models",
        if rs.models.is_empty() {
            vec!["none (train one in Predict to give rules a churn or conversion score)".into()]
        } else {
            rs.models
                .iter()
                .map(|m| {
                    format!(
                        "{}: {} on {} features; low below {}, high from {}",
                        m.name,
                        match &m.model {
                            Fitted::Logistic(_) => "logistic regression".to_string(),
                            Fitted::Forest(f) =>
                                format!("random forest of {} trees", f.trees.len()),
                        },
                        m.transform.features.len(),
                        m.bands.0,
                        m.bands.1
                    )
                })
                .collect()
        },
    ));
    let enabled = rs.rules.iter().filter(|r| r.enabled).count();
    let mut slots: Vec<&str> = rs.rules.iter().map(|r| r.action.slot.as_str()).collect();
    slots.sort_unstable();
    slots.dedup();
    let mut rules = vec![format!(
        "{} rules ({enabled} enabled) on {} slots",
        rs.rules.len(),
        slots.len()
    )];
    let mut ordered: Vec<&crate::rules::Rule> = rs.rules.iter().collect();
    ordered.sort_by_key(|r| r.priority);
    for r in ordered {
        let mut line = format!(
            "{}. {}: {} in {}",
            r.priority, r.name, r.action.module, r.action.slot
        );
        if !r.action.variants.is_empty() {
            let v: Vec<String> = r
                .action
                .variants
                .iter()
                .map(|v| format!("{} {}%", v.id, v.weight))
                .collect();
            line.push_str(&format!(", variants {}", v.join(" / ")));
        }
        if r.action.holdout_percent > 0.0 {
            line.push_str(&format!(", {}% holdout", r.action.holdout_percent));
        }
        if !r.enabled {
            line.push_str(" (disabled)");
        }
        rules.push(line);
    }
    out.push(s("Rules", rules));
    let g = &rs.guardrails;
    out.push(s(
        "Guardrails",
        vec![
            match g.max_offers_per_session {
                Some(n) => format!("at most {n} personalised offers per session"),
                None => "no cap per session".into(),
            },
            match g.max_offers_per_day {
                Some(n) => format!("at most {n} per day"),
                None => "no cap per day".into(),
            },
            if g.require_consent {
                "only users who consented are personalised".into()
            } else {
                "consent is not required by the rule set".into()
            },
        ],
    ));
    out
}
