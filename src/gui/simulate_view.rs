//! Simulate: pick an analysed user (or type a profile) and a session, and see which rules fire, in
//! order, with their explanations, exactly as `persona-lab decide` computes it from the exported file;
//! and the coverage table: how many analysed users each rule reaches, and how many no rule reaches.

use egui::{Color32, RichText};
use persona_lab::rules::{Outcome, Session, UserProfile};
use persona_lab::ruleset::{Decisions, Misses};

use super::actions::Action;
use super::charts::colour;
use super::cx::Cx;
use super::state::{SimKey, SimPick};

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    ui.heading("Simulate");
    if cx.analysis.run.is_none() {
        ui.label("Cluster the data first.");
        return;
    }
    let pop = cx.population();
    egui::Panel::right("coverage")
        .resizable(true)
        .default_size(420.0)
        .show(ui, |ui| coverage(cx, ui));
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("simulate")
            .show(ui, |ui| {
                pick_user(cx, ui, pop.as_deref());
                ui.separator();
                result(cx, ui);
                ui.separator();
                inputs(cx, ui);
            });
    });
}

fn pick_user(cx: &mut Cx, ui: &mut egui::Ui, pop: Option<&persona_lab::rules::Population>) {
    let Some(pop) = pop else {
        ui.label("Preparing the analysed users…");
        return;
    };
    let st = &mut cx.state.rules;
    let mut pick: Option<SimPick> = None;
    ui.horizontal(|ui| {
        let l = ui.label("User id");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut st.sim_user)
                    .hint_text("an analysed user's id")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
        if (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
            || ui.button("Load user").clicked()
        {
            pick = Some(SimPick::Id(st.sim_user.trim().to_string()));
        }
        if ui.button("Next user").clicked() && pop.n > 0 {
            pick = Some(SimPick::Next {
                after: st.sim_user.clone(),
                segment: None,
            });
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("A user of persona:");
        for (s, id) in pop.persona_ids.iter().enumerate() {
            let name = cx
                .analysis
                .personas
                .iter()
                .find(|p| &p.id == id)
                .map_or(id.clone(), |p| p.name.clone());
            if ui
                .button(RichText::new(name).color(colour(s)))
                .on_hover_text("the next user of this segment")
                .clicked()
            {
                pick = Some(SimPick::Next {
                    after: st.sim_user.clone(),
                    segment: Some(s),
                });
            }
        }
    });
    // Finding the user reads every analysed id: on a worker, like every pick.
    if let Some(p) = pick {
        cx.push(Action::SimulateUser(p));
    }
    let st = &mut cx.state.rules;
    if let Some(e) = &st.sim_error {
        ui.label(RichText::new(e).color(Color32::from_rgb(213, 94, 0)));
    }
}

/// A session to start from: now, no events yet, nothing shown yet.
pub fn default_session() -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "{{\n  \"now\": \"{now}\",\n  \"events\": [\n    {{ \"event\": \"view_item\", \"time\": \"{now}\" }}\n  ],\n  \"shown\": []\n}}"
    )
}

fn inputs(cx: &mut Cx, ui: &mut egui::Ui) {
    let st = &mut cx.state.rules;
    if st.sim_session.is_empty() {
        st.sim_session = default_session();
    }
    ui.columns(2, |cols| {
        json_editor(
            &mut cols[0],
            "Profile (JSON, editable)",
            &mut st.sim_profile,
            "pick a user above, or type {\"user_id\": …, \"features\": {…}}",
        );
        json_editor(
            &mut cols[1],
            "Session (JSON, editable)",
            &mut st.sim_session,
            "",
        );
    });
}

/// A labelled, scrolling JSON editor as wide as its column.
fn json_editor(ui: &mut egui::Ui, label: &str, text: &mut String, hint: &str) {
    let l = ui.label(label);
    egui::ScrollArea::vertical()
        .id_salt(label)
        .max_height(320.0)
        .show(ui, |ui| {
            ui.add(
                egui::TextEdit::multiline(text)
                    .code_editor()
                    .desired_rows(14)
                    .desired_width(f32::INFINITY)
                    .hint_text(hint),
            )
            .labelled_by(l.id)
        });
}

/// Decide for the typed profile and session with the rule set as it would be exported now.
/// Recomputed only when an input changed.
fn result(cx: &mut Cx, ui: &mut egui::Ui) {
    if cx.state.rules.sim_profile.trim().is_empty() {
        ui.label("Pick a user to see what the rules decide for them.");
        return;
    }
    let key = SimKey {
        profile: cx.state.rules.sim_profile.clone(),
        session: cx.state.rules.sim_session.clone(),
        personas: cx.analysis.personas.clone(),
        rules: cx.analysis.rules.clone(),
        guardrails: cx.analysis.guardrails.clone(),
    };
    if cx.state.rules.sim_result.as_ref().map(|r| &r.0) != Some(&key) {
        let r = simulate(cx, &key.profile, &key.session);
        cx.state.rules.sim_result = Some((key, r));
    }
    let Some((_, r)) = &cx.state.rules.sim_result else {
        return;
    };
    match r {
        Err(e) => {
            ui.label(RichText::new(e).color(Color32::from_rgb(213, 94, 0)));
        }
        Ok((d, m)) => decisions(ui, d, m, &cx.analysis.rules),
    }
}

/// `RuleSet::decide` on the inputs: the same call as `persona-lab decide`.
pub fn simulate(cx: &Cx, profile: &str, session: &str) -> Result<(Decisions, Misses), String> {
    let p: UserProfile = serde_json::from_str(profile).map_err(|e| format!("profile JSON: {e}"))?;
    let s: Session = if session.trim().is_empty() {
        Session::default()
    } else {
        serde_json::from_str(session).map_err(|e| format!("session JSON: {e}"))?
    };
    let rs = cx
        .analysis
        .rule_set()
        .ok_or_else(|| "no clustering to decide with".to_string())?;
    let d = rs.decide(&p, &s).map_err(|e| e.to_string())?;
    // Why the others missed: said beside "condition not met".
    let m = rs.misses(&p, &s).map_err(|e| e.to_string())?;
    Ok((d, m))
}

fn decisions(
    ui: &mut egui::Ui,
    d: &Decisions,
    misses: &Misses,
    rules: &[persona_lab::rules::Rule],
) {
    ui.label(
        RichText::new(format!(
            "Segment {} · persona {}",
            d.segment, d.persona_name
        ))
        .strong()
        .color(colour(d.segment)),
    );
    if d.decisions.is_empty() {
        ui.label("No rule decides anything for this user: every slot shows its default content.");
    } else {
        ui.label(RichText::new("Shown").strong());
        super::widgets::table(
            ui,
            "decisions",
            &[
                "slot",
                "module",
                "variant",
                "rule",
                "why am I seeing this? (the customer's words)",
                "what matched (exactly)",
            ],
            |ui| {
                for x in &d.decisions {
                    ui.label(&x.slot);
                    ui.label(x.module.as_deref().unwrap_or("(default: holdout)"));
                    ui.label(x.variant.as_deref().unwrap_or("-"));
                    ui.label(&x.rule_name);
                    // Long texts wrap in narrow columns, so the table fits beside the coverage panel.
                    ui.scope(|ui| {
                        ui.set_max_width(260.0);
                        ui.add(egui::Label::new(&x.explanation).wrap());
                    });
                    ui.scope(|ui| {
                        ui.set_max_width(160.0);
                        ui.add(egui::Label::new(RichText::new(&x.condition).weak()).wrap());
                    });
                    ui.end_row();
                }
            },
        );
    }
    ui.label(RichText::new("Every rule, in evaluation order").strong());
    let header = [
        "priority",
        "rule",
        "outcome",
        "why not (what this user has)",
    ];
    super::widgets::table(ui, "trace", &header, |ui| {
        for t in &d.trace {
            ui.label(t.priority.to_string());
            let name = rules
                .iter()
                .find(|r| r.id == t.rule)
                .map_or("", |r| &r.name);
            ui.label(format!("{name} ({})", t.rule));
            let text = RichText::new(t.outcome.to_string());
            ui.label(match t.outcome {
                Outcome::Decided { holdout: false } => text.color(Color32::from_rgb(0, 158, 115)),
                _ => text,
            });
            // The parts of the condition that failed, with this user's values.
            let why = match (&t.outcome, misses.get(&t.rule)) {
                (Outcome::NotMatched, Some(parts)) => parts.join("; "),
                _ => String::new(),
            };
            ui.scope(|ui| {
                ui.set_max_width(360.0);
                ui.add(egui::Label::new(RichText::new(why).weak()).wrap());
            });
            ui.end_row();
        }
    });
}

fn coverage(cx: &mut Cx, ui: &mut egui::Ui) {
    ui.label(RichText::new("Coverage of the analysed users").strong());
    ui.label(
        RichText::new(
            "Decided for every user with an empty session: event-count conditions see no events, \
             predicted scores are unknown.",
        )
        .weak(),
    );
    let Some((fresh, cov)) = cx.caches.coverage(cx.analysis) else {
        ui.label("Computing…");
        return;
    };
    if !fresh {
        ui.label(RichText::new("updating…").weak());
    }
    let share = |n: usize| {
        if cov.users == 0 {
            0.0
        } else {
            100.0 * n as f64 / cov.users as f64
        }
    };
    super::widgets::table(
        ui,
        "coverage_grid",
        &["rule", "shown", "holdout", "share"],
        |ui| {
            for r in &cx.analysis.rules {
                let (shown, held) = cov.per_rule.get(&r.id).copied().unwrap_or((0, 0));
                ui.label(format!("{}. {}", r.priority, r.name));
                ui.label(shown.to_string());
                ui.label(held.to_string());
                ui.label(format!("{:.1}%", share(shown + held)));
                ui.end_row();
            }
        },
    );
    ui.label(format!(
        "Reached by no rule: {} of {} users ({:.1}%)",
        cov.reached_by_none,
        cov.users,
        share(cov.reached_by_none)
    ));
    if let Some((e, n)) = &cov.errors {
        ui.label(
            RichText::new(format!("{n} users could not be decided: {e}"))
                .color(Color32::from_rgb(213, 94, 0)),
        );
    }
}
