//! The condition editor: a tree of conditions with pickers, live match counts, and a feature's
//! distribution with the threshold drawn on it.

use super::*;

/// How many users the condition matches, measured on a worker (None until then).
pub(super) fn match_label(ui: &mut egui::Ui, c: &Condition, ctx: &mut EditCtx) {
    let counting = || RichText::new("counting…").weak();
    let Some(p) = ctx.pop else {
        ui.label(counting());
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
            let up = ctx.count(&population::optimistic(c, p));
            let (Some(up), Some(now)) = (up, ctx.count(c)) else {
                ui.label(counting());
                return;
            };
            format!(
                "up to {up} users ({:.1}%) when the session and score conditions hold; {now} with an empty session",
                pct(up)
            )
        }
        c => {
            let Some(n) = ctx.count(c) else {
                ui.label(counting());
                return;
            };
            format!("matches {n} users ({:.1}%)", pct(n))
        }
    };
    ui.label(RichText::new(text).weak());
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
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

pub(super) const KINDS: [(Kind, &str); 11] = [
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

pub(super) fn kind_of(c: &Condition) -> Kind {
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
pub(super) fn convert(old: &Condition, kind: Kind, ctx: &mut EditCtx) -> Condition {
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
            let f = default_feature(ctx.features);
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

/// The feature a new feature condition tests: sessions where the profile has it.
pub(super) fn default_feature(features: &[String]) -> String {
    features
        .iter()
        .find(|f| *f == "sessions")
        .or(features.first())
        .cloned()
        .unwrap_or_else(|| "sessions".into())
}

/// A threshold people would type: two significant digits.
pub(super) fn round_nice(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return 0.0;
    }
    let mag = 10f64.powf(x.abs().log10().floor() - 1.0);
    (x / mag).round() * mag
}

/// One node of the condition tree; returns true when the user asked to remove it.
pub(super) fn condition_ui(
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
pub(super) fn leaf_fields(ui: &mut egui::Ui, c: &mut Condition, path: &str, ctx: &mut EditCtx) {
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

pub(super) const OPS: [&str; 6] = [">", ">=", "<", "<=", "=", "between"];

pub(super) fn cmp_ui(ui: &mut egui::Ui, cmp: &mut Cmp, path: &str) {
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

/// The distribution of a feature over the analysed users (1st to 99th percentile), once measured.
pub(super) fn feature_hist(ctx: &mut EditCtx, f: &str) -> Option<Arc<FeatureHist>> {
    ctx.pop?;
    ctx.measured.hist(f, &mut ctx.asks).flatten()
}

pub(super) fn distribution(ui: &mut egui::Ui, h: &FeatureHist, cmp: Cmp, path: &str) {
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
