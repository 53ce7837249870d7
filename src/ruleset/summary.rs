//! The persona summary for strategists (Markdown): who each persona is, how many users, what sets them
//! apart, and which rules target them.

use std::fmt::Write as _;

use super::RuleSet;
use crate::cluster::ClusterProfile;
use crate::rules::Condition;
use crate::rules::describe::{describe, num};

/// A Markdown document; shares are drawn as text bars so it reads anywhere.
pub fn markdown(rs: &RuleSet, profiles: &[ClusterProfile]) -> String {
    let mut s = String::new();
    let names = |id: &str| rs.persona_name(id);
    let _ = writeln!(s, "# Personas\n");
    let _ = writeln!(
        s,
        "{} users of `{}` in {} segments ({}, seed {}); made with persona-lab {} on {}.\n",
        rs.source.users,
        rs.source.file_name,
        rs.segments.k,
        rs.segments.method.name(),
        rs.segments.seed,
        rs.app_version,
        rs.created
    );
    let _ = writeln!(s, "| persona | users | share | |\n|---|---:|---:|---|");
    for p in profiles {
        let name = rs.persona_of(p.id).map(|x| x.name.as_str()).unwrap_or("?");
        let bar = "█".repeat((p.share * 40.0).round() as usize);
        let _ = writeln!(
            s,
            "| {name} | {} | {:.1}% | {bar} |",
            p.size,
            100.0 * p.share
        );
    }
    for p in profiles {
        let Some(persona) = rs.persona_of(p.id) else {
            continue;
        };
        let _ = writeln!(s, "\n## {}\n", persona.name);
        if !persona.description.is_empty() {
            let _ = writeln!(s, "{}\n", persona.description);
        }
        let _ = writeln!(
            s,
            "{} users ({:.1}%), segment {}.\n",
            p.size,
            100.0 * p.share,
            p.id
        );
        if !persona.traits.is_empty() {
            let _ = writeln!(s, "**Traits:** {}\n", persona.traits.join("; "));
        }
        if !p.attributes.is_empty() {
            let who: Vec<String> = p
                .attributes
                .iter()
                .filter(|a| !a.values.is_empty())
                .map(|a| format!("{}: {}", a.attribute, a.describe()))
                .collect();
            let _ = writeln!(s, "**Who they are:** {}\n", who.join("; "));
        }
        if !persona.preferred_content.is_empty() {
            let _ = writeln!(
                s,
                "**Preferred content:** {}\n",
                persona.preferred_content.join(", ")
            );
        }
        let _ = writeln!(
            s,
            "| feature | mean | median | vs everyone (z) |\n|---|---:|---:|---:|"
        );
        let mut stats: Vec<_> = p.features.iter().collect();
        stats.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
        for f in stats.iter().take(8) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:+.2} |",
                f.feature,
                num(f.mean),
                num(f.median),
                f.z
            );
        }
        let targeting: Vec<String> = rs
            .rules
            .iter()
            .filter(|r| r.enabled && mentions(&r.when, &persona.id))
            .map(|r| {
                format!(
                    "- **{}** (priority {}): {} → `{}` in `{}`",
                    r.name,
                    r.priority,
                    describe(&r.when, &names),
                    r.action.module,
                    r.action.slot
                )
            })
            .collect();
        if !targeting.is_empty() {
            let _ = writeln!(
                s,
                "\n**Rules for this persona:**\n\n{}",
                targeting.join("\n")
            );
        }
    }
    s
}

/// Whether a condition names this persona.
fn mentions(c: &Condition, id: &str) -> bool {
    match c {
        Condition::PersonaIn(ids) | Condition::PersonaNotIn(ids) => ids.iter().any(|i| i == id),
        Condition::All(cs) | Condition::Any(cs) => cs.iter().any(|c| mentions(c, id)),
        Condition::Not(c) => mentions(c, id),
        _ => false,
    }
}
