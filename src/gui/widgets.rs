//! Small building blocks the views share: a control with its label in front (egui puts a slider's or
//! a combo box's own text after it, which reads backwards in a form), linked for screen readers.

use egui::{Response, Ui};

/// `label` then the control `add` draws, the control labelled by it.
pub fn labelled(ui: &mut Ui, label: &str, add: impl FnOnce(&mut Ui) -> Response) -> Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        add(ui).labelled_by(l.id)
    })
    .inner
}

/// `label` then a combo box showing `selected`, its entries drawn by `entries`.
pub fn combo(
    ui: &mut Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    label: &str,
    selected: impl Into<egui::WidgetText>,
    entries: impl FnOnce(&mut Ui),
) -> Response {
    let l = ui.label(label);
    egui::ComboBox::from_id_salt(id_salt)
        .selected_text(selected)
        .show_ui(ui, entries)
        .response
        .labelled_by(l.id)
}

/// A striped table: `header` in weak text as its first row, then the rows `body` adds (each ended with
/// `ui.end_row()`).
pub fn table(
    ui: &mut Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    header: &[&str],
    body: impl FnOnce(&mut Ui),
) {
    egui::Grid::new(id_salt).striped(true).show(ui, |ui| {
        for h in header {
            ui.label(egui::RichText::new(*h).weak());
        }
        ui.end_row();
        body(ui);
    });
}

/// A table of personas under its title, with **Copy as TSV** (the same cells): each row's first
/// cell is the persona's name in its segment's colour (`segments`, one per row).
pub fn persona_table(
    ui: &mut Ui,
    id_salt: &str,
    title: &str,
    header: &[&str],
    rows: &[Vec<String>],
    segments: &[usize],
) {
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(title).strong());
        if ui.button("Copy as TSV").clicked() {
            ui.ctx().copy_text(super::chart_export::tsv(header, rows));
        }
    });
    table(ui, id_salt, header, |ui| {
        for (&s, row) in segments.iter().zip(rows) {
            let mut cells = row.iter();
            if let Some(name) = cells.next() {
                ui.label(egui::RichText::new(name).color(super::charts::colour(s)));
            }
            for c in cells {
                ui.label(c);
            }
            ui.end_row();
        }
    });
}

/// A chart's two save buttons, the picture as PNG and its numbers as CSV (`csv_hover` says which
/// numbers): the file asked for when one is clicked.
pub fn chart_save_buttons(
    ui: &mut Ui,
    png: &str,
    csv: &str,
    csv_hover: &str,
) -> Option<super::files::FilePurpose> {
    use super::files::FilePurpose;
    let png = ui.button(png).clicked();
    let csv = ui.button(csv).on_hover_text(csv_hover).clicked();
    (png.then_some(FilePurpose::ChartPng)).or(csv.then_some(FilePurpose::ChartCsv))
}
