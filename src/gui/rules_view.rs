//! Rules: the rule list in priority order (drag a row, or Move up / Move down, to reorder), the rule
//! editor (condition builder with persona, feature and operator pickers; each condition shows how many
//! analysed users it matches right now and, for features, their distribution with the threshold),
//! the action with its A/B variants and holdout, caps, dates, the explanation with a live preview,
//! validation messages inline, and the guardrails across all rules.
//!
//! Every number here comes from the core: match counts from `rules::population`, checks from
//! `rules::validate`, the explanation from `rules::preview` (the code `decide` runs).

use std::collections::HashMap;
use std::sync::Arc;

use egui::{Color32, RichText};
use egui_plot::{Bar, BarChart, Plot, VLine};
use persona_lab::features::EventKind;
use persona_lab::rules::{
    self, Cmp, Condition, EventMatch, Facts, Finding, Known, Population, Rule, Severity, Variant,
    Window, describe::describe, population,
};

use super::app::PersonaApp;
use super::charts;
use super::state::FeatureHist;

const ERROR: Color32 = Color32::from_rgb(213, 94, 0);
const WARNING: Color32 = Color32::from_rgb(230, 159, 0);

pub fn show(app: &mut PersonaApp, ui: &mut egui::Ui) {
    ui.heading("Rules");
    if app.analysis.run.is_none() {
        ui.label("Cluster the data first: rules target its personas and features.");
        return;
    }
    let pop = app.population();
    let personas: Vec<(String, String)> = app
        .analysis
        .personas
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let features: Vec<String> = app
        .analysis
        .profile
        .as_ref()
        .map(|p| p.features.clone())
        .unwrap_or_default();
    let empty: Vec<String> = pop
        .as_deref()
        .map(|p| p.empty_features().to_vec())
        .unwrap_or_default();
    let findings = findings(&app.analysis.rules, &personas, &features, &empty);
    let names = |id: &str| {
        personas
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.to_string())
    };

    egui::Panel::left("rule_list")
        .resizable(true)
        .default_size(340.0)
        .show(ui, |ui| {
            rule_list(app, ui, pop.as_deref(), &findings, &personas);
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let ui_state = &mut app.ui_state.rules;
        let Some(i) = ui_state.selected.filter(|&i| i < app.analysis.rules.len()) else {
            ui.label("Add a rule, or select one in the list to edit it.");
            return;
        };
        let mut ctx = EditCtx {
            personas: &personas,
            features: &features,
            pop: pop.as_deref(),
            counts: &mut ui_state.counts,
            hists: &mut ui_state.hist,
        };
        egui::ScrollArea::vertical()
            .id_salt("rule_editor")
            .show(ui, |ui| {
                let rule = &mut app.analysis.rules[i];
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
    });
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

fn rule_list(
    app: &mut PersonaApp,
    ui: &mut egui::Ui,
    pop: Option<&Population>,
    findings: &[Finding],
    personas: &[(String, String)],
) {
    ui.label(RichText::new("Priority order (first match per slot wins)").strong());
    let mut moved: Option<(usize, usize)> = None;
    let n = app.analysis.rules.len();
    let counts = &mut app.ui_state.rules.counts;
    let selected = &mut app.ui_state.rules.selected;
    egui::ScrollArea::vertical()
        .id_salt("rule_list_scroll")
        .max_height((ui.available_height() - 260.0).max(120.0))
        .show(ui, |ui| {
            for (i, r) in app.analysis.rules.iter_mut().enumerate() {
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
                    let reach =
                        pop.map(|p| cached_count(counts, &population::optimistic(&r.when, p), p));
                    let bound = if pop.is_some_and(|p| population::needs_session(&r.when, p)) {
                        "up to "
                    } else {
                        ""
                    };
                    ui.label(
                        RichText::new(match reach {
                            Some(c) => format!("{} · {bound}{c} users", r.action.slot),
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
    if n == 0 {
        ui.label(RichText::new("No rules yet.").weak());
    }
    ui.horizontal_wrapped(|ui| {
        if ui.button("Add rule").clicked() {
            let id = rules::fresh_id(&app.analysis.rules);
            let mut r = Rule::new(id, n as u32 + 1);
            r.name = format!("Rule {}", n + 1);
            app.analysis.rules.push(r);
            app.ui_state.rules.selected = Some(n);
        }
        ui.menu_button("Add from template", |ui| {
            let mut chosen = None;
            for (t, template) in app.templates.iter().enumerate() {
                if ui.button(&template.title).clicked() {
                    chosen = Some(t);
                    ui.close();
                }
            }
            if let Some(t) = chosen {
                add_from_template(app, t, n, personas);
            }
        });
        let sel = app.ui_state.rules.selected.filter(|&i| i < n);
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
                let mut r = app.analysis.rules[i].clone();
                r.id = rules::fresh_id(&app.analysis.rules);
                r.name = format!("{} (copy)", r.name);
                app.analysis.rules.insert(i + 1, r);
                rules::renumber(&mut app.analysis.rules);
                app.ui_state.rules.selected = Some(i + 1);
            }
            if ui.button("Delete rule").clicked() {
                app.analysis.rules.remove(i);
                rules::renumber(&mut app.analysis.rules);
                app.ui_state.rules.selected = None;
            }
        }
    });
    if let Some((from, to)) = moved
        && from != to
    {
        rules::move_rule(&mut app.analysis.rules, from, to);
        app.ui_state.rules.selected = Some(to);
    }

    ui.separator();
    ui.label(RichText::new("Guardrails (all rules)").strong());
    let g = &mut app.analysis.guardrails;
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

/// A checkbox that turns a limit on or off, and its value.
fn optional_u32(ui: &mut egui::Ui, label: &str, v: &mut Option<u32>, default: u32) {
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

/// A rule from template `t`: thresholds from the analysed users, a trained score where the template
/// prefers one; what came from the data is said in a message.
fn add_from_template(app: &mut PersonaApp, t: usize, n: usize, personas: &[(String, String)]) {
    let Some(template) = app.templates.get(t).cloned() else {
        return;
    };
    let profile = app.analysis.profile.clone();
    let percentile = |f: &str, p: f64| -> Option<f64> {
        let col = profile.as_ref()?.column(f).ok()?;
        let mut v: Vec<f64> = col
            .into_iter()
            .flatten()
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(persona_lab::features::transform::quantile(&v, p / 100.0))
    };
    let scores: Vec<(String, f64)> = app
        .analysis
        .prediction
        .as_ref()
        .map(|p| vec![(p.model.name.clone(), p.model.bands.1)])
        .unwrap_or_default();
    let ctx = rules::TemplateContext {
        personas,
        percentile: &percentile,
        scores: &scores,
    };
    let id = rules::fresh_id(&app.analysis.rules);
    let (rule, notes) = template.instantiate(id, n as u32 + 1, &ctx);
    if !notes.is_empty() {
        app.info(format!("{}: {}", template.title, notes.join("; ")));
    }
    app.analysis.rules.push(rule);
    app.ui_state.rules.selected = Some(n);
}

/// What the condition editor needs besides the rule.
struct EditCtx<'a> {
    personas: &'a [(String, String)],
    features: &'a [String],
    pop: Option<&'a Population>,
    counts: &'a mut HashMap<String, usize>,
    hists: &'a mut HashMap<String, Arc<FeatureHist>>,
}

/// How many users a condition matches, cached by the condition's text (the cache is cleared when
/// the population changes).
fn cached_count(cache: &mut HashMap<String, usize>, c: &Condition, pop: &Population) -> usize {
    let key = format!("{c:?}");
    *cache
        .entry(key)
        .or_insert_with(|| population::count(c, pop))
}

fn match_label(ui: &mut egui::Ui, c: &Condition, ctx: &mut EditCtx) {
    let Some(p) = ctx.pop else {
        ui.label(RichText::new("counting…").weak());
        return;
    };
    let pct = |n: usize| {
        if p.n > 0 {
            100.0 * n as f64 / p.n as f64
        } else {
            0.0
        }
    };
    let text = match c {
        Condition::EventCount(..) => "known per session, not from profiles".to_string(),
        Condition::Score(name, _) if !p.scores.contains_key(name) => {
            "needs a predicted score: train a model in Predict".to_string()
        }
        c if population::needs_session(c, p) => {
            let up = cached_count(ctx.counts, &population::optimistic(c, p), p);
            let now = cached_count(ctx.counts, c, p);
            format!(
                "up to {up} users ({:.1}%) when the session and score conditions hold; {now} with an empty session",
                pct(up)
            )
        }
        c => {
            let n = cached_count(ctx.counts, c, p);
            format!("matches {n} users ({:.1}%)", pct(n))
        }
    };
    ui.label(RichText::new(text).weak());
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
    ctx: &EditCtx,
    names: &dyn Fn(&str) -> String,
) {
    let Some(pop) = ctx.pop else {
        return;
    };
    let mask = population::matches(&population::optimistic(&rule.when, pop), pop);
    let Some(u) = mask.iter().position(|&m| m) else {
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

fn date_field(ui: &mut egui::Ui, label: &str, v: &mut Option<String>, id: (&str, usize)) {
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

fn action_ui(ui: &mut egui::Ui, rule: &mut Rule, i: usize) {
    let a = &mut rule.action;
    egui::Grid::new(("action", i))
        .num_columns(2)
        .show(ui, |ui| {
            let l = ui.label("Content module");
            ui.add(
                egui::TextEdit::singleline(&mut a.module)
                    .hint_text("e.g. recommendation_carousel")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Slot");
            ui.add(
                egui::TextEdit::singleline(&mut a.slot)
                    .hint_text("e.g. home_hero")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            super::help::term_label(ui, "Holdout (control) %", super::help::Term::Holdout);
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

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Always,
    PersonaIn,
    PersonaNotIn,
    Feature,
    EventCount,
    Score,
    Returning,
    Consent,
    All,
    Any,
    Not,
}

const KINDS: [(Kind, &str); 11] = [
    (Kind::Always, "everyone"),
    (Kind::PersonaIn, "persona is one of"),
    (Kind::PersonaNotIn, "persona is none of"),
    (Kind::Feature, "profile feature"),
    (Kind::EventCount, "recent event count"),
    (Kind::Score, "predicted score"),
    (Kind::Returning, "returning / first visit"),
    (Kind::Consent, "consent"),
    (Kind::All, "all of"),
    (Kind::Any, "any of"),
    (Kind::Not, "not"),
];

fn kind_of(c: &Condition) -> Kind {
    match c {
        Condition::Always => Kind::Always,
        Condition::PersonaIn(_) => Kind::PersonaIn,
        Condition::PersonaNotIn(_) => Kind::PersonaNotIn,
        Condition::Feature(..) => Kind::Feature,
        Condition::EventCount(..) => Kind::EventCount,
        Condition::Score(..) => Kind::Score,
        Condition::Returning(_) => Kind::Returning,
        Condition::Consent(_) => Kind::Consent,
        Condition::All(_) => Kind::All,
        Condition::Any(_) => Kind::Any,
        Condition::Not(_) => Kind::Not,
    }
}

/// The condition a kind change turns `old` into: groups wrap the old condition (or keep its
/// children), leaves start from sensible values.
fn convert(old: &Condition, kind: Kind, ctx: &mut EditCtx) -> Condition {
    let children = || match old {
        Condition::All(cs) | Condition::Any(cs) => cs.clone(),
        Condition::Always => vec![],
        other => vec![other.clone()],
    };
    let first_persona = || {
        ctx.personas
            .first()
            .map(|(i, _)| vec![i.clone()])
            .unwrap_or_default()
    };
    match kind {
        Kind::Always => Condition::Always,
        Kind::PersonaIn => Condition::PersonaIn(first_persona()),
        Kind::PersonaNotIn => Condition::PersonaNotIn(first_persona()),
        Kind::Feature => {
            let f = ctx
                .features
                .iter()
                .find(|f| *f == "sessions")
                .or(ctx.features.first())
                .cloned()
                .unwrap_or_else(|| "sessions".into());
            let t = feature_hist(ctx, &f)
                .map(|h| round_nice(h.median))
                .unwrap_or(0.0);
            Condition::Feature(f, Cmp::Gt(t))
        }
        Kind::EventCount => Condition::EventCount(
            EventMatch::Kind(EventKind::ProductView),
            Window::Session,
            Cmp::Gt(2.0),
        ),
        Kind::Score => Condition::Score("churn_risk".into(), Cmp::Gt(0.7)),
        Kind::Returning => Condition::Returning(true),
        Kind::Consent => Condition::Consent(true),
        Kind::All => Condition::All(children()),
        Kind::Any => Condition::Any(children()),
        Kind::Not => Condition::Not(Box::new(old.clone())),
    }
}

/// A threshold people would type: two significant digits.
fn round_nice(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return 0.0;
    }
    let mag = 10f64.powf(x.abs().log10().floor() - 1.0);
    (x / mag).round() * mag
}

/// One node of the condition tree; returns true when the user asked to remove it.
fn condition_ui(
    ui: &mut egui::Ui,
    c: &mut Condition,
    path: &str,
    ctx: &mut EditCtx,
    removable: bool,
) -> bool {
    let mut remove = false;
    let kind = kind_of(c);
    let mut new_kind = kind;
    ui.horizontal(|ui| {
        egui::ComboBox::new(("kind", path), "")
            .selected_text(KINDS.iter().find(|k| k.0 == kind).map_or("", |k| k.1))
            .show_ui(ui, |ui| {
                for (k, label) in KINDS {
                    ui.selectable_value(&mut new_kind, k, label);
                }
            })
            .response
            .accessible_name("Condition kind");
        leaf_fields(ui, c, path, ctx);
        if !matches!(c, Condition::All(_) | Condition::Any(_) | Condition::Not(_)) {
            match_label(ui, c, ctx);
        }
        if removable && ui.small_button("Remove condition").clicked() {
            remove = true;
        }
    });
    if new_kind != kind {
        *c = convert(c, new_kind, ctx);
    }
    if let Condition::Feature(f, cmp) = c
        && let Some(h) = feature_hist(ctx, f)
    {
        distribution(ui, &h, *cmp, path);
    }
    match c {
        Condition::All(cs) | Condition::Any(cs) => {
            ui.indent(("group", path), |ui| {
                let mut gone = None;
                for (j, child) in cs.iter_mut().enumerate() {
                    if condition_ui(ui, child, &format!("{path}.{j}"), ctx, true) {
                        gone = Some(j);
                    }
                }
                if let Some(j) = gone {
                    cs.remove(j);
                }
                if ui.small_button("Add condition").clicked() {
                    let leaf = convert(&Condition::Always, Kind::Feature, ctx);
                    cs.push(leaf);
                }
            });
            // The root's count is on the "When" line already.
            if path.contains('.') {
                let (n, what) = (cs.len(), if kind == Kind::All { "all" } else { "any" });
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("{what} of these {n}")).weak());
                    match_label(ui, c, ctx);
                });
            }
        }
        Condition::Not(inner) => {
            ui.indent(("not", path), |ui| {
                condition_ui(ui, inner, &format!("{path}.n"), ctx, false);
            });
            ui.horizontal(|ui| {
                ui.label(RichText::new("not the above").weak());
                match_label(ui, c, ctx);
            });
        }
        _ => {}
    }
    remove
}

/// The fields of a leaf condition, on the kind picker's line.
fn leaf_fields(ui: &mut egui::Ui, c: &mut Condition, path: &str, ctx: &mut EditCtx) {
    match c {
        Condition::PersonaIn(ids) | Condition::PersonaNotIn(ids) => {
            let text = if ids.is_empty() {
                "choose personas".to_string()
            } else {
                ids.iter()
                    .map(|i| {
                        ctx.personas
                            .iter()
                            .find(|(p, _)| p == i)
                            .map_or(i.clone(), |(_, n)| n.clone())
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            egui::ComboBox::new(("personas", path), "")
                .selected_text(text)
                .width(260.0)
                .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
                .show_ui(ui, |ui| {
                    for (id, name) in ctx.personas {
                        let mut on = ids.contains(id);
                        if ui.checkbox(&mut on, name).changed() {
                            if on {
                                ids.push(id.clone());
                            } else {
                                ids.retain(|x| x != id);
                            }
                        }
                    }
                })
                .response
                .accessible_name("Personas");
        }
        Condition::Feature(f, cmp) => {
            egui::ComboBox::new(("feature", path), "")
                .selected_text(f.as_str())
                .width(200.0)
                .show_ui(ui, |ui| {
                    for name in ctx.features {
                        ui.selectable_value(f, name.clone(), name);
                    }
                })
                .response
                .accessible_name("Feature");
            cmp_ui(ui, cmp, path);
        }
        Condition::EventCount(ev, win, cmp) => {
            let label = match ev {
                EventMatch::Kind(k) => k.label().to_string(),
                EventMatch::Name(n) => format!("event {n:?}"),
            };
            egui::ComboBox::new(("event", path), "")
                .selected_text(label)
                .show_ui(ui, |ui| {
                    for k in EventKind::ALL {
                        ui.selectable_value(ev, EventMatch::Kind(k), k.label());
                    }
                    if !matches!(ev, EventMatch::Name(_))
                        && ui.selectable_label(false, "a named event…").clicked()
                    {
                        *ev = EventMatch::Name("event_name".into());
                    }
                })
                .response
                .accessible_name("Event");
            if let EventMatch::Name(n) = ev {
                ui.add(
                    egui::TextEdit::singleline(n)
                        .desired_width(120.0)
                        .id_salt(("event_name", path)),
                );
            }
            let mut days = match win {
                Window::Session => 0,
                Window::Days(d) => *d,
            };
            egui::ComboBox::new(("window", path), "")
                .selected_text(if days == 0 {
                    "in this session".to_string()
                } else {
                    "in the last N days".to_string()
                })
                .show_ui(ui, |ui| {
                    if ui.selectable_label(days == 0, "in this session").clicked() {
                        days = 0;
                    }
                    if ui
                        .selectable_label(days > 0, "in the last N days")
                        .clicked()
                        && days == 0
                    {
                        days = 7;
                    }
                })
                .response
                .accessible_name("Window");
            if days > 0 {
                let l = ui.label("N =");
                ui.add(
                    egui::DragValue::new(&mut days)
                        .range(1..=365)
                        .suffix(" days"),
                )
                .labelled_by(l.id);
            }
            *win = if days == 0 {
                Window::Session
            } else {
                Window::Days(days)
            };
            cmp_ui(ui, cmp, path);
        }
        Condition::Score(s, cmp) => {
            egui::ComboBox::new(("score", path), "")
                .selected_text(s.as_str())
                .show_ui(ui, |ui| {
                    for name in ["churn_risk", "conversion_score"] {
                        ui.selectable_value(s, name.to_string(), name);
                    }
                })
                .response
                .accessible_name("Score");
            cmp_ui(ui, cmp, path);
        }
        Condition::Returning(b) => {
            ui.selectable_value(b, true, "returning visitor");
            ui.selectable_value(b, false, "first visit");
        }
        Condition::Consent(b) => {
            ui.selectable_value(b, true, "consented");
            ui.selectable_value(b, false, "did not consent");
        }
        _ => {}
    }
}

const OPS: [&str; 6] = [">", ">=", "<", "<=", "=", "between"];

fn cmp_ui(ui: &mut egui::Ui, cmp: &mut Cmp, path: &str) {
    let (op, a, b) = match *cmp {
        Cmp::Gt(t) => (0, t, t),
        Cmp::Ge(t) => (1, t, t),
        Cmp::Lt(t) => (2, t, t),
        Cmp::Le(t) => (3, t, t),
        Cmp::Eq(t) => (4, t, t),
        Cmp::Between(x, y) => (5, x, y),
    };
    let (mut op2, mut a2, mut b2) = (op, a, b);
    let combo = egui::ComboBox::new(("op", path), "")
        .width(60.0)
        .selected_text(OPS[op])
        .show_ui(ui, |ui| {
            for (j, o) in OPS.iter().enumerate() {
                ui.selectable_value(&mut op2, j, *o);
            }
        })
        .response;
    let speed = (a.abs() * 0.01).max(0.01);
    ui.add(egui::DragValue::new(&mut a2).speed(speed))
        .accessible_name("Threshold");
    let _ = combo.accessible_name("Operator");
    if op2 == 5 {
        let and = ui.label("and");
        if op != 5 {
            b2 = a2;
        }
        ui.add(egui::DragValue::new(&mut b2).speed(speed))
            .labelled_by(and.id);
    }
    *cmp = match op2 {
        0 => Cmp::Gt(a2),
        1 => Cmp::Ge(a2),
        2 => Cmp::Lt(a2),
        3 => Cmp::Le(a2),
        4 => Cmp::Eq(a2),
        _ => Cmp::Between(a2, b2),
    };
}

/// The distribution of a feature over the analysed users (1st to 99th percentile), cached.
fn feature_hist(ctx: &mut EditCtx, f: &str) -> Option<Arc<FeatureHist>> {
    if let Some(h) = ctx.hists.get(f) {
        return Some(h.clone());
    }
    let col = ctx.pop?.features.get(f)?;
    let h = Arc::new(feature_hist_of(col)?);
    ctx.hists.insert(f.to_string(), h.clone());
    Some(h)
}

/// Histogram of the present values between the 1st and 99th percentile, with median and deciles.
pub fn feature_hist_of(col: &[Option<f64>]) -> Option<FeatureHist> {
    let mut v: Vec<f64> = col
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let (lo, hi) = (q(0.01), q(0.99));
    let clipped: Vec<f64> = v.iter().copied().filter(|x| *x >= lo && *x <= hi).collect();
    let (lo, width, counts) = charts::histogram(&clipped, 30);
    Some(FeatureHist {
        lo,
        width,
        counts,
        median: q(0.5),
        p10: q(0.1),
        p90: q(0.9),
    })
}

fn distribution(ui: &mut egui::Ui, h: &FeatureHist, cmp: Cmp, path: &str) {
    ui.label(
        RichText::new(format!(
            "distribution (1st-99th percentile): median {}, 10% {}, 90% {}",
            rules::describe::num(h.median),
            rules::describe::num(h.p10),
            rules::describe::num(h.p90)
        ))
        .weak(),
    );
    let bars: Vec<Bar> = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar::new(h.lo + h.width * (i as f64 + 0.5), c as f64).width(h.width))
        .collect();
    Plot::new(("dist", path))
        .height(70.0)
        .width(420.0)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .show_y(false)
        .show(ui, |p| {
            p.add(BarChart::new("users", bars).color(Color32::from_rgb(0, 114, 178)));
            for t in cmp.thresholds() {
                p.add(VLine::new("threshold", t).color(ERROR).width(2.0));
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_distribution_clips_to_percentiles_and_reports_quantiles() {
        let mut col: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64)).collect();
        col.push(None);
        col.push(Some(1e9)); // an outlier beyond the 99th percentile is not drawn
        let h = feature_hist_of(&col).unwrap();
        assert_eq!(h.median, 50.0);
        assert_eq!(h.p10, 10.0);
        assert_eq!(h.p90, 90.0);
        assert!(h.lo >= 1.0 && h.lo + h.width * 30.0 <= 100.0 + 1e-9);
        assert_eq!(h.counts.iter().sum::<usize>(), 99);
        assert!(feature_hist_of(&[None, None]).is_none());
    }

    #[test]
    fn thresholds_are_rounded_to_two_significant_digits() {
        assert_eq!(round_nice(1234.0), 1200.0);
        assert!((round_nice(0.04567) - 0.046).abs() < 1e-12);
        assert_eq!(round_nice(0.0), 0.0);
        assert_eq!(round_nice(-37.0), -37.0);
    }
}
