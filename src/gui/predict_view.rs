//! Predict: train a churn-risk or conversion model (target, cutoff, outcome window, model and its
//! settings), then judge it: class balance, held-out and cross-validated metrics, ROC, PR and
//! calibration plots, the coefficients or importances, the score distribution per persona, per-persona
//! risk, and the high-risk list as CSV. The model goes into the exported rule set, so rules can test
//! its score. Training runs on a worker; everything shown comes from `persona_lab::predict`.

use std::sync::Arc;

use egui::{Color32, RichText};
use egui_plot::{Plot, PlotPoints, Points};
use persona_lab::data::{Shape, timestamp};
use persona_lab::predict::{self, ModelKind, Prediction, Target};

use super::actions::{Action, Edit};
use super::charts::colour;
use super::cx::Cx;

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    ui.heading("Predict");
    if cx.analysis.loaded.is_none() {
        ui.label("Load an export first.");
        return;
    }
    egui::Panel::left("predict_settings")
        .resizable(true)
        .default_size(320.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("predict_settings_scroll")
                .show(ui, |ui| settings(cx, ui));
        });
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("predict_results")
            .show(ui, |ui| results(cx, ui));
    });
}

fn date(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn settings(cx: &mut Cx, ui: &mut egui::Ui) {
    let Some(loaded) = cx.analysis.loaded.clone() else {
        return;
    };
    let features = cx
        .analysis
        .profile
        .as_ref()
        .map(|p| p.features.clone())
        .unwrap_or_default();
    let busy = cx.running(super::tasks::Kind::Predict);
    let st = &mut cx.state;
    // Edited on a copy, sent as an edit before the training it may start.
    let mut edited = cx.analysis.predict.clone();
    let p = &mut edited;
    let mut train = false;
    ui.label(RichText::new("What to predict").strong());
    ui.radio_value(
        &mut p.target,
        Target::Churn,
        "Churn: no activity in the window",
    );
    ui.radio_value(
        &mut p.target,
        Target::Convert,
        "Conversion: a purchase in the window",
    );
    if loaded.shape == Shape::Events {
        ui.horizontal(|ui| {
            let l = ui.label("Window after the cutoff");
            ui.add(
                egui::DragValue::new(&mut p.horizon_days)
                    .range(1..=365)
                    .suffix(" days"),
            )
            .labelled_by(l.id);
        });
        if st
            .predict_span
            .as_ref()
            .is_none_or(|(l, _)| !Arc::ptr_eq(l, &loaded))
        {
            st.predict_span = predict::labels::span(&loaded)
                .ok()
                .map(|s| (loaded.clone(), s));
        }
        let hint = st
            .predict_span
            .as_ref()
            .map(|(_, (a, b))| {
                format!(
                    "empty: {} ({} days before the last event); the export runs {} to {}",
                    date(b - i64::from(p.horizon_days) * predict::labels::DAY_US),
                    p.horizon_days,
                    date(*a),
                    date(*b)
                )
            })
            .unwrap_or_default();
        super::widgets::labelled(ui, "Cutoff", |ui| {
            ui.add(
                egui::TextEdit::singleline(&mut st.predict_cutoff)
                    .hint_text("YYYY-MM-DD")
                    .desired_width(110.0),
            )
        });
        ui.label(RichText::new(hint).weak());
        if p.target == Target::Convert {
            let mut on = p.revenue_threshold.is_some();
            let check = ui.checkbox(&mut on, "Count as converted only above a revenue of");
            if check.changed() {
                p.revenue_threshold = on.then_some(p.revenue_threshold.unwrap_or(100.0));
            }
            if let Some(t) = &mut p.revenue_threshold {
                ui.add(egui::DragValue::new(t).range(0.0..=f64::MAX))
                    .labelled_by(check.id);
            }
        }
    } else {
        let current = p.label_col.clone().unwrap_or_else(|| "choose…".into());
        ui.horizontal(|ui| {
            ui.label("Label column (0 / 1)");
            egui::ComboBox::new("label_col", "")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for f in &features {
                        ui.selectable_value(&mut p.label_col, Some(f.clone()), f);
                    }
                })
                .response
                .accessible_name("Label column");
        });
    }
    ui.separator();
    ui.label(RichText::new("Model").strong());
    ui.radio_value(&mut p.model, ModelKind::Logistic, "Logistic regression");
    ui.radio_value(&mut p.model, ModelKind::Forest, "Random forest");
    match p.model {
        ModelKind::Logistic => {
            ui.horizontal(|ui| {
                let l = ui.label("C (inverse regularisation)");
                ui.add(egui::DragValue::new(&mut p.c).range(1e-4..=1e4).speed(0.05))
                    .labelled_by(l.id);
            });
        }
        ModelKind::Forest => {
            ui.horizontal(|ui| {
                let l = ui.label("Trees");
                ui.add(egui::DragValue::new(&mut p.forest.n_trees).range(1..=1000))
                    .labelled_by(l.id);
            });
            ui.horizontal(|ui| {
                let l = ui.label("Max depth");
                let mut d = p.forest.max_depth.unwrap_or(0);
                ui.add(egui::DragValue::new(&mut d).range(0..=40))
                    .labelled_by(l.id)
                    .on_hover_text("0: unlimited");
                p.forest.max_depth = (d > 0).then_some(d);
            });
            ui.horizontal(|ui| {
                let l = ui.label("Fewest users per leaf");
                ui.add(egui::DragValue::new(&mut p.forest.min_samples_leaf).range(1..=500))
                    .labelled_by(l.id);
            });
        }
    }
    ui.separator();
    ui.label(RichText::new("Evaluation").strong());
    super::widgets::labelled(ui, "Held out", |ui| {
        ui.add(
            egui::Slider::new(&mut p.test_share, 0.1..=0.5)
                .custom_formatter(|v, _| format!("{:.0}%", v * 100.0)),
        )
    });
    ui.horizontal(|ui| {
        let mut on = p.folds.is_some();
        let check = ui.checkbox(&mut on, "Cross-validate, folds:");
        if check.changed() {
            p.folds = on.then_some(p.folds.unwrap_or(5));
        }
        if let Some(k) = &mut p.folds {
            ui.add(egui::DragValue::new(k).range(2..=20))
                .labelled_by(check.id);
        }
    });
    ui.horizontal(|ui| {
        let l = ui.label("Seed");
        ui.add(egui::DragValue::new(&mut p.seed)).labelled_by(l.id);
    });
    super::widgets::labelled(ui, "Decision threshold", |ui| {
        ui.add(egui::Slider::new(&mut p.threshold, 0.05..=0.95))
    });
    super::widgets::labelled(ui, "Medium risk from", |ui| {
        ui.add(egui::Slider::new(&mut p.bands.0, 0.0..=1.0))
    });
    super::widgets::labelled(ui, "High risk from", |ui| {
        ui.add(egui::Slider::new(&mut p.bands.1, 0.0..=1.0))
    });
    if p.bands.1 < p.bands.0 {
        p.bands.1 = p.bands.0;
    }
    ui.separator();
    if ui
        .add_enabled(!busy, egui::Button::new("Train model"))
        .clicked()
    {
        let text = st.predict_cutoff.trim().to_string();
        if text.is_empty() {
            p.cutoff = None;
            train = true;
        } else {
            match timestamp::parse_instant(&text) {
                Some(t) => {
                    p.cutoff = Some(t);
                    train = true;
                }
                None => cx
                    .state
                    .error(format!("cutoff {text:?} is not a date (use YYYY-MM-DD)")),
            }
        }
    }
    if edited != cx.analysis.predict {
        cx.edit(Edit::Predict(edited));
    }
    if train {
        cx.push(Action::RunPrediction);
    }
}

fn results(cx: &mut Cx, ui: &mut egui::Ui) {
    let Some(p) = cx.analysis.prediction.clone() else {
        ui.label("Choose what to predict and press Train model.");
        return;
    };
    let risk = cx.caches.risk(cx.analysis);
    let m = &p.metrics;
    let (pos, neg) = p.params.target.class_names();
    ui.horizontal(|ui| {
        if let Some(file) = super::widgets::chart_save_buttons(
            ui,
            "Save view as PNG…",
            "Save curves (CSV)…",
            "The ROC, precision-recall and calibration points",
        ) {
            cx.push(Action::AskFile(file));
        }
    });
    ui.label(
        RichText::new(format!(
            "{}: {}{}",
            p.model.name,
            match p.params.model {
                ModelKind::Logistic => "logistic regression",
                ModelKind::Forest => "random forest",
            },
            p.cutoff
                .map(|c| format!(
                    ", cutoff {}, {}-day outcome window",
                    date(c),
                    p.params.horizon_days
                ))
                .unwrap_or_default()
        ))
        .strong(),
    );
    ui.label(format!(
        "Class balance: {} {pos}, {} {neg} ({:.1}% positive); fitted on {} users, measured on {} held out",
        p.positives,
        p.negatives,
        100.0 * p.positives as f64 / (p.positives + p.negatives).max(1) as f64,
        p.train_size(),
        m.n
    ));
    if let Some(w) = &p.balance_warning {
        ui.label(RichText::new(format!("Class imbalance: {w}")).color(ui.visuals().warn_fg_color));
    }
    if let Some(h) = &p.horizon
        && h.days != p.params.horizon_days
    {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "This model used a {}-day window; the data suggest {}.",
                p.params.horizon_days,
                h.describe()
            ));
            if ui
                .button(format!("Use {} days and retrain", h.days))
                .on_hover_text(
                    "A window about as long as users really take to come back: shorter calls \
                     customers who were only between visits churned",
                )
                .clicked()
            {
                let mut params = cx.analysis.predict.clone();
                params.horizon_days = h.days;
                cx.edit(Edit::Predict(params));
                cx.push(Action::RunPrediction);
            }
        });
    }
    egui::Grid::new("predict_metrics")
        .striped(true)
        .show(ui, |ui| {
            ui.label("");
            ui.label(RichText::new("held out").weak());
            if p.cv.is_some() {
                ui.label(RichText::new("cross-validated").weak());
            }
            ui.label(RichText::new("a model that always answers the larger class").weak());
            ui.end_row();
            // What a model with no skill scores on each metric: AUC 0.5, PR AUC the positive share,
            // accuracy the majority share; precision and recall have no single baseline.
            let share = m.positives as f64 / m.n.max(1) as f64;
            let rows: [(&str, MetricOf, Option<f64>); 5] = [
                ("ROC AUC", |m| m.roc_auc, Some(0.5)),
                ("PR AUC (average precision)", |m| m.pr_auc, Some(share)),
                ("accuracy", |m| m.accuracy, Some(m.baseline_accuracy)),
                ("precision", |m| m.precision, None),
                ("recall", |m| m.recall, None),
            ];
            for (name, f, base) in rows {
                match name {
                    "ROC AUC" => super::help::term_label(ui, name, super::help::Term::RocAuc),
                    "PR AUC (average precision)" => {
                        super::help::term_label(ui, name, super::help::Term::PrAuc)
                    }
                    _ => ui.label(name),
                };
                ui.label(format!("{:.4}", f(m)));
                if let Some(cv) = &p.cv {
                    ui.label(format!("{:.4}", f(cv)));
                }
                ui.label(RichText::new(base.map_or(String::new(), |b| format!("{b:.4}"))).weak());
                ui.end_row();
            }
        });
    ui.label(format!(
        "Confusion at threshold {}: TN {}  FP {}  FN {}  TP {}",
        m.threshold, m.confusion[0][0], m.confusion[0][1], m.confusion[1][0], m.confusion[1][1]
    ));
    // Thinned with the model, on its worker (a point per held-out score is too many to draw).
    let drawn = cx.caches.curves(cx.analysis);
    let (roc, pr) = match &drawn {
        Some(c) => (&c.roc[..], &c.pr[..]),
        None => (&[][..], &[][..]),
    };
    ui.columns(3, |cols| {
        curve(
            &mut cols[0],
            "roc",
            "ROC curve (held out; grey: chance)",
            roc,
            ("false positive rate", "true positive rate"),
            ([0.0, 0.0], [1.0, 1.0]),
        );
        // A random ranking has the precision of the positive share everywhere.
        let share = m.positives as f64 / m.n.max(1) as f64;
        curve(
            &mut cols[1],
            "pr",
            "Precision-recall (held out; grey: chance)",
            pr,
            ("recall", "precision"),
            ([0.0, share], [1.0, share]),
        );
        calibration(&mut cols[2], m);
    });
    importance(ui, &p);
    if let Some(risk) = risk {
        by_persona(cx, ui, &p, &risk);
    }
    if !p.notes.is_empty() {
        ui.label(RichText::new(p.notes.join("; ")).weak());
    }
}

/// Reads one metric.
type MetricOf = fn(&predict::Metrics) -> f64;

/// A curve with its chance baseline (a segment from `base.0` to `base.1`).
fn curve(
    ui: &mut egui::Ui,
    id: &str,
    title: &str,
    pts: &[egui_plot::PlotPoint],
    axes: (&str, &str),
    base: ([f64; 2], [f64; 2]),
) {
    ui.label(title);
    // Both axes are rates: pinned to [0, 1] (an aspect lock stretched the PR plot's y-axis to 1.3).
    Plot::new(id)
        .height(220.0)
        .default_x_bounds(0.0, 1.0)
        .default_y_bounds(0.0, 1.02)
        .x_axis_label(axes.0)
        .y_axis_label(axes.1)
        .allow_scroll(false)
        .show(ui, |pl| {
            pl.line(
                super::charts::line("chance", PlotPoints::new(vec![base.0, base.1]))
                    .color(Color32::GRAY),
            );
            pl.line(
                super::charts::line(title, PlotPoints::from(pts))
                    .color(colour(0))
                    .width(2.0),
            );
        });
}

fn calibration(ui: &mut egui::Ui, m: &predict::Metrics) {
    ui.label("Calibration (held out, 10 bins)");
    let pts: Vec<[f64; 2]> = m
        .calibration
        .iter()
        .map(|b| [b.mean_predicted, b.observed])
        .collect();
    Plot::new("calibration")
        .height(220.0)
        .default_x_bounds(0.0, 1.0)
        .default_y_bounds(0.0, 1.02)
        .x_axis_label("mean predicted")
        .y_axis_label("observed share")
        .allow_scroll(false)
        .show(ui, |pl| {
            pl.line(
                super::charts::line("perfect", PlotPoints::new(vec![[0.0, 0.0], [1.0, 1.0]]))
                    .color(Color32::GRAY),
            );
            pl.line(super::charts::line("model", PlotPoints::new(pts.clone())).color(colour(1)));
            pl.points(Points::new("bins", pts).radius(3.0).color(colour(1)));
        });
}

/// One row per feature: its name, a bar (diverging around zero for coefficients), the value.
fn importance(ui: &mut egui::Ui, p: &Prediction) {
    let mut imp = p.importance.clone();
    imp.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let signed = p.params.model == ModelKind::Logistic;
    ui.label(if signed {
        "Coefficients on the scaled features (orange raises the score, blue lowers it)"
    } else {
        "Feature importance (mean decrease in impurity)"
    });
    if let Some(c) = &p.collinearity {
        // A heading in the warning colour over the note in the text's: in orange as a whole it
        // read like one of the orange ("raises the score") bars below.
        ui.label(
            RichText::new("Collinear features")
                .strong()
                .color(ui.visuals().warn_fg_color),
        );
        ui.add(
            egui::Label::new(
                RichText::new(c.describe(&persona_lab::features::display::name)).italics(),
            )
            .wrap(),
        );
    }
    let max = imp
        .iter()
        .map(|(_, v)| v.abs())
        .fold(0.0, f64::max)
        .max(1e-12);
    egui::Grid::new("importance").show(ui, |ui| {
        for (f, v) in &imp {
            ui.label(persona_lab::features::display::name(f))
                .on_hover_text(format!("feature {f}"));
            let (rect, _) = ui.allocate_exact_size(egui::vec2(320.0, 14.0), egui::Sense::hover());
            let zero = if signed { rect.center().x } else { rect.left() };
            let half = if signed {
                rect.width() / 2.0
            } else {
                rect.width()
            };
            let len = (v.abs() / max) as f32 * half;
            let (x0, x1) = if *v >= 0.0 {
                (zero, zero + len)
            } else {
                (zero - len, zero)
            };
            let fill = if *v >= 0.0 {
                Color32::from_rgb(230, 159, 0)
            } else {
                Color32::from_rgb(0, 114, 178)
            };
            ui.painter().rect_filled(
                egui::Rect::from_x_y_ranges(x0..=x1, rect.y_range()),
                0.0,
                fill,
            );
            if signed {
                ui.painter().vline(
                    zero,
                    rect.y_range(),
                    egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
                );
            }
            ui.label(if signed {
                format!("{v:+.3}")
            } else {
                format!("{v:.3}")
            });
            ui.end_row();
        }
    });
}

fn by_persona(cx: &mut Cx, ui: &mut egui::Ui, p: &Arc<Prediction>, risk: &predict::SegmentRisk) {
    let names = cx.analysis.persona_names(risk.hists.len());
    let name_of = |s: usize| names[s].clone();
    ui.separator();
    // One set of cells for the grid and for Copy as TSV.
    let mut header = vec!["persona", "users scored", "mean score", "share high"];
    // The revenue of the high band's users (for a churn model, the revenue at risk), when the
    // export has revenue.
    if risk.at_risk.is_some() {
        header.push(predict::AtRisk::heading(p.params.target));
    }
    let rows: Vec<Vec<String>> = risk
        .by_segment
        .iter()
        .map(|s| {
            let mut row = vec![
                name_of(s.segment),
                s.users.to_string(),
                if s.users > 0 {
                    format!("{:.3}", s.mean)
                } else {
                    "-".into()
                },
                format!("{:.1}%", 100.0 * s.high_share),
            ];
            if let Some(a) = risk.at_risk.as_ref().and_then(|r| r.get(s.segment)) {
                row.push(a.amount());
            }
            row
        })
        .collect();
    let segments: Vec<usize> = risk.by_segment.iter().map(|s| s.segment).collect();
    super::widgets::persona_table(
        ui,
        "risk_by_persona",
        &format!("{} by persona", p.model.name),
        &header,
        &rows,
        &segments,
    );
    ui.label("Score distribution per persona (share of the persona's scored users)");
    Plot::new("score_by_persona")
        .height(200.0)
        .legend(super::charts::persona_legend())
        .x_axis_label("score")
        .allow_scroll(false)
        .show(ui, |pl| {
            for (s, h) in risk.hists.iter().enumerate() {
                let n = h.iter().sum::<usize>().max(1) as f64;
                let pts: Vec<[f64; 2]> = h
                    .iter()
                    .enumerate()
                    .map(|(b, &c)| [(b as f64 + 0.5) / 20.0, c as f64 / n])
                    .collect();
                pl.line(super::charts::line(name_of(s), PlotPoints::new(pts)).color(colour(s)));
            }
        });
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} users in the high band (score >= {})",
            risk.high_users, p.params.bands.1
        ));
        if ui.button("Export high-risk users…").clicked() {
            cx.push(Action::AskFile(super::files::FilePurpose::ExportHighRisk));
        }
    });
}
