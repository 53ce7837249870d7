//! Personas: one card per segment with an editable name and description, the traits that set it apart,
//! and the suggested name derived from them.

use std::sync::Arc;

use egui::RichText;
use persona_lab::cluster::Stability;
use persona_lab::cluster::stability::STABLE_ENOUGH;

use super::actions::{Action, Edit};
use super::charts::colour;
use super::cx::Cx;

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    let Some(run) = cx.analysis.run.clone() else {
        return;
    };
    ui.horizontal(|ui| {
        ui.heading("Personas");
        if ui.button("Save view as PNG…").clicked() {
            cx.push(Action::AskFile(super::files::FilePurpose::ChartPng));
        }
    });
    let k = run.segmentation.k;
    // Everyone's value, the cards' yardstick (a sum over the k segments).
    let everyone = persona_lab::cluster::everyone(&run.profiles);
    // Churn / conversion propensity per persona, when a model is trained.
    let risk = cx.caches.risk(cx.analysis);
    let score_name = cx
        .analysis
        .prediction
        .as_ref()
        .map(|p| p.model.name.clone());
    let score_target = cx.analysis.prediction.as_ref().map(|p| p.params.target);
    // Stability of this run's segments, once computed (it runs after each clustering).
    let stability = cx
        .analysis
        .stability
        .as_ref()
        .filter(|(r, _)| Arc::ptr_eq(r, &run))
        .map(|(_, s)| s.clone());
    let mut merge: Option<(usize, usize)> = None;
    let mut split: Option<usize> = None;
    let mut edits = Vec::new();
    let names = cx.analysis.persona_names(k);
    egui::ScrollArea::vertical().show(ui, |ui| {
        overview(
            ui,
            &run,
            &names,
            everyone.as_ref(),
            risk.as_deref().zip(score_name.as_deref().zip(score_target)),
        );
        for (i, persona) in cx.analysis.personas.iter().enumerate() {
            // Edited on a copy, sent as an edit when it changed.
            let mut edited = persona.clone();
            let p = &mut edited;
            let prof = &run.profiles[p.segment.min(run.profiles.len() - 1)];
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!("Segment {}", p.segment))
                            .strong()
                            .color(colour(p.segment)),
                    );
                    ui.label(format!("{} users ({:.1}%)", prof.size, 100.0 * prof.share));
                    ui.label(format!(
                        "mean silhouette {:.3}",
                        run.silhouette.cluster_means[p.segment]
                    ));
                    stability_label(ui, stability.as_deref(), p.segment);
                });
                ui.horizontal(|ui| {
                    let l = ui.label("Name");
                    ui.add(
                        egui::TextEdit::singleline(&mut p.name)
                            .id_salt(("persona_name", i))
                            .desired_width(420.0),
                    )
                    .labelled_by(l.id);
                    let suggested = &run.suggested[p.segment].name;
                    if &p.name != suggested
                        && ui
                            .button("Use suggestion")
                            .on_hover_text(suggested)
                            .clicked()
                    {
                        p.name = suggested.clone();
                    }
                });
                ui.horizontal(|ui| {
                    let l = ui.label("Description");
                    ui.add(
                        egui::TextEdit::multiline(&mut p.description)
                            .desired_rows(2)
                            .desired_width(420.0)
                            .id_salt(("persona_desc", i)),
                    )
                    .labelled_by(l.id);
                });
                ui.horizontal(|ui| {
                    let l = ui.label("Preferred content");
                    // Edited as one comma-separated line; stored as a list in the rule set.
                    let mut text = p.preferred_content.join(", ");
                    let r = ui
                        .add(
                            egui::TextEdit::singleline(&mut text)
                                .hint_text("e.g. new arrivals, video lookbooks, discounts")
                                .desired_width(420.0)
                                .id_salt(("persona_content", i)),
                        )
                        .labelled_by(l.id);
                    if r.changed() {
                        p.preferred_content = split_list(&text);
                    }
                });
                ui.label(format!(
                    "Traits: {}",
                    run.suggested[p.segment].traits.join("; ")
                ));
                // Who the users are (platform, device, country, channel): shares the core computed.
                if let Some(prof) = run.profiles.get(p.segment) {
                    let who = prof.who();
                    if !who.is_empty() {
                        ui.label(format!("Who they are: {}", who.join(" · ")));
                    }
                    if let Some(v) = prof.value_line(everyone.as_ref()) {
                        ui.label(format!("Value: {v}"));
                    }
                }
                if let (Some(r), Some(name)) = (&risk, &score_name)
                    && let Some(s) = r.by_segment.get(p.segment)
                    && s.users > 0
                {
                    let mut text = format!(
                        "{name}: mean {:.2}, {:.0}% in the high band ({} users scored)",
                        s.mean,
                        100.0 * s.high_share,
                        s.users
                    );
                    if let (Some(a), Some(target)) = (
                        r.at_risk.as_ref().and_then(|a| a.get(p.segment)),
                        score_target,
                    ) {
                        text.push_str(&format!(
                            "; {}: {}",
                            persona_lab::predict::AtRisk::heading(target),
                            a.amount()
                        ));
                    }
                    ui.label(text);
                }
                ui.horizontal(|ui| {
                    let label = format!("Merge segment {} into", p.segment);
                    super::widgets::combo(ui, ("merge", i), &label, "choose…", |ui| {
                        for other in (0..k).filter(|&o| o != p.segment) {
                            if ui
                                .selectable_label(false, format!("segment {other}"))
                                .clicked()
                            {
                                merge = Some((other, p.segment));
                            }
                        }
                    });
                    if ui
                        .button(format!("Split segment {} in two", p.segment))
                        .clicked()
                    {
                        split = Some(p.segment);
                    }
                });
            });
            if edited != *persona {
                edits.push((i, edited));
            }
        }
    });
    for (i, p) in edits {
        cx.edit(Edit::Persona(i, p));
    }
    if let Some((a, b)) = merge {
        cx.push(Action::MergeSegments(a, b));
    }
    if let Some(c) = split {
        cx.push(Action::SplitSegment(c));
    }
}

/// The personas side by side, what a strategist weighs them by: size, share of the revenue, revenue
/// per user and buyers (when the export has revenue or purchases), and with a trained model its mean
/// score and the high band's revenue. Figures from the core (`cluster::Value`, `predict::SegmentRisk`).
fn overview(
    ui: &mut egui::Ui,
    run: &persona_lab::pipeline::ClusterRun,
    names: &[String],
    everyone: Option<&persona_lab::cluster::Value>,
    risk: Option<(
        &persona_lab::predict::SegmentRisk,
        (&str, persona_lab::predict::Target),
    )>,
) {
    use persona_lab::cluster::value::percent;
    use persona_lab::features::display;
    let money = |v: Option<f64>| v.map_or("-".to_string(), |v| display::value("revenue", v));
    let mut header = vec!["persona", "users", "share of users"];
    if everyone.is_some() {
        header.extend(["share of revenue", "revenue per user", "bought"]);
    }
    let mean_heading = risk.map(|(_, (name, _))| format!("mean {name}"));
    if let (Some(h), Some((r, (_, target)))) = (&mean_heading, risk) {
        header.push(h);
        if r.at_risk.is_some() {
            header.push(persona_lab::predict::AtRisk::heading(target));
        }
    }
    let rows: Vec<Vec<String>> = run
        .profiles
        .iter()
        .map(|prof| {
            let mut row = vec![
                names.get(prof.id).cloned().unwrap_or_default(),
                prof.size.to_string(),
                percent(prof.share),
            ];
            if let Some(all) = everyone {
                let v = prof.value.as_ref();
                row.push(
                    v.and_then(|v| v.revenue_share(all))
                        .map_or("-".into(), percent),
                );
                row.push(money(v.and_then(|v| v.revenue_per_user())));
                row.push(v.map_or("-".into(), |v| percent(v.buyer_share())));
            }
            if let Some((r, _)) = risk {
                let s = r.by_segment.get(prof.id).filter(|s| s.users > 0);
                row.push(s.map_or("-".into(), |s| format!("{:.2}", s.mean)));
                if let Some(a) = &r.at_risk {
                    row.push(a.get(prof.id).map_or("-".into(), |a| a.amount()));
                }
            }
            row
        })
        .collect();
    let segments: Vec<usize> = run.profiles.iter().map(|p| p.id).collect();
    super::widgets::persona_table(
        ui,
        "personas_overview",
        "All personas",
        &header,
        &rows,
        &segments,
    );
    ui.add_space(6.0);
}

/// A comma-separated line as a list: items trimmed, empty ones dropped (a trailing comma while typing
/// is kept so the user can go on typing the next item).
pub fn split_list(text: &str) -> Vec<String> {
    let mut items: Vec<String> = text
        .split(',')
        .map(|s| s.trim_start().to_string())
        .filter(|s| !s.trim().is_empty())
        .collect();
    if text.trim_end().ends_with(',') {
        items.push(String::new());
    }
    items
}

/// "stability 0.97" on a card: how much of the segment comes back when the users are re-clustered.
fn stability_label(ui: &mut egui::Ui, s: Option<&Stability>, segment: usize) {
    let Some(v) = s.and_then(|s| s.per_segment.get(segment).map(|v| (*v, s.resamples))) else {
        ui.label(RichText::new("stability: computing…").weak());
        return;
    };
    let (v, resamples) = v;
    let text = if v < STABLE_ENOUGH {
        RichText::new(format!("stability {v:.2}: not to be trusted"))
            .color(ui.visuals().warn_fg_color)
    } else {
        RichText::new(format!("stability {v:.2}"))
    };
    ui.label(text).on_hover_text(format!(
        "How often this segment's users stay together: the users were clustered again on \
         {resamples} seeded samples of 80%, and this is the mean best overlap (Jaccard) of the \
         segment with a cluster of each. 1 = it always comes back whole; under {STABLE_ENOUGH} the \
         persona may be an accident of this sample."
    ));
}

#[cfg(test)]
mod tests {
    use super::split_list;

    #[test]
    fn content_types_are_a_comma_separated_list() {
        assert_eq!(
            split_list("new arrivals,  video , "),
            ["new arrivals", "video ", ""]
        );
        assert_eq!(split_list(""), Vec::<String>::new());
        assert_eq!(split_list(" , ,sale"), ["sale"]);
    }
}
