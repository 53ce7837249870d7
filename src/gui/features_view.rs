//! Features: which features make the clustering vector, their weights, log1p and the scaler, the
//! time-decay half-life, and live previews (histogram of a feature raw and transformed, the engagement
//! score's distribution).

use egui_plot::{Bar, BarChart, Legend, Plot};
use persona_lab::features::{FeatureChoice, Scaler, transform};

use super::app::PersonaApp;
use super::charts;

pub fn show(app: &mut PersonaApp, ui: &mut egui::Ui) {
    let Some(profile) = app.analysis.profile.clone() else {
        return;
    };
    let Some(mut spec) = app.analysis.spec.clone() else {
        return;
    };
    let mut changed = false;
    ui.horizontal(|ui| {
        ui.heading("Features");
        egui::ComboBox::from_label("Scaler")
            .selected_text(format!("{:?}", spec.scaler))
            .show_ui(ui, |ui| {
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
        let mut cfg = app.analysis.feature_config.clone();
        let label = ui.label("Decay half-life (days):");
        let r = ui
            .add(egui::DragValue::new(&mut cfg.half_life_days).range(0.5..=365.0))
            .labelled_by(label.id);
        if r.drag_stopped() || (r.lost_focus() && cfg != app.analysis.feature_config) {
            app.reload_features(cfg);
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
                            .selectable_label(
                                app.ui_state.feature_preview.as_deref() == Some(id),
                                id,
                            )
                            .clicked()
                        {
                            app.ui_state.feature_preview = Some(id.clone());
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
        app.analysis.spec = Some(spec.clone());
        app.settings_changed();
    }
    // Previews on the right: the selected feature and the engagement score.
    let fitted = transform::fit(&profile, &spec);
    let id = app
        .ui_state
        .feature_preview
        .clone()
        .or_else(|| spec.features.first().map(|c| c.id.clone()));
    if let Some(id) = id
        && let Ok(raw) = profile.column(&id)
    {
        let raw: Vec<f64> = raw.into_iter().flatten().collect();
        ui.label(format!("{id}: raw and transformed distribution"));
        let half = ui.available_height() / 2.0 - 20.0;
        ui.columns(2, |cols| {
            hist(&mut cols[0], "raw", &raw, half);
            if let Ok(f) = &fitted
                && let Some(ff) = f.features.iter().find(|f| f.id == id)
            {
                let t: Vec<f64> = raw.iter().map(|&v| ff.weighted(Some(v))).collect();
                hist(&mut cols[1], "transformed (weighted)", &t, half);
            }
        });
    }
    if let Ok(f) = &fitted
        && let Ok(m) = f.matrix(&profile)
    {
        ui.label("Engagement score (sum of weighted, scaled features)");
        hist(ui, "engagement score", &f.scores(&m), ui.available_height());
    }
}

fn hist(ui: &mut egui::Ui, name: &str, values: &[f64], height: f32) {
    let (lo, w, counts) = charts::histogram(values, 40);
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar::new(lo + w * (i as f64 + 0.5), c as f64).width(w))
        .collect();
    Plot::new(format!("hist_{name}"))
        .height(height.max(80.0))
        .legend(Legend::default())
        .allow_scroll(false)
        .show(ui, |p| p.add(BarChart::new(name, bars)));
}
