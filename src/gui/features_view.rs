//! Features: which features make the clustering vector, their weights, log1p and the scaler, the
//! time-decay half-life, and live previews (histogram of a feature raw and transformed, the engagement
//! score's distribution, the correlation heatmap). Previews are computed on a worker thread whenever the
//! settings change and cached, so the view costs nothing per frame.

use egui::Color32;
use egui_plot::{Bar, BarChart, Legend, Plot};
use persona_lab::features::{FeatureChoice, Scaler};

use super::actions::{Action, Edit};
use super::cx::Cx;

pub use persona_lab::features::preview::{Hist, Preview};

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    let Some(profile) = cx.analysis.profile.clone() else {
        return;
    };
    let Some(mut spec) = cx.analysis.spec.clone() else {
        return;
    };
    let mut changed = false;
    ui.horizontal(|ui| {
        ui.heading("Features");
        if ui.button("Save view as PNG…").clicked() {
            cx.push(Action::AskFile(super::files::FilePurpose::ChartPng));
        }
        super::widgets::combo(ui, "scaler", "Scaler", format!("{:?}", spec.scaler), |ui| {
            for s in [
                Scaler::Standard,
                Scaler::Robust,
                Scaler::MinMax,
                Scaler::None,
            ] {
                changed |= ui
                    .selectable_value(&mut spec.scaler, s, format!("{s:?}"))
                    .changed();
            }
        });
        let mut cfg = cx.analysis.feature_config.clone();
        let label = ui.label("Decay half-life (days):");
        let r = ui
            .add(egui::DragValue::new(&mut cfg.half_life_days).range(0.5..=365.0))
            .labelled_by(label.id);
        if r.drag_stopped() || (r.lost_focus() && cfg != cx.analysis.feature_config) {
            cx.push(Action::ReloadFeatures(cfg));
            return;
        }
        // Device, platform, country...: clustered on as 0/1 features when asked for.
        if !profile.attributes.is_empty() {
            let names: Vec<&str> = profile.attributes.iter().map(|a| a.name.as_str()).collect();
            if ui
                .checkbox(&mut cfg.one_hot_attributes, "One-hot attributes")
                .on_hover_text(format!(
                    "One 0/1 feature per common value of {} (the user's most frequent value), \
                     chosen for clustering",
                    names.join(", ")
                ))
                .changed()
            {
                cx.push(Action::ReloadFeatures(cfg));
            }
        }
    });
    ui.separator();
    egui::Panel::left("feature_list")
        .resizable(true)
        .default_size(420.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                egui::Grid::new("features").striped(true).show(ui, |ui| {
                    ui.strong("use");
                    ui.strong("feature");
                    ui.strong("weight");
                    ui.strong("log1p");
                    ui.end_row();
                    for id in &profile.features {
                        let pos = spec.features.iter().position(|c| &c.id == id);
                        let mut on = pos.is_some();
                        if ui
                            .checkbox(&mut on, "")
                            .on_hover_text(format!("use {id}"))
                            .changed()
                        {
                            changed = true;
                            if on {
                                spec.features.push(FeatureChoice::new(id));
                            } else if let Some(p) = pos {
                                spec.features.remove(p);
                            }
                        }
                        if ui
                            .selectable_label(cx.state.feature_preview.as_deref() == Some(id), id)
                            .clicked()
                        {
                            cx.state.feature_preview = Some(id.clone());
                        }
                        if let Some(c) = spec.features.iter_mut().find(|c| &c.id == id) {
                            changed |= ui
                                .add(egui::Slider::new(&mut c.weight, 0.0..=5.0).step_by(0.1))
                                .on_hover_text(format!("weight of {id}"))
                                .changed();
                            let mut log = c.log1p.unwrap_or_else(|| {
                                persona_lab::features::catalogue::kind_of(id).default_log1p()
                            });
                            if ui
                                .checkbox(&mut log, "")
                                .on_hover_text(format!("log1p {id}"))
                                .changed()
                            {
                                c.log1p = Some(log);
                                changed = true;
                            }
                        } else {
                            ui.label("");
                            ui.label("");
                        }
                        ui.end_row();
                    }
                });
            });
        });
    if changed {
        cx.edit(Edit::Spec(spec.clone()));
        cx.push(Action::SettingsChanged);
    }
    // Made in the background for the spec in use (`PersonaApp::refresh_caches`); the last one stays
    // on screen while a new one is made.
    let Some(preview) = cx.caches.preview.clone() else {
        ui.spinner();
        return;
    };
    if let Some(e) = &preview.error {
        ui.label(egui::RichText::new(e).color(Color32::from_rgb(213, 94, 0)));
        return;
    }
    let id = cx
        .state
        .feature_preview
        .clone()
        .or_else(|| preview.hists.first().map(|h| h.0.clone()));
    let h = (ui.available_height() - 60.0) / 3.0;
    if let Some((name, raw, t)) = preview.hists.iter().find(|x| Some(&x.0) == id.as_ref()) {
        ui.label(format!(
            "{name}: raw and transformed (weighted) distribution"
        ));
        ui.columns(2, |cols| {
            hist(&mut cols[0], "raw", raw, h);
            hist(&mut cols[1], "transformed", t, h);
        });
    }
    ui.label("Engagement score (sum of the weighted, scaled features)");
    hist(ui, "engagement score", &preview.score, h);
    ui.label("Correlation of the clustering columns (orange positive, blue negative)");
    correlation(ui, &preview);
}

fn hist(ui: &mut egui::Ui, name: &str, (lo, w, counts): &Hist, height: f32) {
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar::new(lo + w * (i as f64 + 0.5), c as f64).width(*w))
        .collect();
    Plot::new(format!("hist_{name}"))
        .height(height.max(80.0))
        .legend(Legend::default())
        .allow_scroll(false)
        // `add` does not pick a colour for a bar chart the way `line` does: give it one.
        .show(ui, |p| {
            p.add(BarChart::new(name, bars).color(Color32::from_rgb(0, 114, 178)))
        });
}

fn correlation(ui: &mut egui::Ui, p: &Preview) {
    let d = p.corr_names.len();
    egui::ScrollArea::both().id_salt("corr").show(ui, |ui| {
        egui::Grid::new("corr_grid").show(ui, |ui| {
            ui.label("");
            for j in 0..d {
                ui.label(format!("{}", j + 1))
                    .on_hover_text(&p.corr_names[j]);
            }
            ui.end_row();
            for a in 0..d {
                ui.label(format!("{} {}", a + 1, p.corr_names[a]));
                for b in 0..d {
                    let r = p.corr[a * d + b];
                    let alpha = (r.abs().min(1.0) * 150.0) as u8;
                    let bg = if r >= 0.0 {
                        Color32::from_rgba_unmultiplied(230, 159, 0, alpha)
                    } else {
                        Color32::from_rgba_unmultiplied(0, 114, 178, alpha)
                    };
                    egui::Frame::new().fill(bg).show(ui, |ui| {
                        ui.label(format!("{r:+.2}"))
                            .on_hover_text(format!("{} vs {}", p.corr_names[a], p.corr_names[b]));
                    });
                }
                ui.end_row();
            }
        });
    });
}
