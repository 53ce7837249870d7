//! The real app driven by its labels (egui_kittest, no display), one file per view or concern, with
//! the set-up they share here: a harness on the real app, waiting for background work, drawn shapes.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use persona_lab::cluster::Method;
use persona_lab::features::Profile;
use persona_lab::pipeline::ClusterRun;

use super::app::PersonaApp;
use super::data_view::sample_path;
use super::state::{Analysis, Chart, View};

fn harness(app: PersonaApp) -> Harness<'static, PersonaApp> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut PersonaApp| app.show(ui), app)
}

/// Step the UI until `done` holds (background work finishes on its own threads) or fail after a minute.
/// Click the widget labelled `label` and let the frame that follows run.
fn click(h: &mut Harness<'static, PersonaApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_ok();
}

/// `app` in a harness once its analysis is loaded and clustered and nothing runs.
fn loaded(app: PersonaApp) -> Harness<'static, PersonaApp> {
    let mut h = harness(app);
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h
}

/// The app on the bundled sample, loaded and clustered, with nothing running.
fn sample_clustered() -> Harness<'static, PersonaApp> {
    loaded(PersonaApp::new(Some(sample_path())))
}

/// Whether a persona of the analysis has this name.
fn has_persona(a: &PersonaApp, name: &str) -> bool {
    a.analysis.personas.iter().any(|p| p.name == name)
}

fn wait_for(h: &mut Harness<'static, PersonaApp>, what: &str, done: impl Fn(&PersonaApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "timed out waiting for {what}; messages: {:?}",
            h.state().ui_state.messages
        );
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.step();
    h.step();
}

/// Wait until nothing runs and `part` of the analysis is there and satisfies `ok`.
fn wait_until<T>(
    h: &mut Harness<'static, PersonaApp>,
    what: &str,
    part: impl Fn(&Analysis) -> Option<&T>,
    ok: impl Fn(&T) -> bool,
) {
    wait_for(h, what, |a| idle(a) && part(&a.analysis).is_some_and(&ok));
}

/// Wait until nothing runs and the clustering run satisfies `ok`.
fn wait_for_run(
    h: &mut Harness<'static, PersonaApp>,
    what: &str,
    ok: impl Fn(&Arc<ClusterRun>) -> bool,
) {
    wait_until(h, what, |a| a.run.as_ref(), ok);
}

/// Wait until nothing runs and the per-user profile satisfies `ok`.
fn wait_for_profile(
    h: &mut Harness<'static, PersonaApp>,
    what: &str,
    ok: impl Fn(&Arc<Profile>) -> bool,
) {
    wait_until(h, what, |a| a.profile.as_ref(), ok);
}

/// Step until a clustering with `k` segments is done and nothing else runs.
fn wait_for_k(h: &mut Harness<'static, PersonaApp>, what: &str, k: usize) {
    wait_for_run(h, what, |r| r.segmentation.k == k);
}

/// Every shape of the last frame, nested lists flattened.
fn drawn_shapes(h: &Harness<'static, PersonaApp>) -> Vec<egui::Shape> {
    let mut out = Vec::new();
    let mut stack: Vec<egui::Shape> = h.output().shapes.iter().map(|c| c.shape.clone()).collect();
    while let Some(s) = stack.pop() {
        match s {
            egui::Shape::Vec(v) => stack.extend(v),
            s => out.push(s),
        }
    }
    out
}

fn idle(app: &PersonaApp) -> bool {
    !app.busy() && app.ui_state.rerun_at.is_none()
}

/// Click a role's drop-down and pick a column in it.
fn pick(h: &mut Harness<'static, PersonaApp>, combo: &str, option: &str) {
    click(h, combo);
    click(h, option);
}

/// The text of the last CopyText command of the frame.
fn copied(h: &Harness<'static, PersonaApp>) -> Option<String> {
    h.output()
        .platform_output
        .commands
        .iter()
        .rev()
        .find_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
}

/// The time of `n` frames in ms, sorted: each the egui pass plus tessellation (what a frame costs
/// before the GPU), for the frame-time benches.
fn frame_times(h: &mut Harness<'static, PersonaApp>, n: usize) -> Vec<f64> {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            h.step();
            let out = h.output().clone();
            let _ = h.ctx.tessellate(out.shapes, out.pixels_per_point);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// Step until a frame copies text (copies made on a worker land a few frames after the click).
fn step_until_copied(h: &mut Harness<'static, PersonaApp>) {
    let start = Instant::now();
    loop {
        h.step();
        if copied(h).is_some() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing was copied; messages: {:?}",
            h.state().ui_state.messages
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Open a view's warehouse panel (by the start of its heading) and copy its SQL; `view`: the tab to
/// open first (None: the one open).
fn warehouse_sql(h: &mut Harness<'static, PersonaApp>, view: Option<&str>, panel: &str) -> String {
    if let Some(v) = view {
        click(h, v);
    }
    h.get_by_label_contains(panel).click();
    h.run_ok();
    copy_sql(h)
}

/// Press the open warehouse panel's Copy SQL and read what was copied.
fn copy_sql(h: &mut Harness<'static, PersonaApp>) -> String {
    h.get_by_label("Copy SQL").click();
    h.step();
    copied(h).expect("the query is copied")
}

/// GA4's BigQuery export as daily tables in a folder (60 users, 5 days), as an analyst drops it.
fn ga4_days(dir: &std::path::Path) -> PathBuf {
    let folder = dir.join("ga4/");
    let opts = persona_lab::sample::SampleOptions {
        users: 60,
        seed: 4,
        days: 5,
        style: persona_lab::sample::SampleStyle::Ga4BigQuery,
    };
    persona_lab::sample::write_sample(&opts, &folder, None).unwrap();
    folder
}

/// The user ids of the current run, in its order.
fn run_users(h: &Harness<'static, PersonaApp>) -> Vec<String> {
    h.state()
        .analysis
        .run
        .as_ref()
        .unwrap()
        .matrix
        .users
        .clone()
}

mod clusters;
mod data_features;
mod export;
mod personas;
mod predict;
mod rules;
mod session;
