//! What a chosen file starts: the app's exports (rule set, assignments, persona summary, high-risk
//! list, a selection) and the files it reads for the Monitor (outcomes, a deployed rule set). Each
//! runs on the task registry and reports back as a `Done`; views only ask for the file.

use std::path::PathBuf;
use std::sync::Arc;

use persona_lab::monitor::{drift, outcomes, report};
use persona_lab::predict;
use persona_lab::rules::Severity;
use persona_lab::ruleset::{RuleSet, summary};

use super::actions::Action;
use super::app::PersonaApp;
use super::files::FilePurpose;
use super::tasks::{Done, Kind};

/// Ask where, then write the previewed text (what the user saw is what is saved).
pub fn ask_save_rule_set(app: &mut PersonaApp) {
    let Some(p) = app.export_preview() else {
        return;
    };
    if p.findings.iter().any(|f| f.severity == Severity::Error) {
        app.ui_state.view = super::state::View::Export;
        app.ui_state
            .error("the rule set has errors (see Export): fix them before saving it");
        return;
    }
    app.push(Action::AskFile(FilePurpose::SaveRuleSet));
}

/// Write the rule set as previewed, on a worker: the previewed RON, or the same rule set as JSON when
/// the name ends in `.json`.
pub fn save_rule_set(app: &mut PersonaApp, path: PathBuf) {
    let Some(p) = app.export_preview() else {
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
        Err(e) => app.ui_state.error(e),
    }
}

pub fn export_assignments(app: &mut PersonaApp, path: PathBuf) {
    let Some(run) = app.analysis.run.clone() else {
        return;
    };
    let names = app.analysis.persona_names(run.segmentation.k);
    let out = path.clone();
    app.spawn(
        Kind::Export,
        "Exporting assignments",
        move |_| {
            let defused = run
                .write_assignments(&out, &names)
                .map_err(|e| e.to_string())?;
            let mut said = format!("wrote {} ({} users)", out.display(), run.matrix.n_rows);
            if let Some(note) = defused.note(&out) {
                said = format!("{said}. {note}");
            }
            Ok(said)
        },
        Done::Export,
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
    app.spawn(
        Kind::Export,
        label,
        move |_| {
            let text = make()?;
            persona_lab::output::write_bytes(&path, text.as_bytes()).map_err(|e| e.to_string())?;
            Ok(format!("wrote {}", path.display()))
        },
        Done::Export,
    );
}

/// The high band as CSV (user_id, score, band, persona), on a worker: the core's table, written as
/// every CSV output is (atomic, spreadsheet formulas defused).
pub fn export_high(app: &mut PersonaApp, path: PathBuf) {
    let Some(p) = app.analysis.prediction.clone() else {
        return;
    };
    // Each user's segment in the current run, when one was clustered: the Predict view's, or
    // worked out on the worker when it is not ready.
    let cached = app.caches.risk(&app.analysis);
    let basis = app.analysis.basis();
    let names = app.analysis.persona_names(app.analysis.personas.len());
    spawn_table(app, "Exporting high-risk users", path, move || {
        let risk = cached.or_else(|| basis.and_then(|b| b.segment_risk()).map(Arc::new));
        predict::high_band_table(
            &p.users,
            &p.scores,
            p.model.bands,
            risk.as_ref().map(|r| r.segment_of.as_slice()),
            &names,
        )
        .map_err(|e| e.to_string())
    });
}

/// Write the current selection where the user chose (the core's `selection_table`), on a worker:
/// the table grows with the selection.
pub fn export_selection_to(app: &mut PersonaApp, path: PathBuf) {
    let Some(run) = app.analysis.run.clone() else {
        return;
    };
    let selection = app.ui_state.selection.users();
    spawn_table(app, "Exporting the selection", path, move || {
        run.selection_table(&selection).map_err(|e| e.to_string())
    });
}

/// The selection's table as TSV for the clipboard, made on a worker (a row per selected user).
pub fn copy_selection(app: &mut PersonaApp) {
    let Some(run) = app.analysis.run.clone() else {
        return;
    };
    let selection = app.ui_state.selection.users();
    app.spawn(
        Kind::Clipboard,
        "Copying the selection",
        move |_| {
            let text = super::chart_export::selection_tsv(&selection, &run);
            let m = format!(
                "copied {} rows (with user ids) to the clipboard",
                selection.len()
            );
            Ok((text, m))
        },
        Done::Copied,
    );
}

/// Make a table on a worker and write it as every CSV output is (atomic, spreadsheet formulas
/// defused), saying how many users it holds.
fn spawn_table(
    app: &mut PersonaApp,
    label: &str,
    path: PathBuf,
    make: impl FnOnce() -> Result<polars::prelude::DataFrame, String> + Send + 'static,
) {
    app.spawn(
        Kind::Export,
        label,
        move |_| {
            let mut t = make()?;
            let defused =
                persona_lab::output::write_table(&mut t, &path).map_err(|e| e.to_string())?;
            let mut m = format!("wrote {} ({} users)", path.display(), t.height());
            if let Some(note) = defused.note(&path) {
                m.push_str(&format!("; {note}"));
            }
            Ok(m)
        },
        Done::Export,
    );
}

/// Read an outcomes export and report on it (rules named from the current rule set), in the background.
pub fn load_outcomes(app: &mut PersonaApp, path: PathBuf) {
    let rs = app.rule_set();
    app.spawn(
        Kind::Monitor,
        "Rule performance",
        move |job| {
            job.progress("reading outcomes", 0.0);
            let o = outcomes::read(&path, &outcomes::OutcomeColumns::default())
                .map_err(|e| e.to_string())?;
            job.progress("statistics", 0.5);
            Ok(report::report(rs.as_ref(), &o, 0))
        },
        Done::Monitor,
    );
}

/// Compare a deployed rule set with the current analysis on the loaded export, in the background.
pub fn compare_deployed(app: &mut PersonaApp, path: PathBuf) {
    let (Some(loaded), Some(current)) = (app.analysis.loaded.clone(), app.rule_set()) else {
        app.ui_state.error(
            "load and cluster an export first: drift compares it with the deployed rule set",
        );
        return;
    };
    app.spawn(
        Kind::Drift,
        "Segment drift",
        move |job| {
            let old = RuleSet::read(&path).map_err(|e| e.to_string())?;
            drift::drift(&old, Some(&current), &loaded, job).map_err(|e| e.to_string())
        },
        Done::Drift,
    );
}
