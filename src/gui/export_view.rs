//! Export: the rule set file as it will be written (RON preview), its validation summary, and the
//! files for other people: the rule set for engineering (Ctrl+E), the assignments CSV, and the persona
//! summary (Markdown) for strategists. Files are written atomically on a worker thread.

use std::path::PathBuf;

use egui::{Color32, RichText};
use persona_lab::rules::Severity;
use persona_lab::ruleset::summary;

use super::actions::Action;
use super::app::PersonaApp;
use super::files::FilePurpose;
use super::state::{ExportKey, ExportPreview};
use persona_lab::task::Task;

/// The preview of the file, rebuilt when the run, personas, rules or guardrails change.
pub fn preview(app: &mut PersonaApp) -> Option<ExportPreview> {
    let key = ExportKey {
        basis: app.basis()?,
        personas: app.analysis.personas.clone(),
        rules: app.analysis.rules.clone(),
        guardrails: app.analysis.guardrails.clone(),
    };
    if app.ui_state.rules.export_preview.as_ref().map(|p| &p.0) != Some(&key) {
        let rs = app.rule_set()?;
        let p = ExportPreview {
            text: rs.to_ron().map_err(|e| e.to_string()),
            findings: rs.validate(),
            overview: persona_lab::ruleset::overview::overview(&rs),
        };
        app.ui_state.rules.export_preview = Some((key, p));
    }
    app.ui_state
        .rules
        .export_preview
        .as_ref()
        .map(|p| p.1.clone())
}

pub fn show(app: &mut PersonaApp, ui: &mut egui::Ui) {
    ui.heading("Export");
    let Some(p) = preview(app) else {
        ui.label("Cluster the data first: the rule set holds the segment model.");
        return;
    };
    let errors = p
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    ui.label(
        "The rule set holds everything production needs: the feature specification, the segment \
         centroids, the personas, the content rules and the guardrails (docs/ruleset-format.md).",
    );
    ui.horizontal(|ui| {
        let save = ui
            .add_enabled(errors == 0, egui::Button::new("Save rule set…"))
            .on_hover_text("Ctrl+E")
            .on_disabled_hover_text("Fix the errors below first");
        if save.clicked() {
            save_rule_set_dialog(app);
        }
        if ui.button("Export assignments CSV…").clicked() {
            app.push(Action::AskFile(FilePurpose::ExportAssignments));
        }
        if ui.button("Export persona summary…").clicked() {
            app.push(Action::AskFile(FilePurpose::ExportSummary));
        }
        if ui
            .button("…as a web page")
            .on_hover_text("One HTML file with the charts, for people without the app")
            .clicked()
        {
            app.push(Action::AskFile(FilePurpose::ExportSummaryHtml));
        }
        if let Ok(text) = &p.text
            && ui.button("Copy rule set").clicked()
        {
            ui.ctx().copy_text(text.clone());
        }
    });
    ui.label(
        RichText::new(
            "The assignments CSV holds user ids (hashed if hashing was on when loading).",
        )
        .weak(),
    );
    ui.separator();
    let warnings = p.findings.len() - errors;
    let summary = format!("Validation: {errors} errors, {warnings} warnings");
    ui.label(RichText::new(summary).strong().color(if errors > 0 {
        Color32::from_rgb(213, 94, 0)
    } else if warnings > 0 {
        Color32::from_rgb(230, 159, 0)
    } else {
        Color32::from_rgb(0, 158, 115)
    }));
    for f in &p.findings {
        ui.label(f.to_string());
    }
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("export_summary")
        .show(ui, |ui| {
            egui::Grid::new("overview")
                .num_columns(2)
                .striped(true)
                .spacing([16.0, 4.0])
                .show(ui, |ui| {
                    for s in &p.overview {
                        ui.strong(s.heading);
                        ui.vertical(|ui| {
                            for l in &s.lines {
                                ui.add(egui::Label::new(l).wrap());
                            }
                        });
                        ui.end_row();
                    }
                });
            ui.separator();
            raw_file(ui, &p);
            super::warehouse::assign_panel(app, ui);
        });
}

/// The file itself, behind a toggle (hundreds of lines of RON are for engineers, not the summary).
fn raw_file(ui: &mut egui::Ui, p: &ExportPreview) {
    match &p.text {
        Ok(text) => {
            egui::CollapsingHeader::new(format!(
                "The file itself (RON, {} lines, {} KB)",
                text.lines().count(),
                text.len().div_ceil(1024)
            ))
            .id_salt("ron_preview")
            .default_open(false)
            .show(ui, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut text.as_str())
                        .code_editor()
                        .desired_width(f32::INFINITY),
                );
            });
        }
        Err(e) => {
            ui.label(RichText::new(e).color(Color32::from_rgb(213, 94, 0)));
        }
    }
}

/// Ask where, then write the previewed text (what the user saw is what is saved).
pub fn save_rule_set_dialog(app: &mut PersonaApp) {
    let Some(p) = preview(app) else {
        return;
    };
    if p.findings.iter().any(|f| f.severity == Severity::Error) {
        app.ui_state.view = super::state::View::Export;
        app.error("the rule set has errors (see Export): fix them before saving it");
        return;
    }
    app.push(Action::AskFile(FilePurpose::SaveRuleSet));
}

/// Write the rule set as previewed, on a worker: the previewed RON, or the same rule set as JSON when
/// the name ends in `.json`.
pub fn save_rule_set(app: &mut PersonaApp, path: PathBuf) {
    let Some(p) = preview(app) else {
        return;
    };
    let text = match persona_lab::runtime::ruleset::Encoding::of(&path) {
        persona_lab::runtime::ruleset::Encoding::Ron => p.text,
        persona_lab::runtime::ruleset::Encoding::Json => match app.rule_set() {
            Some(rs) => rs.to_json().map_err(|e| e.to_string()),
            None => return,
        },
    };
    match text {
        Ok(text) => spawn_write(app, "Saving the rule set", path, move || Ok(text)),
        Err(e) => app.error(e),
    }
}

pub fn export_assignments(app: &mut PersonaApp, path: PathBuf) {
    let Some(run) = app.analysis.run.clone() else {
        return;
    };
    let names = app.analysis.persona_names(run.segmentation.k);
    let repaint = app.repainter();
    let out = path.clone();
    app.tasks.start(
        super::tasks::Kind::Export,
        Task::spawn("Exporting assignments", repaint, move |_| {
            let defused = run
                .write_assignments(&out, &names)
                .map_err(|e| e.to_string())?;
            let mut said = format!("wrote {} ({} users)", out.display(), run.matrix.n_rows);
            if let Some(note) = defused.note(&out) {
                said = format!("{said}. {note}");
            }
            Ok(said)
        }),
        super::tasks::Done::Export,
    );
}

/// The persona summary: Markdown, or (`html`) one self-contained web page with the charts.
pub fn export_summary(app: &mut PersonaApp, path: PathBuf, html: bool) {
    let (Some(rs), Some(run)) = (app.rule_set(), app.analysis.run.clone()) else {
        return;
    };
    spawn_write(app, "Exporting the persona summary", path, move || {
        Ok(if html {
            summary::html(&rs, &run.profiles)
        } else {
            summary::markdown(&rs, &run.profiles)
        })
    });
}

fn spawn_write(
    app: &mut PersonaApp,
    label: &str,
    path: PathBuf,
    make: impl FnOnce() -> Result<String, String> + Send + 'static,
) {
    let repaint = app.repainter();
    app.tasks.start(
        super::tasks::Kind::Export,
        Task::spawn(label, repaint, move |_| {
            let text = make()?;
            persona_lab::output::write_bytes(&path, text.as_bytes()).map_err(|e| e.to_string())?;
            Ok(format!("wrote {}", path.display()))
        }),
        super::tasks::Done::Export,
    );
}
