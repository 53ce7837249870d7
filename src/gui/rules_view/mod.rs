//! Rules: the rule list in priority order (drag a row, or Move up / Move down, to reorder), the rule
//! editor (condition builder with persona, feature and operator pickers; each condition shows how many
//! analysed users it matches right now and, for features, their distribution with the threshold),
//! the action with its A/B variants and holdout, caps, dates, the explanation with a live preview,
//! validation messages inline, and the guardrails across all rules.
//!
//! Every number here comes from the core: match counts from `rules::population`, checks from
//! `rules::validate`, the explanation from `rules::preview` (the code `decide` runs).

use std::sync::Arc;

use egui::{Color32, RichText};
use egui_plot::{Bar, BarChart, Plot, VLine};
use persona_lab::features::EventKind;
use persona_lab::rules::{
    self, Cmp, Condition, EventMatch, Facts, Finding, Known, Population, Rule, Severity, Variant,
    Window, describe::describe, population,
};

use super::actions::{Action, Edit};
use super::cx::Cx;
use super::measure::{Measure, Measured};
use persona_lab::features::distribution::FeatureHist;

mod action;
mod condition;
mod list;

use action::*;
use condition::*;
use list::*;

const ERROR: Color32 = Color32::from_rgb(213, 94, 0);
const WARNING: Color32 = Color32::from_rgb(230, 159, 0);

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    ui.heading("Rules");
    if cx.analysis.run.is_none() {
        ui.label("Cluster the data first: rules target its personas and features.");
        return;
    }
    let pop = cx.population();
    let personas = cx.analysis.persona_labels();
    let features: Vec<String> = cx
        .analysis
        .profile
        .as_ref()
        .map(|p| p.features.clone())
        .unwrap_or_default();
    let empty: Vec<String> = pop
        .as_deref()
        .map(|p| p.empty_features().to_vec())
        .unwrap_or_default();
    let findings = findings(&cx.analysis.rules, &personas, &features, &empty);
    let names = |id: &str| {
        personas
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.to_string())
    };

    // Edited on copies, sent as edits after the view is drawn.
    let mut rules = cx.analysis.rules.clone();
    let mut guardrails = cx.analysis.guardrails.clone();
    egui::Panel::left("rule_list")
        .resizable(true)
        .default_size(340.0)
        .show(ui, |ui| {
            rule_list(
                cx,
                &mut rules,
                &mut guardrails,
                ui,
                pop.as_deref(),
                &findings,
            );
        });
    let caches = cx.caches;
    let asks = egui::CentralPanel::default().show(ui, |ui| {
        let Some(i) = cx.state.rules.selected.filter(|&i| i < rules.len()) else {
            ui.label("Add a rule, or select one in the list to edit it.");
            return vec![];
        };
        let mut ctx = EditCtx {
            personas: &personas,
            features: &features,
            pop: pop.as_deref(),
            measured: &caches.measured,
            asks: vec![],
        };
        // Measured ahead: a condition switched to "profile feature" starts at this one's median.
        if pop.is_some() {
            caches
                .measured
                .hist(&default_feature(&features), &mut ctx.asks);
        }
        egui::ScrollArea::vertical()
            .id_salt("rule_editor")
            .show(ui, |ui| {
                let rule = &mut rules[i];
                editor(ui, rule, i, &mut ctx, &names);
                let mine: Vec<&Finding> = findings
                    .iter()
                    .filter(|f| f.rule.as_deref() == Some(rule.id.as_str()))
                    .collect();
                ui.separator();
                if mine.is_empty() {
                    ui.label(
                        RichText::new("No problems found in this rule")
                            .color(Color32::from_rgb(0, 158, 115)),
                    );
                }
                for f in mine {
                    finding_label(ui, f);
                }
            });
        ctx.asks
    });
    if !asks.inner.is_empty() {
        cx.push(Action::Measure(asks.inner));
    }
    if rules != cx.analysis.rules {
        cx.edit(Edit::Rules(rules));
    }
    if guardrails != cx.analysis.guardrails {
        cx.edit(Edit::Guardrails(guardrails));
    }
}

/// The checks of the current rules against the personas and features of the analysis.
pub fn findings(
    rules: &[Rule],
    personas: &[(String, String)],
    features: &[String],
    empty: &[String],
) -> Vec<Finding> {
    let known = Known {
        personas: personas
            .iter()
            .map(|(i, n)| (i.as_str(), n.as_str()))
            .collect(),
        features: features.iter().map(String::as_str).collect(),
        scores: vec![],
        empty_features: empty.iter().map(String::as_str).collect(),
    };
    rules::validate(rules, &known)
}

fn finding_label(ui: &mut egui::Ui, f: &Finding) {
    let (tag, colour) = match f.severity {
        Severity::Error => ("Error", ERROR),
        Severity::Warning => ("Warning", WARNING),
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(tag).strong().color(colour));
        ui.label(&f.message);
    });
}

/// What the condition editor needs besides the rule.
struct EditCtx<'a> {
    personas: &'a [(String, String)],
    features: &'a [String],
    pop: Option<&'a Population>,
    /// What the worker measured about the analysed users; what is missing is asked for in `asks`.
    measured: &'a Measured,
    asks: Vec<Measure>,
}

impl EditCtx<'_> {
    /// How many analysed users the condition matches, once measured.
    fn count(&mut self, c: &Condition) -> Option<usize> {
        self.measured.count(c, &mut self.asks)
    }
}

fn editor(
    ui: &mut egui::Ui,
    rule: &mut Rule,
    i: usize,
    ctx: &mut EditCtx,
    names: &dyn Fn(&str) -> String,
) {
    egui::Grid::new(("rule_head", i))
        .num_columns(2)
        .show(ui, |ui| {
            let l = ui.label("Rule name");
            ui.add(egui::TextEdit::singleline(&mut rule.name).desired_width(320.0))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Rule id");
            ui.add(egui::TextEdit::singleline(&mut rule.id).desired_width(200.0))
                .labelled_by(l.id)
                .on_hover_text(
                    "Used for variant bucketing, caps and reports: keep it once deployed",
                );
            ui.end_row();
            ui.label("Priority");
            ui.label(format!("{} (drag in the list to change)", rule.priority));
            ui.end_row();
            ui.label("");
            ui.checkbox(&mut rule.enabled, "Enabled");
            ui.end_row();
        });

    ui.separator();
    ui.horizontal(|ui| {
        ui.label(RichText::new("When").strong());
        match_label(ui, &rule.when, ctx);
    });
    condition_ui(ui, &mut rule.when, &format!("c{i}"), ctx, false);
    ui.add(
        egui::Label::new(
            RichText::new(format!("Reads as: {}", describe(&rule.when, names)))
                .italics()
                .weak(),
        )
        .wrap(),
    );

    ui.separator();
    ui.label(RichText::new("Then show").strong());
    action_ui(ui, rule, i);

    ui.separator();
    ui.label(RichText::new("Limits and dates").strong());
    optional_u32(
        ui,
        "At most per session (this rule)",
        &mut rule.caps.per_session,
        1,
    );
    optional_u32(ui, "At most per day (this rule)", &mut rule.caps.per_day, 3);
    date_field(ui, "Starts on", &mut rule.start, ("start", i));
    date_field(ui, "Ends before", &mut rule.end, ("end", i));

    ui.separator();
    ui.label(RichText::new("Why am I seeing this?").strong());
    let l = ui.label(
        "Explanation text; {persona}, {condition}, {rule}, {variant} and {module} are filled in",
    );
    ui.add(
        egui::TextEdit::multiline(&mut rule.explanation)
            .desired_rows(2)
            .desired_width(520.0)
            .id_salt(("explanation", i)),
    )
    .labelled_by(l.id);
    explanation_preview(ui, rule, ctx, names);
}

/// The explanation as the first matching analysed user would see it.
fn explanation_preview(
    ui: &mut egui::Ui,
    rule: &Rule,
    ctx: &mut EditCtx,
    names: &dyn Fn(&str) -> String,
) {
    let Some(pop) = ctx.pop else {
        return;
    };
    // The first matching user, found on a worker once per condition and population (it reads every
    // user).
    let when = population::optimistic(&rule.when, pop);
    let Some(first) = ctx.measured.first_match(&when, &mut ctx.asks) else {
        ui.label(RichText::new("Preview: finding a matching user…").weak());
        return;
    };
    let Some(u) = first else {
        ui.label(RichText::new("Preview: no analysed user matches this rule yet.").weak());
        return;
    };
    let profile = pop.user_profile(u);
    let persona = pop.persona_of(u).unwrap_or("").to_string();
    let returning = profile
        .features
        .get("sessions")
        .copied()
        .flatten()
        .map(|s| s > 1.0);
    let facts = Facts {
        user_id: &profile.user_id,
        persona: &persona,
        features: &profile.features,
        scores: Default::default(),
        consent: pop.consent,
        returning,
        now: chrono::Utc::now().timestamp_micros(),
        session_events: vec![],
        history: vec![],
        shown: vec![],
    };
    match rules::preview(rule, &facts, names) {
        Ok(d) => {
            ui.add(
                egui::Label::new(format!(
                    "Preview for user {} ({}): \u{201c}{}\u{201d}",
                    short(&profile.user_id),
                    names(&persona),
                    d.explanation
                ))
                .wrap(),
            );
            ui.label(RichText::new(format!("what matched, exactly: {}", d.condition)).weak());
            ui.label(
                RichText::new(match (&d.module, &d.variant) {
                    (None, _) => "this user is in the holdout and sees the default content".into(),
                    (Some(m), Some(v)) => format!("shows {m} (variant {v}) in {}", d.slot),
                    (Some(m), None) => format!("shows {m} in {}", d.slot),
                })
                .weak(),
            );
        }
        Err(e) => {
            ui.label(RichText::new(format!("Preview: {e}")).color(ERROR));
        }
    }
}

fn short(id: &str) -> String {
    if id.chars().count() > 16 {
        format!("{}…", id.chars().take(14).collect::<String>())
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_rounded_to_two_significant_digits() {
        assert_eq!(round_nice(1234.0), 1200.0);
        assert!((round_nice(0.04567) - 0.046).abs() < 1e-12);
        assert_eq!(round_nice(0.0), 0.0);
        assert_eq!(round_nice(-37.0), -37.0);
    }
}
