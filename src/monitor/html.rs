//! The monitoring report as one self-contained HTML page (tables and inline SVG charts), readable
//! without the app.

use std::fmt::Write as _;

use super::report::{Comparison, Report};

/// Text made safe for HTML (element content and quoted attributes).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", 100.0 * x)
    } else {
        "-".into()
    }
}

fn ci(c: (f64, f64)) -> String {
    format!("[{}, {}]", pct(c.0), pct(c.1))
}

/// A rate and its interval: two cells.
fn rate(x: f64, c: (f64, f64)) -> [String; 2] {
    [pct(x), ci(c)]
}

/// One table row of ready-made (already escaped) cells; `class` is empty or ` class="..."`.
fn row(s: &mut String, class: &str, cells: &[String]) {
    let _ = write!(s, "<tr{class}>");
    for c in cells {
        let _ = write!(s, "<td>{c}</td>");
    }
    s.push_str("</tr>");
}

/// Lift per variant with its 95% interval as error bars, around a zero line.
fn lift_chart(cs: &[&Comparison]) -> String {
    if cs.is_empty() {
        return String::new();
    }
    let (w, row) = (520.0, 26.0);
    let h = 30.0 + row * cs.len() as f64;
    let span = cs
        .iter()
        .flat_map(|c| [c.abs_ci.0.abs(), c.abs_ci.1.abs(), c.abs_lift.abs()])
        .filter(|v| v.is_finite())
        .fold(0.001, f64::max)
        * 1.1;
    let (left, right) = (170.0, w - 20.0);
    let x = |v: f64| left + (v + span) / (2.0 * span) * (right - left);
    let mut s = format!(
        "<svg width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"conversion lift with 95% intervals\">\
         <line x1=\"{0}\" x2=\"{0}\" y1=\"5\" y2=\"{1}\" stroke=\"#999\"/>\
         <text x=\"{0}\" y=\"{2}\" font-size=\"11\" text-anchor=\"middle\">0</text>\
         <text x=\"{left}\" y=\"{2}\" font-size=\"11\">{3}</text>\
         <text x=\"{right}\" y=\"{2}\" font-size=\"11\" text-anchor=\"end\">+{4}</text>",
        x(0.0),
        h - 20.0,
        h - 6.0,
        pct(-span),
        pct(span)
    );
    for (i, c) in cs.iter().enumerate() {
        let y = 18.0 + row * i as f64;
        let colour = if c.significant && c.abs_lift < 0.0 {
            "#d55e00"
        } else if c.significant {
            "#009e73"
        } else {
            "#0072b2"
        };
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 4.0,
            esc(&c.variant)
        );
        if c.abs_ci.0.is_finite() && c.abs_ci.1.is_finite() {
            let _ = write!(
                s,
                "<line x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>\
                 <line x1=\"{0}\" x2=\"{0}\" y1=\"{2}\" y2=\"{3}\" stroke=\"{colour}\"/>\
                 <line x1=\"{1}\" x2=\"{1}\" y1=\"{2}\" y2=\"{3}\" stroke=\"{colour}\"/>",
                x(c.abs_ci.0),
                x(c.abs_ci.1),
                y - 5.0,
                y + 5.0
            );
        }
        let _ = write!(
            s,
            "<circle cx=\"{}\" cy=\"{y}\" r=\"4\" fill=\"{colour}\"/>",
            x(c.abs_lift)
        );
    }
    s.push_str("</svg>");
    s
}

pub fn render(r: &Report) -> String {
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rule performance</title>\
         <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}\
         table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;\
         text-align:right}th:first-child,td:first-child{text-align:left}.bad{color:#d55e00}\
         .good{color:#009e73}li{margin:.2em 0}</style></head><body>",
    );
    let _ = write!(
        s,
        "<h1>Rule performance</h1><p>{} ({} rows). Rates are per user; intervals are 95% (Wilson for \
         rates, Newcombe for differences, log for ratios, a seeded bootstrap for revenue); p-values \
         are Holm-adjusted over the report's {} comparisons.</p>",
        esc(&r.outcomes),
        r.rows,
        r.rules.iter().map(|x| x.comparisons.len()).sum::<usize>()
    );
    s.push_str("<h2>Needs attention</h2>");
    if r.flags.is_empty() {
        s.push_str("<p>Nothing.</p>");
    } else {
        s.push_str("<ul>");
        for f in &r.flags {
            let _ = write!(s, "<li>{}</li>", esc(f));
        }
        s.push_str("</ul>");
    }
    for rule in &r.rules {
        let _ = write!(
            s,
            "<h2>{}{}</h2><table><tr><th>arm</th><th>users</th><th>CTR</th><th>95% CI</th>\
             <th>conversion</th><th>95% CI</th><th>revenue per user</th></tr>",
            esc(&rule.rule),
            if rule.name.is_empty() {
                String::new()
            } else {
                format!(": {}", esc(&rule.name))
            }
        );
        for a in &rule.arms {
            let cells = [
                &[esc(&a.arm), a.users.to_string()][..],
                &rate(a.ctr, a.ctr_ci),
                &rate(a.conversion_rate, a.conversion_ci),
                &[format!("{:.2}", a.revenue_per_user)],
            ];
            row(&mut s, "", &cells.concat());
        }
        s.push_str("</table>");
        if rule.comparisons.is_empty() {
            continue;
        }
        s.push_str(
            "<table><tr><th>variant vs control</th><th>metric</th><th>lift</th><th>95% CI</th>\
             <th>relative</th><th>95% CI</th><th>p</th><th>adjusted p</th><th>users needed per arm</th></tr>",
        );
        for c in &rule.comparisons {
            let class = match (c.significant, c.abs_lift < 0.0) {
                (true, true) => " class=\"bad\"",
                (true, false) => " class=\"good\"",
                _ => "",
            };
            row(
                &mut s,
                class,
                &[
                    esc(&c.variant),
                    c.metric.to_string(),
                    pct(c.abs_lift),
                    ci(c.abs_ci),
                    pct(c.rel_lift),
                    ci(c.rel_ci),
                    format!("{:.4}", c.p),
                    format!("{:.4}", c.p_adjusted),
                    c.needed_per_arm.map_or("-".into(), |n| format!("{n:.0}")),
                ],
            );
        }
        for v in &rule.revenue {
            let mut cells = vec![
                esc(&v.variant),
                "revenue per user".to_string(),
                format!("{:+.2}", v.lift),
                format!("[{:.2}, {:.2}]", v.ci.0, v.ci.1),
            ];
            cells.resize(9, String::new());
            row(&mut s, "", &cells);
        }
        s.push_str("</table><p>Conversion lift over control, with 95% intervals:</p>");
        let conv: Vec<&Comparison> = rule
            .comparisons
            .iter()
            .filter(|c| c.metric == "conversion")
            .collect();
        s.push_str(&lift_chart(&conv));
    }
    if !r.personas.is_empty() {
        s.push_str(
            "<h2>Personas</h2><table><tr><th>persona</th><th>users</th><th>conversion</th>\
             <th>95% CI</th><th>first half</th><th>second half</th><th>p of the change</th></tr>",
        );
        for p in &r.personas {
            let half = |h: Option<(u64, u64)>| {
                h.filter(|x| x.1 > 0).map_or("-".into(), |(k, n)| {
                    format!("{} of {n}", pct(k as f64 / n as f64))
                })
            };
            let change = p.change_p.map_or("-".into(), |x| format!("{x:.4}"));
            let cells = [
                &[esc(&p.persona), p.users.to_string()][..],
                &rate(p.conversion_rate, p.conversion_ci),
                &[half(p.first_half), half(p.second_half), change],
            ];
            row(&mut s, "", &cells.concat());
        }
        s.push_str("</table>");
    }
    s.push_str("</body></html>\n");
    s
}
