//! The persona summary for strategists, as Markdown and as one self-contained HTML page with charts
//! (inline SVG: the personas' shares, and per persona its standout features against everyone): who
//! each persona is, how many users, what sets them apart, and which rules target them.

use std::fmt::Write as _;

use super::RuleSet;
use crate::cluster::ClusterProfile;
use crate::features::display;
use crate::monitor::html::esc;
use crate::palette::cluster_rgb;
use crate::rules::Condition;
use crate::rules::describe::describe;

/// A Markdown document; shares are drawn as text bars so it reads anywhere.
pub fn markdown(rs: &RuleSet, profiles: &[ClusterProfile]) -> String {
    let mut s = String::new();
    let everyone = crate::cluster::everyone(profiles);
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
    let _ = writeln!(
        s,
        "| persona | users | share | share of revenue | |\n|---|---:|---:|---:|---|"
    );
    for p in profiles {
        let name = rs.persona_of(p.id).map(|x| x.name.as_str()).unwrap_or("?");
        let bar = "█".repeat((p.share * 40.0).round() as usize);
        let _ = writeln!(
            s,
            "| {name} | {} | {:.1}% | {} | {bar} |",
            p.size,
            100.0 * p.share,
            revenue_share(p, everyone.as_ref())
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
        let who = p.who();
        if !who.is_empty() {
            let _ = writeln!(s, "**Who they are:** {}\n", who.join("; "));
        }
        if let Some(v) = p.value_line(everyone.as_ref()) {
            let _ = writeln!(s, "**Value:** {v}\n");
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
                display::name(&f.feature),
                display::value(&f.feature, f.mean),
                display::value(&f.feature, f.median),
                f.z
            );
        }
        let targeting: Vec<String> = rules_for(rs, &persona.id)
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

/// A persona's share of everyone's revenue, "-" without revenue.
fn revenue_share(p: &ClusterProfile, everyone: Option<&crate::cluster::Value>) -> String {
    p.value
        .as_ref()
        .zip(everyone)
        .and_then(|(v, all)| v.revenue_share(all))
        .map_or("-".into(), crate::cluster::value::percent)
}

fn rgb(c: usize) -> String {
    let [r, g, b] = cluster_rgb(c);
    format!("rgb({r},{g},{b})")
}

/// The same summary as one HTML page that opens anywhere (no scripts, no external files): a bar per
/// persona for its share, and per persona a diverging bar chart of its standout features (z-score
/// against everyone, figures in the features' units beside them).
pub fn html(rs: &RuleSet, profiles: &[ClusterProfile]) -> String {
    let names = |id: &str| rs.persona_name(id);
    let everyone = crate::cluster::everyone(profiles);
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Personas</title>\
         <style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}\
         h2{margin-top:2em;border-bottom:1px solid #ddd}.muted{color:#666}\
         table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left}</style></head><body>",
    );
    let _ = write!(
        s,
        "<h1>Personas</h1><p class=\"muted\">{} users of {} in {} segments ({}, seed {}); made \
         with persona-lab {} on {}.</p>",
        rs.source.users,
        esc(&rs.source.file_name),
        rs.segments.k,
        rs.segments.method.name(),
        rs.segments.seed,
        esc(&rs.app_version),
        esc(&rs.created)
    );
    // Shares.
    let row = 26;
    let _ = write!(
        s,
        "<svg width=\"860\" height=\"{}\" role=\"img\" aria-label=\"share of users per persona\">",
        row * profiles.len() + 4
    );
    for (i, p) in profiles.iter().enumerate() {
        let name = rs.persona_of(p.id).map(|x| x.name.as_str()).unwrap_or("?");
        let y = i * row;
        let w = (p.share * 500.0).round();
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
             <rect x=\"250\" y=\"{}\" width=\"{w}\" height=\"18\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{} users, {:.1}%{}</text>",
            y + 15,
            esc(name),
            y + 2,
            rgb(p.id),
            255.0 + w,
            y + 15,
            p.size,
            100.0 * p.share,
            match revenue_share(p, everyone.as_ref()) {
                r if r == "-" => String::new(),
                r => format!("; {r} of the revenue"),
            }
        );
    }
    s.push_str("</svg>");
    for p in profiles {
        let Some(persona) = rs.persona_of(p.id) else {
            continue;
        };
        let _ = write!(
            s,
            "<h2 style=\"color:{}\">{}</h2><p>{}</p><p class=\"muted\">{} users ({:.1}%), segment {}.</p>",
            rgb(p.id),
            esc(&persona.name),
            esc(&persona.description),
            p.size,
            100.0 * p.share,
            p.id
        );
        let who = p.who();
        if !who.is_empty() {
            let _ = write!(s, "<p><b>Who they are:</b> {}</p>", esc(&who.join("; ")));
        }
        if let Some(v) = p.value_line(everyone.as_ref()) {
            let _ = write!(s, "<p><b>Value:</b> {}</p>", esc(&v));
        }
        if !persona.preferred_content.is_empty() {
            let _ = write!(
                s,
                "<p><b>Preferred content:</b> {}</p>",
                esc(&persona.preferred_content.join(", "))
            );
        }
        // Standout features: bars from the centre, right = above everyone, left = below.
        let mut stats: Vec<_> = p.features.iter().collect();
        stats.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
        let stats: Vec<_> = stats.into_iter().take(8).collect();
        let zmax = stats.iter().map(|f| f.z.abs()).fold(1.0f64, f64::max);
        let _ = write!(
            s,
            "<svg width=\"860\" height=\"{}\" role=\"img\" aria-label=\"standout features of {}\">\
             <line x1=\"480\" y1=\"0\" x2=\"480\" y2=\"{}\" stroke=\"#999\"/>",
            row * stats.len() + 4,
            esc(&persona.name),
            row * stats.len() + 4
        );
        for (i, f) in stats.iter().enumerate() {
            let y = i * row;
            let len = (f.z.abs() / zmax * 150.0).round();
            let x = if f.z >= 0.0 { 480.0 } else { 480.0 - len };
            let _ = write!(
                s,
                "<text x=\"0\" y=\"{}\" font-size=\"13\">{}: {}</text>\
                 <rect x=\"{x}\" y=\"{}\" width=\"{len}\" height=\"16\" fill=\"{}\"/>\
                 <text x=\"640\" y=\"{}\" font-size=\"12\" fill=\"#666\">z {:+.2}</text>",
                y + 15,
                esc(&display::name(&f.feature)),
                esc(&display::value(&f.feature, f.mean)),
                y + 3,
                rgb(p.id),
                y + 15,
                f.z
            );
        }
        s.push_str("</svg>");
        let targeting: Vec<String> = rules_for(rs, &persona.id)
            .map(|r| {
                format!(
                    "<li><b>{}</b> (priority {}): {} → {} in {}</li>",
                    esc(&r.name),
                    r.priority,
                    esc(&describe(&r.when, &names)),
                    esc(&r.action.module),
                    esc(&r.action.slot)
                )
            })
            .collect();
        if !targeting.is_empty() {
            let _ = write!(
                s,
                "<p><b>Rules for this persona:</b></p><ul>{}</ul>",
                targeting.join("")
            );
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// The enabled rules whose condition names a persona.
fn rules_for<'a>(
    rs: &'a RuleSet,
    persona: &'a str,
) -> impl Iterator<Item = &'a crate::rules::Rule> {
    rs.rules
        .iter()
        .filter(move |r| r.enabled && mentions(&r.when, persona))
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
