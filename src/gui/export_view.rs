//! Export: the rule set file as it will be written (RON preview), its validation summary, and the
//! files for other people: the rule set for engineering (Ctrl+E), the assignments CSV, and the persona
//! summary (Markdown) for strategists. Files are written atomically on a worker thread.

use egui::{Color32, RichText};
use persona_lab::rules::Severity;

use super::actions::Action;
use super::cache::ExportPreview;
use super::cx::Cx;
use super::files::FilePurpose;

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    ui.heading("Export");
    let Some(p) = cx.caches.export(cx.analysis).cloned() else {
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
            cx.push(Action::SaveRuleSet);
        }
        if ui.button("Export assignments CSV…").clicked() {
            cx.push(Action::AskFile(FilePurpose::ExportAssignments));
        }
        if ui.button("Export persona summary…").clicked() {
            cx.push(Action::AskFile(FilePurpose::ExportSummary));
        }
        if ui
            .button("…as a web page")
            .on_hover_text("One HTML file with the charts, for people without the app")
            .clicked()
        {
            cx.push(Action::AskFile(FilePurpose::ExportSummaryHtml));
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
            super::warehouse::assign_panel(cx, ui);
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
