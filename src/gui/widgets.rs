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
