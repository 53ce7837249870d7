//! What a rule shows: module, slot, A/B variants, holdout, caps and dates.

use super::*;

/// A checkbox that turns a limit on or off, and its value.
pub(super) fn optional_u32(ui: &mut egui::Ui, label: &str, v: &mut Option<u32>, default: u32) {
    ui.horizontal(|ui| {
        let mut on = v.is_some();
        let check = ui.checkbox(&mut on, label);
        if check.changed() {
            *v = on.then_some(v.unwrap_or(default));
        }
        if let Some(x) = v {
            ui.add(egui::DragValue::new(x).range(1..=1000))
                .labelled_by(check.id);
        }
    });
}

pub(super) fn date_field(
    ui: &mut egui::Ui,
    label: &str,
    v: &mut Option<String>,
    id: (&str, usize),
) {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        let mut text = v.clone().unwrap_or_default();
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("YYYY-MM-DD (empty: always)")
                    .desired_width(160.0)
                    .id_salt(id),
            )
            .labelled_by(l.id);
        if r.changed() {
            let t = text.trim();
            *v = (!t.is_empty()).then(|| t.to_string());
        }
    });
}

/// A row of the action's grid: a label and the text field it names.
fn text_row(ui: &mut egui::Ui, label: &str, text: &mut String, hint: &str) {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .hint_text(hint)
            .desired_width(260.0),
    )
    .labelled_by(l.id);
    ui.end_row();
}

pub(super) fn action_ui(ui: &mut egui::Ui, rule: &mut Rule, i: usize) {
    let a = &mut rule.action;
    egui::Grid::new(("action", i))
        .num_columns(2)
        .show(ui, |ui| {
            text_row(
                ui,
                "Content module",
                &mut a.module,
                "e.g. recommendation_carousel",
            );
            text_row(ui, "Slot", &mut a.slot, "e.g. home_hero");
            crate::gui::help::term_label(
                ui,
                "Holdout (control) %",
                crate::gui::help::Term::Holdout,
            );
            ui.add(
                egui::Slider::new(&mut a.holdout_percent, 0.0..=50.0)
                    .step_by(0.5)
                    .suffix(" %"),
            )
            .on_hover_text(
                "Matching users kept on the default content, to measure the rule's lift",
            );
            ui.end_row();
        });
    ui.label("A/B variants (empty: everyone treated sees the module)");
    let mut remove = None;
    egui::Grid::new(("variants", i))
        .num_columns(4)
        .show(ui, |ui| {
            if a.variants.is_empty() {
                return;
            }
            let head = [
                ui.label("variant id").id,
                ui.label("module (empty: the rule's)").id,
                ui.label("weight %").id,
            ];
            ui.end_row();
            for (j, v) in a.variants.iter_mut().enumerate() {
                ui.add(
                    egui::TextEdit::singleline(&mut v.id)
                        .desired_width(110.0)
                        .id_salt(("variant_id", i, j)),
                )
                .labelled_by(head[0]);
                let mut m = v.module.clone().unwrap_or_default();
                if ui
                    .add(
                        egui::TextEdit::singleline(&mut m)
                            .desired_width(200.0)
                            .id_salt(("variant_module", i, j)),
                    )
                    .labelled_by(head[1])
                    .changed()
                {
                    v.module = (!m.trim().is_empty()).then(|| m.trim().to_string());
                }
                ui.add(egui::DragValue::new(&mut v.weight).range(0..=100))
                    .labelled_by(head[2]);
                if ui.small_button("Remove").clicked() {
                    remove = Some(j);
                }
                ui.end_row();
            }
        });
    if let Some(j) = remove {
        a.variants.remove(j);
    }
    ui.horizontal(|ui| {
        if ui.button("Add variant").clicked() {
            let id = (b'a'..=b'z')
                .map(|c| (c as char).to_string())
                .find(|id| a.variants.iter().all(|v| &v.id != id))
                .unwrap_or_else(|| format!("v{}", a.variants.len() + 1));
            a.variants.push(Variant {
                id,
                module: None,
                weight: 0,
            });
        }
        if a.variants.len() > 1 && ui.button("Split evenly").clicked() {
            let n = a.variants.len() as u32;
            for (j, v) in a.variants.iter_mut().enumerate() {
                v.weight = 100 / n + u32::from((j as u32) < 100 % n);
            }
        }
        if !a.variants.is_empty() {
            let sum: u32 = a.variants.iter().map(|v| v.weight).sum();
            let text = RichText::new(format!("weights sum to {sum}"));
            ui.label(if sum == 100 { text } else { text.color(ERROR) });
        }
    });
}
