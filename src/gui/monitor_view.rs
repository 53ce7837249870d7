//! Monitor: how the deployed rules perform (an outcomes export against each rule's holdout: rates,
//! lifts with intervals, adjusted tests, what needs attention, conversion per persona) and how the
//! segments drifted (a deployed rule set against the current analysis: transition heatmap, where each
//! segment's users went, the verdict). The numbers come from `persona_lab::monitor`; work runs on
//! workers.

use egui::{Color32, RichText};
use egui_plot::{Legend, Plot, PlotPoints, Points};
use persona_lab::monitor::{drift, report};

use super::actions::Action;
use super::charts::colour;
use super::cx::Cx;
use super::files::FilePurpose;

const BAD: Color32 = Color32::from_rgb(213, 94, 0);
const GOOD: Color32 = Color32::from_rgb(0, 158, 115);

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Monitor");
        if ui.button("Save view as PNG…").clicked() {
            cx.push(Action::AskFile(FilePurpose::ChartPng));
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("monitor")
        .show(ui, |ui| {
            let (monitor, drift) = (cx.analysis.monitor.clone(), cx.analysis.drift.clone());
            section(
                cx,
                ui,
                ("Rule performance", "Open outcomes export…"),
                FilePurpose::OpenOutcomes,
                monitor,
                |ui, r| performance(ui, r),
                "An outcomes export has one row per exposure: user, rule id, variant or a holdout \
                 flag, time, clicked, converted, revenue (and optionally persona).",
            );
            ui.separator();
            section(
                cx,
                ui,
                ("Segment drift", "Compare with a deployed rule set…"),
                FilePurpose::CompareDeployed,
                drift,
                |ui, d| drift_ui(ui, d),
                "Puts the users of the loaded export into the deployed rule set's segments and \
                 into the current analysis's, and shows how they moved.",
            );
        });
}

/// A titled section with the button that asks for its input, then its result, or what it needs.
fn section<T>(
    cx: &mut Cx,
    ui: &mut egui::Ui,
    (title, button): (&str, &str),
    ask: FilePurpose,
    result: Option<T>,
    show: impl FnOnce(&mut egui::Ui, &T),
    needs: &str,
) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(title).strong());
        if ui.button(button).clicked() {
            cx.push(Action::AskFile(ask));
        }
    });
    match result {
        Some(r) => show(ui, &r),
        None => {
            ui.label(needs);
        }
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", 100.0 * x)
    } else {
        "-".into()
    }
}

fn performance(ui: &mut egui::Ui, r: &report::Report) {
    ui.label(format!(
        "{}: {} rows; 95% intervals; p-values Holm-adjusted over {} comparisons",
        r.outcomes,
        r.rows,
        r.rules.iter().map(|x| x.comparisons.len()).sum::<usize>()
    ));
    if r.flags.is_empty() {
        ui.label(RichText::new("Nothing needs attention.").color(GOOD));
    }
    for f in &r.flags {
        let bad = f.contains("significantly worse") || f.contains("fell");
        ui.label(RichText::new(f).color(if bad { BAD } else { ui.visuals().text_color() }));
    }
    for rule in &r.rules {
        ui.add_space(6.0);
        ui.label(
            RichText::new(if rule.name.is_empty() {
                rule.rule.clone()
            } else {
                format!("{} ({})", rule.name, rule.rule)
            })
            .strong(),
        );
        super::widgets::table(
            ui,
            ("arms", &rule.rule),
            &[
                "arm",
                "users",
                "CTR",
                "conversion",
                "95% CI",
                "revenue / user",
            ],
            |ui| {
                for a in &rule.arms {
                    ui.label(&a.arm);
                    ui.label(a.users.to_string());
                    ui.label(pct(a.ctr));
                    ui.label(pct(a.conversion_rate));
                    ui.label(format!(
                        "[{}, {}]",
                        pct(a.conversion_ci.0),
                        pct(a.conversion_ci.1)
                    ));
                    ui.label(format!("{:.2}", a.revenue_per_user));
                    ui.end_row();
                }
            },
        );
        if rule.comparisons.is_empty() {
            continue;
        }
        egui::Grid::new(("cmp", &rule.rule))
            .striped(true)
            .show(ui, |ui| {
                for h in [
                    "vs control",
                    "metric",
                    "lift",
                    "95% CI",
                    "relative",
                    "adjusted p",
                ] {
                    let r = ui.label(RichText::new(h).weak());
                    if h == "lift" {
                        super::help::explain(r, super::help::Term::Lift);
                    }
                }
                ui.end_row();
                for c in &rule.comparisons {
                    let text = |s: String| {
                        let t = RichText::new(s);
                        match (c.significant, c.abs_lift < 0.0) {
                            (true, true) => t.color(BAD),
                            (true, false) => t.color(GOOD),
                            _ => t,
                        }
                    };
                    ui.label(text(c.variant.clone()));
                    ui.label(&c.metric);
                    ui.label(text(format!("{:+.2} pts", 100.0 * c.abs_lift)));
                    ui.label(format!(
                        "[{:+.2}, {:+.2}]",
                        100.0 * c.abs_ci.0,
                        100.0 * c.abs_ci.1
                    ));
                    ui.label(pct(c.rel_lift));
                    ui.label(format!("{:.4}", c.p_adjusted));
                    ui.end_row();
                }
            });
        lift_plot(ui, rule);
    }
    if r.personas.iter().any(|p| p.weekly.len() > 1) {
        ui.add_space(6.0);
        ui.label(
            RichText::new("Conversion by persona over time (week of first exposure)").strong(),
        );
        Plot::new("persona_weekly")
            .height(200.0)
            .legend(super::charts::persona_legend())
            .x_axis_label("week")
            .y_axis_label("conversion %")
            .allow_scroll(false)
            .show(ui, |pl| {
                for (i, p) in r.personas.iter().enumerate() {
                    let pts: Vec<[f64; 2]> = p
                        .weekly
                        .iter()
                        .filter(|w| w.1 > 0)
                        .map(|&(w, n, k)| [f64::from(w), 100.0 * k as f64 / n as f64])
                        .collect();
                    pl.line(
                        super::charts::line(p.persona.clone(), PlotPoints::new(pts))
                            .color(colour(i)),
                    );
                }
            });
    }
    if !r.personas.is_empty() {
        ui.add_space(6.0);
        ui.label(
            RichText::new("Conversion by persona, first and second half of the period").strong(),
        );
        super::widgets::table(
            ui,
            "personas_monitor",
            &[
                "persona",
                "users",
                "conversion",
                "first half",
                "second half",
                "p",
            ],
            |ui| {
                for p in &r.personas {
                    let half = |h: Option<(u64, u64)>| {
                        h.filter(|x| x.1 > 0)
                            .map_or("-".into(), |(k, n)| pct(k as f64 / n as f64))
                    };
                    ui.label(&p.persona);
                    ui.label(p.users.to_string());
                    ui.label(pct(p.conversion_rate));
                    ui.label(half(p.first_half));
                    ui.label(half(p.second_half));
                    ui.label(p.change_p.map_or("-".into(), |x| format!("{x:.4}")));
                    ui.end_row();
                }
            },
        );
    }
}

/// Conversion lift per variant with its 95% interval as an error bar.
fn lift_plot(ui: &mut egui::Ui, rule: &report::RuleReport) {
    let conv: Vec<&report::Comparison> = rule
        .comparisons
        .iter()
        .filter(|c| c.metric == "conversion")
        .collect();
    Plot::new(("lift", &rule.rule))
        .height(40.0 + 30.0 * conv.len() as f32)
        .legend(Legend::default())
        .x_axis_label("conversion lift over control (points)")
        .show_y(false)
        .allow_scroll(false)
        .show(ui, |pl| {
            pl.line(
                super::charts::line(
                    "no effect",
                    PlotPoints::new(vec![[0.0, -0.5], [0.0, conv.len() as f64 - 0.5]]),
                )
                .color(Color32::GRAY),
            );
            for (i, c) in conv.iter().enumerate() {
                let y = i as f64;
                // As in the tables: worse in red-orange, better in green, undecided in blue.
                let col = match (c.significant, c.abs_lift < 0.0) {
                    (true, true) => BAD,
                    (true, false) => GOOD,
                    _ => Color32::from_rgb(0, 114, 178),
                };
                if c.abs_ci.0.is_finite() && c.abs_ci.1.is_finite() {
                    pl.line(
                        super::charts::line(
                            c.variant.clone(),
                            PlotPoints::new(vec![[100.0 * c.abs_ci.0, y], [100.0 * c.abs_ci.1, y]]),
                        )
                        .color(col)
                        .width(2.0),
                    );
                }
                pl.points(
                    Points::new(c.variant.clone(), vec![[100.0 * c.abs_lift, y]])
                        .radius(4.0)
                        .color(col),
                );
            }
        });
}

fn drift_ui(ui: &mut egui::Ui, d: &drift::Drift) {
    ui.label(RichText::new(&d.recommendation).strong().color(
        if d.recommendation.starts_with("keep") {
            GOOD
        } else {
            BAD
        },
    ));
    ui.label(format!(
        "{} users; deployed segments (rows) against the current analysis (columns); {:.1}% changed; \
         deployed silhouette on this data {:.3}",
        d.users,
        100.0 * d.changed_share,
        d.deployed_silhouette
    ));
    let max = d
        .transitions
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f32;
    egui::Grid::new("transitions").show(ui, |ui| {
        ui.label("");
        for b in 0..d.new_k {
            ui.label(RichText::new(format!("new {b}")).color(colour(b)));
        }
        ui.end_row();
        for (a, row) in d.transitions.iter().enumerate() {
            ui.label(
                RichText::new(format!("deployed {a}: {}", d.flows[a].old_persona)).color(colour(a)),
            );
            for &c in row {
                let alpha = (c as f32 / max * 200.0) as u8;
                egui::Frame::new()
                    .fill(Color32::from_rgba_unmultiplied(0, 114, 178, alpha))
                    .inner_margin(4.0)
                    .show(ui, |ui| {
                        ui.label(c.to_string());
                    });
            }
            ui.end_row();
        }
    });
    flow_chart(ui, d);
    for f in &d.flows {
        let mut shifts = f.shifts.clone();
        shifts.sort_by(|a, b| b.in_scale_units.abs().total_cmp(&a.in_scale_units.abs()));
        let top: Vec<String> = shifts
            .iter()
            .take(3)
            .filter(|s| s.in_scale_units.abs() > 0.05)
            .map(|s| format!("{} {:+.2}", s.feature, s.in_scale_units))
            .collect();
        ui.label(format!(
            "{}: {:.1}% went to new segment {} ({}){}",
            f.old_persona,
            100.0 * f.stayed_share,
            f.to.map_or("-".into(), |b| b.to_string()),
            f.to_persona,
            if top.is_empty() {
                String::new()
            } else {
                format!("; centroid moved: {}", top.join(", "))
            }
        ));
    }
}

/// Flows between personas: deployed segments on the left, the current ones on the right, a band per
/// (deployed, current) pair as wide as the users who went that way.
fn flow_chart(ui: &mut egui::Ui, d: &drift::Drift) {
    use egui::{Align2, FontId, Pos2, Shape, Stroke, vec2};
    let (w, h) = (640.0_f32, 260.0_f32);
    let (rect, _) = ui.allocate_exact_size(vec2(w, h), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let total = d.users.max(1) as f32;
    let gap = 6.0;
    let stack = |sizes: &[usize]| -> Vec<(f32, f32)> {
        let usable = h - gap * (sizes.len().saturating_sub(1)) as f32;
        let mut y = rect.top();
        sizes
            .iter()
            .map(|&n| {
                let hh = usable * n as f32 / total;
                let out = (y, hh);
                y += hh + gap;
                out
            })
            .collect()
    };
    let left_sizes: Vec<usize> = d.transitions.iter().map(|r| r.iter().sum()).collect();
    let right_sizes: Vec<usize> = (0..d.new_k)
        .map(|b| d.transitions.iter().map(|r| r[b]).sum())
        .collect();
    let (left, right) = (stack(&left_sizes), stack(&right_sizes));
    let (x0, x1) = (rect.left() + 230.0, rect.right() - 110.0);
    let mut right_used = vec![0.0_f32; d.new_k];
    for (a, row) in d.transitions.iter().enumerate() {
        let mut left_used = 0.0_f32;
        let scale_l = if left_sizes[a] > 0 {
            left[a].1 / left_sizes[a] as f32
        } else {
            0.0
        };
        for (b, &c) in row.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let scale_r = if right_sizes[b] > 0 {
                right[b].1 / right_sizes[b] as f32
            } else {
                0.0
            };
            let (lt, lb) = (
                left[a].0 + left_used,
                left[a].0 + left_used + scale_l * c as f32,
            );
            let (rt, rb) = (
                right[b].0 + right_used[b],
                right[b].0 + right_used[b] + scale_r * c as f32,
            );
            left_used += scale_l * c as f32;
            right_used[b] += scale_r * c as f32;
            let fill = colour(a).gamma_multiply(0.45);
            painter.add(Shape::convex_polygon(
                vec![
                    Pos2::new(x0, lt),
                    Pos2::new(x1, rt),
                    Pos2::new(x1, rb),
                    Pos2::new(x0, lb),
                ],
                fill,
                Stroke::NONE,
            ));
        }
    }
    let text = ui.visuals().text_color();
    for (a, &(y, hh)) in left.iter().enumerate() {
        painter.rect_filled(
            egui::Rect::from_min_size(Pos2::new(x0 - 8.0, y), vec2(8.0, hh)),
            0.0,
            colour(a),
        );
        painter.text(
            Pos2::new(x0 - 12.0, y + hh / 2.0),
            Align2::RIGHT_CENTER,
            {
                // Long generated names are cut so the label fits left of the bars.
                let name = &d.flows[a].old_persona;
                let short: String = name.chars().take(28).collect();
                let dots = if name.chars().count() > 28 { "…" } else { "" };
                format!("{short}{dots} ({})", left_sizes[a])
            },
            FontId::proportional(11.0),
            text,
        );
    }
    for (b, &(y, hh)) in right.iter().enumerate() {
        painter.rect_filled(
            egui::Rect::from_min_size(Pos2::new(x1, y), vec2(8.0, hh)),
            0.0,
            colour(b),
        );
        painter.text(
            Pos2::new(x1 + 12.0, y + hh / 2.0),
            Align2::LEFT_CENTER,
            format!("new {b} ({})", right_sizes[b]),
            FontId::proportional(11.0),
            text,
        );
    }
}
