//! The rule list: priority order, drag to reorder, add (blank or from a template), duplicate, delete.

use super::*;
// `rules` names the list being edited here.
use persona_lab::rules::{self as rules_mod, Guardrails};

pub(super) fn rule_list(
    cx: &mut Cx,
    rules: &mut Vec<Rule>,
    guardrails: &mut Guardrails,
    ui: &mut egui::Ui,
    pop: Option<&Population>,
    findings: &[Finding],
) {
    ui.label(RichText::new("Priority order (first match per slot wins)").strong());
    let mut moved: Option<(usize, usize)> = None;
    let n = rules.len();
    let measured = &cx.caches.measured;
    let mut asks = vec![];
    let selected = &mut cx.state.rules.selected;
    egui::ScrollArea::vertical()
        .id_salt("rule_list_scroll")
        .max_height((ui.available_height() - 260.0).max(120.0))
        .show(ui, |ui| {
            for (i, r) in rules.iter_mut().enumerate() {
                let row = ui.horizontal(|ui| {
                    let handle = ui
                        .add(egui::Label::new("::").sense(egui::Sense::drag()))
                        .on_hover_text("Drag to change the priority");
                    handle.dnd_set_drag_payload(i);
                    ui.label(format!("{}.", r.priority));
                    ui.checkbox(&mut r.enabled, "").on_hover_text("Enabled");
                    let problems = findings
                        .iter()
                        .filter(|f| f.rule.as_deref() == Some(r.id.as_str()))
                        .map(|f| f.severity)
                        .min();
                    let mut text = RichText::new(&r.name);
                    if let Some(s) = problems {
                        text = text.color(if s == Severity::Error { ERROR } else { WARNING });
                    }
                    if ui.selectable_label(*selected == Some(i), text).clicked() {
                        *selected = Some(i);
                    }
                    // Users the rule can reach (an upper bound when it tests the session).
                    let reach = pop.and_then(|p| {
                        measured.count(&population::optimistic(&r.when, p), &mut asks)
                    });
                    let bound = if pop.is_some_and(|p| population::needs_session(&r.when, p)) {
                        "up to "
                    } else {
                        ""
                    };
                    ui.label(
                        RichText::new(match reach {
                            Some(c) => format!("{} · {bound}{c} users", r.action.slot),
                            // Counting (or no population yet): the slot alone, a row no wider
                            // than with its count (the panel keeps the widest row's width).
                            None => r.action.slot.clone(),
                        })
                        .weak(),
                    );
                });
                let resp = ui.interact(
                    row.response.rect,
                    egui::Id::unique(("rule_row", i)),
                    egui::Sense::hover(),
                );
                if resp.dnd_hover_payload::<usize>().is_some() {
                    let y = row.response.rect.top();
                    ui.painter().hline(
                        row.response.rect.x_range(),
                        y,
                        egui::Stroke::new(2.0, ui.visuals().selection.bg_fill),
                    );
                }
                if let Some(from) = resp.dnd_release_payload::<usize>() {
                    moved = Some((*from, i));
                }
            }
        });
    if !asks.is_empty() {
        cx.push(Action::Measure(asks));
    }
    if n == 0 {
        ui.label(RichText::new("No rules yet.").weak());
    }
    ui.horizontal_wrapped(|ui| {
        if ui.button("Add rule").clicked() {
            let id = rules_mod::fresh_id(rules);
            let mut r = Rule::new(id, n as u32 + 1);
            r.name = format!("Rule {}", n + 1);
            rules.push(r);
            cx.state.rules.selected = Some(n);
        }
        ui.menu_button("Add from template", |ui| {
            let mut chosen = None;
            for (t, template) in cx.templates.iter().enumerate() {
                if ui.button(&template.title).clicked() {
                    chosen = Some(t);
                    ui.close();
                }
            }
            if let Some(t) = chosen {
                cx.push(Action::AddFromTemplate(t));
            }
        });
        let sel = cx.state.rules.selected.filter(|&i| i < n);
        if let Some(i) = sel {
            if ui
                .add_enabled(i > 0, egui::Button::new("Move up"))
                .clicked()
            {
                moved = Some((i, i - 1));
            }
            if ui
                .add_enabled(i + 1 < n, egui::Button::new("Move down"))
                .clicked()
            {
                moved = Some((i, i + 1));
            }
            if ui.button("Duplicate").clicked() {
                let mut r = rules[i].clone();
                r.id = rules_mod::fresh_id(rules);
                r.name = format!("{} (copy)", r.name);
                rules.insert(i + 1, r);
                rules_mod::renumber(rules);
                cx.state.rules.selected = Some(i + 1);
            }
            if ui.button("Delete rule").clicked() {
                rules.remove(i);
                rules_mod::renumber(rules);
                cx.state.rules.selected = None;
            }
        }
    });
    if let Some((from, to)) = moved
        && from != to
    {
        rules_mod::move_rule(rules, from, to);
        cx.state.rules.selected = Some(to);
    }

    ui.separator();
    ui.label(RichText::new("Guardrails (all rules)").strong());
    let g = guardrails;
    optional_u32(
        ui,
        "At most offers per session",
        &mut g.max_offers_per_session,
        3,
    );
    optional_u32(ui, "At most offers per day", &mut g.max_offers_per_day, 5);
    ui.checkbox(
        &mut g.require_consent,
        "Personalise only users who consented",
    );

    ui.separator();
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    ui.label(format!(
        "Validation: {errors} errors, {} warnings",
        findings.len() - errors
    ));
    egui::ScrollArea::vertical()
        .id_salt("all_findings")
        .show(ui, |ui| {
            for f in findings {
                finding_label(ui, f);
            }
        });
}
