//! The real app driven by its labels (egui_kittest, no display): start on the sample, cluster, look at
//! the charts, change a weight and k, rename a persona.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use persona_lab::cluster::Method;

use super::app::PersonaApp;
use super::data_view::sample_path;
use super::state::{Chart, View};

fn harness(app: PersonaApp) -> Harness<'static, PersonaApp> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut PersonaApp| app.show(ui), app)
}

/// Step the UI until `done` holds (background work finishes on its own threads) or fail after a minute.
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

/// Step until a clustering with `k` segments is done and nothing else runs.
fn wait_for_k(h: &mut Harness<'static, PersonaApp>, what: &str, k: usize) {
    wait_for(h, what, |a| {
        idle(a)
            && a.analysis
                .run
                .as_ref()
                .is_some_and(|r| r.segmentation.k == k)
    });
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

#[test]
fn starts_on_the_sample_clusters_it_and_shows_every_chart() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "the sample to load and cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    h.get_by_label_contains("users      1967");
    let run = h.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 6);
    assert_eq!(run.matrix.n_rows, 1967);

    h.get_by_label("Clusters").click();
    h.run_ok();
    assert_eq!(h.state().ui_state.view, View::Clusters);
    h.get_by_label_contains("Silhouette per user (all 1967 users)");
    let mean = format!("mean {:.3}", run.silhouette.mean);
    assert!(h.get_all_by_label_contains(&mean).count() >= 1);

    h.get_by_label("Scatter").click();
    h.run_ok();
    h.get_by_label_contains("PCA: component 1 explains");

    h.get_by_label("Profiles").click();
    h.run_ok();
    assert_eq!(h.state().ui_state.chart, Chart::Profiles);
    // The z-score table's header, by display name ("sessions" is "Visits").
    h.get_by_label("Visits");
    h.get_by_label_contains("by segment (box: quartiles");
    for p in &run.profiles {
        for s in &p.features {
            assert!(
                s.whisker_low <= s.q1
                    && s.q1 <= s.median
                    && s.median <= s.q3
                    && s.q3 <= s.whisker_high,
                "segment {} {}: {s:?}",
                p.id,
                s.feature
            );
        }
    }

    h.get_by_label("Sweep k").click();
    wait_for(&mut h, "the sweep", |a| {
        a.analysis.sweep.is_some() && idle(a)
    });
    h.get_by_label_contains("Recommended k = 6");
}

#[test]
fn hierarchical_method_draws_the_dendrogram_and_k_follows_settings() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Clusters").click();
    h.run_ok();
    {
        let a = h.state_mut();
        a.analysis.cluster.params.method = Method::Ward;
        a.analysis.cluster.params.k = 4;
        a.ui_state.chart = Chart::Dendrogram;
        a.settings_changed();
    }
    wait_for(&mut h, "ward clustering", |a| {
        idle(a)
            && a.analysis
                .run
                .as_ref()
                .is_some_and(|r| r.segmentation.params.method == Method::Ward)
    });
    let run = h.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 4);
    assert!(run.segmentation.dendrogram.is_some());
    assert!(h.get_all_by_label("Top clusters drawn").count() >= 1);
    h.get_by_label_contains("cut: k = 4");
    // The branches are drawn as lines, not filled bands (egui_plot turns a polyline with vertical
    // runs into a band unless told not to), in the segments' own colours.
    let shapes = drawn_shapes(&h);
    assert!(
        !shapes.iter().any(|s| matches!(s, egui::Shape::Band(_))),
        "a band was drawn"
    );
    for c in 0..4 {
        let want = super::charts::colour(c);
        assert!(
            shapes.iter().any(|s| match s {
                egui::Shape::Path(p) => p.stroke.color == egui::epaint::ColorMode::Solid(want),
                egui::Shape::LineSegment { stroke, .. } => stroke.color == want,
                _ => false,
            }),
            "no line in segment {c}'s colour"
        );
    }
    // A selection made elsewhere shows under the dendrogram's leaves.
    h.state_mut().ui_state.chart = Chart::Silhouette;
    h.run_ok();
    h.get_by_label("Select users with a negative silhouette")
        .click();
    h.run_ok();
    h.state_mut().ui_state.chart = Chart::Dendrogram;
    h.run_ok();
    let n = h.state().ui_state.selection.len();
    assert!(n > 0);
    h.get_by_label(&format!("selected ({n} users)"));
}

#[test]
fn changing_a_weight_reclusters_and_a_persona_can_be_renamed() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    let before = h.state().analysis.run.clone().unwrap();
    h.get_by_label("Features").click();
    h.run_ok();
    // Weight 3 on searches: the matrix column changes and clustering re-runs after the debounce.
    {
        let a = h.state_mut();
        let spec = a.analysis.spec.as_mut().unwrap();
        spec.features
            .iter_mut()
            .find(|c| c.id == "searches_per_session")
            .unwrap()
            .weight = 3.0;
        a.settings_changed();
    }
    h.step();
    wait_for(&mut h, "re-clustering", |a| {
        idle(a)
            && a.analysis
                .run
                .as_ref()
                .is_some_and(|r| !std::sync::Arc::ptr_eq(r, &before))
    });
    let after = h.state().analysis.run.clone().unwrap();
    let w = after
        .fitted
        .features
        .iter()
        .find(|f| f.id == "searches_per_session")
        .unwrap()
        .weight;
    assert_eq!(w, 3.0);

    h.get_by_label("Personas").click();
    h.run_ok();
    let first = h.state().analysis.personas[0].name.clone();
    h.get_by_label_contains("Segment 0");
    let field = h.get_all_by_value(&first).next().unwrap();
    field.focus();
    field.type_text(" shoppers");
    h.run_ok();
    assert_eq!(
        h.state().analysis.personas[0].name,
        format!("{first} shoppers")
    );
    // Preferred content types, typed as a list, reach the rule set clean.
    let content = h
        .get_all_by_role_and_label(egui::accesskit::Role::TextInput, "Preferred content")
        .next()
        .unwrap();
    content.focus();
    content.type_text("new arrivals, video lookbooks,");
    h.run_ok();
    let rs = h.state().rule_set().unwrap();
    assert_eq!(
        rs.persona_of(h.state().analysis.personas[0].segment)
            .unwrap()
            .preferred_content,
        ["new arrivals", "video lookbooks"]
    );
}

#[test]
fn a_bad_file_shows_an_error_and_the_app_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("empty.csv");
    std::fs::write(&bad, "").unwrap();
    let mut h = harness(PersonaApp::new(Some(bad.clone())));
    wait_for(&mut h, "the load to fail", idle);
    // In the message bar, and in the Data view above the controls that can fix a load.
    assert_eq!(h.get_all_by_label_contains("the file is empty").count(), 2);
    h.get_by_label("Open the bundled sample").click();
    wait_for(&mut h, "the sample", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    h.get_by_label("Dismiss").click();
    h.run_ok();
    assert!(h.state().ui_state.messages.is_empty());
}

#[test]
fn a_saved_project_reopens_to_the_same_segments_and_persona_names() {
    let dir = tempfile::tempdir().unwrap();
    let plab = dir.path().join("analysis.plab");
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    {
        let a = h.state_mut();
        a.analysis.cluster.params.k = 5;
        a.analysis.cluster.params.seed = 11;
        // Settings the view has no control for (a project from the CLI has them) come back too.
        a.analysis.cluster.params.max_iter = 50;
        a.analysis.cluster.params.tol = 1e-3;
        a.analysis.cluster.params.fit_sample = Some(1500);
        a.settings_changed();
    }
    wait_for_k(&mut h, "k = 5", 5);
    let saved = h.state().analysis.cluster.params.clone();
    h.state_mut().analysis.personas[1].name = "Frequent Browsers".into();
    h.state_mut().save_project(plab.clone());
    assert!(
        h.state().ui_state.messages.is_empty(),
        "{:?}",
        h.state().ui_state.messages
    );
    let labels = h
        .state()
        .analysis
        .run
        .as_ref()
        .unwrap()
        .segmentation
        .labels
        .clone();

    // `persona-lab analysis.plab` opens the project (it used to be read as an export).
    let mut h2 = harness(PersonaApp::new(Some(plab.clone())));
    wait_for(&mut h2, "the project", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    assert_eq!(
        h2.state().analysis.project_path.as_deref(),
        Some(plab.as_path())
    );
    let run = h2.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 5);
    assert_eq!(run.segmentation.params, saved);
    assert_eq!(h2.state().analysis.cluster.params, saved);
    assert_eq!(run.segmentation.labels, labels);
    assert_eq!(h2.state().analysis.personas[1].name, "Frequent Browsers");
}

/// Frame times with 100,000 users (run in release: `cargo test --release --bin persona-lab -- --ignored
/// frame_times --nocapture`). Each chart is drawn for 30 frames; the time of the egui pass plus
/// tessellation is reported (mean and worst), and the UI keeps drawing frames while clustering runs.
#[test]
#[ignore]
fn frame_times_with_100k_users() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users_100k.csv");
    let mut text = String::from("user_id,sessions,clicks,scroll,time_spent,purchases,revenue\n");
    for i in 0..100_000u64 {
        let g = (i % 5) as f64;
        let s = |k: u64| ((i * 2654435761 + k * 97) % 10007) as f64 / 10007.0;
        let _ = writeln!(
            text,
            "u{i},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            g * 3.0 + 4.0 * s(1),
            g * 10.0 + 20.0 * s(2),
            50.0 + g * 8.0 + 30.0 * s(3),
            g * 60.0 + 200.0 * s(4),
            (g - 2.0).max(0.0) * s(5) * 3.0,
            (g - 2.0).max(0.0) * 40.0 * s(6)
        );
    }
    std::fs::write(&csv, text).unwrap();
    let mut h = harness(PersonaApp::new(Some(csv)));
    // Frames keep coming while loading and clustering run on their threads.
    let mut busy_frames = Vec::new();
    let start = Instant::now();
    while !(h.state().analysis.run.is_some() && idle(h.state())) {
        assert!(start.elapsed() < Duration::from_secs(300));
        let t = Instant::now();
        h.step();
        busy_frames.push(t.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(5));
    }
    let worst_busy = busy_frames.iter().copied().fold(0.0, f64::max);
    println!(
        "while loading + clustering 100k users ({:.1} s): {} frames, worst {worst_busy:.1} ms",
        start.elapsed().as_secs_f64(),
        busy_frames.len()
    );
    h.get_by_label("Clusters").click();
    h.run_ok();
    let a = h.state_mut();
    a.analysis.cluster.params.method = Method::Ward;
    a.settings_changed();
    wait_for(&mut h, "ward", |a| {
        idle(a)
            && a.analysis
                .run
                .as_ref()
                .is_some_and(|r| r.segmentation.dendrogram.is_some())
    });
    for chart in Chart::ALL {
        if chart == Chart::Sweep {
            continue;
        }
        h.state_mut().ui_state.chart = chart;
        let mut times = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            h.step();
            let out = h.output().clone();
            let _ = h.ctx.tessellate(out.shapes, out.pixels_per_point);
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "{:<26} mean {mean:6.2} ms  median {:6.2} ms  worst {:6.2} ms",
            chart.label(),
            times[15],
            times[29]
        );
    }
}

#[test]
fn negative_silhouettes_are_selected_across_charts_and_tsne_draws() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Clusters").click();
    h.run_ok();
    h.get_by_label("Select users with a negative silhouette")
        .click();
    h.run_ok();
    let run = h.state().analysis.run.clone().unwrap();
    let negative = run
        .silhouette
        .values
        .iter()
        .filter(|v| v.is_some_and(|v| v < 0.0))
        .count();
    assert!(negative > 0);
    assert_eq!(h.state().ui_state.selection.len(), negative);
    h.get_by_label_contains(&format!("{negative} users selected"));
    // The same users are marked on the scatter plot.
    h.get_by_label("Scatter").click();
    h.run_ok();
    h.get_by_label_contains(&format!("selected ({negative})"));
    h.get_by_label("t-SNE").click();
    wait_for(&mut h, "t-SNE", |a| a.analysis.tsne.is_some() && idle(a));
    h.get_by_label_contains("t-SNE of a seeded sample of 1967 users");
    h.get_by_label("Clear selection").click();
    h.run_ok();
    assert!(h.state().ui_state.selection.is_empty());
}

#[test]
fn feature_previews_follow_the_spec_and_unselecting_everything_explains_itself() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Features").click();
    wait_for(&mut h, "previews", |a| a.preview.is_some() && idle(a));
    h.get_by_label_contains("Correlation of the clustering columns");
    h.get_by_label_contains("Engagement score");
    let p = h.state().preview.clone().unwrap();
    let d = p.corr_names.len();
    for a in 0..d {
        assert!((p.corr[a * d + a] - 1.0).abs() < 1e-12);
    }
    // Untick every feature: the preview says why there is nothing to show.
    for id in h
        .state()
        .analysis
        .profile
        .as_ref()
        .unwrap()
        .features
        .clone()
    {
        if h.state()
            .analysis
            .spec
            .as_ref()
            .unwrap()
            .features
            .iter()
            .any(|c| c.id == id)
        {
            h.get_by_label(&format!("use {id}")).click();
            h.run_ok();
        }
    }
    wait_for(&mut h, "the empty preview", |a| {
        a.preview.as_ref().is_some_and(|p| p.error.is_some())
            && !a.tasks.running(super::tasks::Kind::Preview)
    });
    h.get_by_label_contains("no usable features");
}

#[test]
fn personas_can_be_merged_and_split_and_edited_names_follow_their_users() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Personas").click();
    h.run_ok();
    h.state_mut().analysis.personas[0].name = "Window Shoppers".into();
    let before = h.state().analysis.run.clone().unwrap();
    h.get_by_label("Split segment 0 in two").click();
    wait_for_k(&mut h, "the split", 7);
    let after = h.state().analysis.run.clone().unwrap();
    assert_eq!(after.segmentation.sizes.iter().sum::<usize>(), 1967);
    assert!(after.segmentation.inertia < before.segmentation.inertia);
    // The edited name went with the larger half of its users.
    assert!(
        h.state()
            .analysis
            .personas
            .iter()
            .any(|p| p.name == "Window Shoppers")
    );
    h.state_mut().merge_segments(5, 6);
    wait_for_k(&mut h, "the merge", 6);
    assert!(
        h.state()
            .analysis
            .run
            .as_ref()
            .unwrap()
            .segmentation
            .notes
            .iter()
            .any(|n| n.contains("merged"))
    );
}

#[test]
fn undo_and_redo_restore_settings_and_persona_names() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    let original = h.state().analysis.personas[2].name.clone();
    h.state_mut().analysis.personas[2].name = "Deal Hunters".into();
    h.step();
    h.state_mut().ui_state.history.last_change = None; // a separate step, not merged with the next
    h.state_mut().analysis.cluster.params.k = 4;
    h.state_mut().settings_changed();
    h.step();
    wait_for_k(&mut h, "k = 4", 4);
    h.state_mut().ui_state.history.last_change = None;
    h.get_by_label("Undo").click();
    h.step();
    assert_eq!(h.state().analysis.cluster.params.k, 6);
    wait_for_k(&mut h, "k = 6 again", 6);
    assert_eq!(h.state().analysis.personas[2].name, "Deal Hunters");
    h.state_mut().ui_state.history.last_change = None;
    h.get_by_label("Undo").click();
    h.step();
    assert_eq!(h.state().analysis.personas[2].name, original);
    h.get_by_label("Redo").click();
    h.step();
    assert_eq!(h.state().analysis.personas[2].name, "Deal Hunters");
}

#[test]
fn unsaved_work_is_autosaved_and_offered_back_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let recovery = dir.path().join("recovery.plab");
    let mut h = harness(PersonaApp::new(Some(sample_path())).with_recovery(recovery.clone()));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    assert!(!h.state().dirty(), "nothing changed yet");
    h.state_mut().analysis.cluster.params.k = 3;
    h.state_mut().analysis.personas[0].name = "Loyalists".into();
    h.state_mut().settings_changed();
    wait_for_k(&mut h, "k = 3", 3);
    assert!(h.state().dirty());
    h.state_mut().autosave();
    assert!(recovery.exists());
    drop(h); // the "crash": no save, no clean exit

    let mut h = harness(PersonaApp::new(None).with_recovery(recovery.clone()));
    h.step();
    h.get_by_label("Restore unsaved work").click();
    wait_for(&mut h, "the restored analysis", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    assert_eq!(h.state().analysis.run.as_ref().unwrap().segmentation.k, 3);
    assert!(
        h.state()
            .analysis
            .personas
            .iter()
            .any(|p| p.name == "Loyalists")
    );
    assert!(
        h.state().dirty(),
        "a restored analysis is unsaved until it is saved somewhere"
    );
    // Saving it for real removes the recovery file.
    let saved = dir.path().join("saved.plab");
    h.state_mut().save_project(saved.clone());
    assert!(saved.exists() && !recovery.exists());
    assert!(!h.state().dirty());
}

/// The child of the kill -9 test (started by it, ignored otherwise): the real app on the sample, a
/// persona renamed and autosaved in a loop, each save reported on stdout, until it is killed.
#[test]
#[ignore = "started by a_kill_9_during_autosave_leaves_a_whole_recovery_file"]
fn kill9_child() {
    let recovery = PathBuf::from(
        std::env::var_os("PERSONA_LAB_KILL9_RECOVERY").expect("started by the kill -9 test"),
    );
    let mut h = harness(PersonaApp::new(Some(sample_path())).with_recovery(recovery));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    let mut out = std::io::stdout().lock();
    for i in 1.. {
        h.state_mut().analysis.personas[0].name = format!("Edit {i}");
        h.state_mut().autosave();
        writeln!(out, "saved {i}").unwrap();
        out.flush().unwrap();
    }
}

/// kill -9 of a real process in the middle of autosaving: the recovery file left behind is always a
/// whole project (the last save or a later one), a new start offers it, removes the killed writers'
/// temp files and restores the edit. Three kills, each as soon as a write is seen under way (its temp
/// file exists) after 3, 10 and 25 saves.
#[test]
fn a_kill_9_during_autosave_leaves_a_whole_recovery_file() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let recovery = dir.path().join("recovery.plab");
    let temps = || -> Vec<PathBuf> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".recovery.plab.tmp-")
            })
            .collect()
    };
    let mut last = 0;
    let mut killed_mid_write = 0;
    for (round, saves) in [3, 10, 25].into_iter().enumerate() {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "gui::tests::kill9_child",
                "--nocapture",
            ])
            .env("PERSONA_LAB_KILL9_RECOVERY", &recovery)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < saves {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("round {round}: the child ended after {seen} saves"))
                .unwrap();
            if let Some(n) = line.strip_prefix("saved ") {
                seen = n.parse().unwrap();
            }
        }
        let start = Instant::now();
        while temps().is_empty() && start.elapsed() < Duration::from_secs(2) {}
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed_mid_write += usize::from(!temps().is_empty());
        let p = persona_lab::project::Project::read(&recovery)
            .unwrap_or_else(|e| panic!("round {round}: the recovery file is not whole: {e}"));
        let n: usize = p.personas[0]
            .name
            .strip_prefix("Edit ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("round {round}: {:?}", p.personas[0].name));
        assert!(
            n >= seen,
            "round {round}: saved {seen}, the file has edit {n}"
        );
        last = n;
    }
    eprintln!("kill -9: {killed_mid_write} of 3 kills left a write half done");

    // The next start removes what the killed writes left, offers the file and restores the edit.
    let mut h = harness(PersonaApp::new(None).with_recovery(recovery.clone()));
    h.step();
    assert_eq!(
        temps(),
        Vec::<PathBuf>::new(),
        "stale temp files are removed"
    );
    h.get_by_label("Restore unsaved work").click();
    wait_for(&mut h, "the restored analysis", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    assert_eq!(h.state().analysis.personas[0].name, format!("Edit {last}"));
}

/// `persona-lab segment --project` hands an analysis to the app: opening the file gives the same
/// segments (labels) and the same persona names as the command.
#[test]
fn a_project_written_by_the_cli_opens_to_the_same_segments() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let plab = dir.path().join("cli.plab");
    let assignments = dir.path().join("a.csv");
    let cli = crate::cli::Cli::parse_from([
        "persona-lab".as_ref(),
        "segment".as_ref(),
        sample_path().as_os_str(),
        "--k".as_ref(),
        "16".as_ref(),
        "--seed".as_ref(),
        "3".as_ref(),
        // Settings the app has no control for: they must come back from the project all the same
        // (the app used to drop them and fit on every user).
        "--fit-sample".as_ref(),
        "1500".as_ref(),
        "--max-iter".as_ref(),
        "60".as_ref(),
        "--exact-limit".as_ref(),
        "1000".as_ref(),
        "--project".as_ref(),
        plab.as_os_str(),
        "--assignments".as_ref(),
        assignments.as_os_str(),
    ]);
    let Some(crate::cli::Command::Segment(cmd)) = &cli.command else {
        panic!("parsed as segment");
    };
    crate::cli::segment::run_segment(cmd).unwrap();
    let csv = std::fs::read_to_string(&assignments).unwrap();
    let cli_segments: Vec<usize> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();

    let mut app = PersonaApp::new(None);
    app.open_project(plab.clone());
    let mut h = harness(app);
    wait_for(&mut h, "the project", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    let run = h.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 16);
    let saved = persona_lab::project::Project::read(&plab).unwrap().params;
    assert_eq!(saved.fit_sample, Some(1500));
    assert_eq!(
        run.segmentation.params, saved,
        "every run setting, from the CLI to the app"
    );
    assert_eq!(run.segmentation.labels, cli_segments);
    assert!(
        h.state().ui_state.messages.is_empty(),
        "{:?}",
        h.state().ui_state.messages
    );
    // The k slider shows 16 (above its usual 15) instead of clamping it and re-clustering.
    h.get_by_label("Clusters").click();
    h.run_ok();
    assert_eq!(h.state().analysis.cluster.params.k, 16);
    assert!(idle(h.state()));

    // A hand-edited project asking for a billion restarts is refused, naming the field.
    let text = std::fs::read_to_string(&plab).unwrap();
    assert!(text.contains("n_init: 10,"));
    std::fs::write(&plab, text.replace("n_init: 10,", "n_init: 1000000000,")).unwrap();
    let e = persona_lab::project::Project::read(&plab)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cli.plab") && e.contains("params.n_init: 1000000000 is outside 1..=1000"),
        "{e}"
    );
}

/// egui draws only on input, so an idle window must still wake up to autosave: with a recovery file,
/// a repaint is always pending (found with the real window: an edit, a click elsewhere, then no input,
/// and a kill -9 20 s later found no recovery file).
#[test]
fn an_idle_window_still_wakes_up_to_autosave() {
    let dir = tempfile::tempdir().unwrap();
    for recovery in [false, true] {
        let mut app = PersonaApp::new(Some(sample_path()));
        if recovery {
            app = app.with_recovery(dir.path().join("recovery.plab"));
        }
        let mut h = harness(app);
        wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
        h.step();
        assert_eq!(
            h.ctx.has_requested_repaint(),
            recovery,
            "recovery {recovery}"
        );
    }
}

#[test]
fn a_role_can_be_remapped_from_the_data_view() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    assert_eq!(h.state().analysis.profile.as_ref().unwrap().n_users(), 1967);
    // Unmap the consent column: users without consent are no longer dropped.
    h.get_by_label("consent").click();
    h.run_ok();
    h.get_by_label("(none)").click();
    h.run_ok();
    h.get_by_label("Reload with these settings").click();
    wait_for(&mut h, "the reload", |a| {
        idle(a)
            && a.analysis
                .profile
                .as_ref()
                .is_some_and(|p| p.n_users() == 2000)
    });
}

#[test]
fn opened_files_are_remembered_in_the_recent_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("recent.txt");
    let mut h = harness(PersonaApp::new(None).with_recent(store.clone()));
    h.state_mut().open(sample_path());
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    let sample = sample_path().canonicalize().unwrap();
    assert_eq!(
        std::fs::read_to_string(&store).unwrap().trim(),
        sample.display().to_string()
    );
    // A new session lists it and opens it from the list.
    let mut h = harness(PersonaApp::new(None).with_recent(store));
    h.step();
    h.get_by_label("Recent files").click();
    h.run_ok();
    h.get_by_label(&sample.display().to_string()).click();
    wait_for(&mut h, "the recent file", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    assert_eq!(h.state().analysis.source.as_deref(), Some(sample.as_path()));
}

/// The Rules, Simulate and Export views: build rules from a template and from scratch, reorder them,
/// fix a variant split the checks reject, simulate a user, read the coverage, export the file.
/// Every number shown is compared with the core computing it directly.
#[test]
fn rules_are_built_checked_simulated_and_exported() {
    use persona_lab::rules::{Cmp, Condition, Session};
    use persona_lab::ruleset::{self, RuleSet};

    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Rules").click();
    h.run_ok();
    h.get_by_label_contains("Add a rule");
    wait_for(&mut h, "the rule previews", |a| {
        a.population.is_some() && idle(a)
    });

    // A template (assets/templates/reengagement.ron): users whose last visit is further back than
    // 80% of users' get a re-engagement offer; the threshold comes from the data and is said.
    h.get_by_label("Add from template").click();
    h.run_ok();
    h.get_by_label("Re-engagement offer for lapsing users")
        .click();
    h.run_ok();
    let profile = h.state().analysis.profile.clone().unwrap();
    let mut recency: Vec<f64> = profile
        .column("recency_days")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    recency.sort_by(f64::total_cmp);
    let p80 = (persona_lab::features::transform::quantile(&recency, 0.8) * 100.0).round() / 100.0;
    let lapsing = recency.iter().filter(|&&d| d > p80).count();
    assert!(lapsing > 0 && lapsing < 1967);
    assert_eq!(
        h.state().analysis.rules[0].when,
        Condition::Feature("recency_days".into(), Cmp::Gt(p80))
    );
    h.get_by_label_contains(&format!(
        "recency_days threshold {p80}: the 80th percentile of the analysed users"
    ));
    let share = 100.0 * lapsing as f64 / 1967.0;
    assert!(
        h.get_all_by_label(&format!("matches {lapsing} users ({share:.1}%)"))
            .count()
            >= 1
    );
    h.get_by_label_contains("distribution (1st-99th percentile)");
    h.get_by_label_contains("No problems found in this rule");
    // The customer reads words; the analyst sees the exact condition under them.
    h.get_by_label_contains(
        "\u{201c}We have missed you: this offer is here because you haven't visited us for a while.\u{201d}",
    );
    h.get_by_label(&format!("what matched, exactly: recency_days > {p80}"));

    // A second rule for everyone, moved above the first; two variants at 0% are an error until split.
    h.get_by_label("Add rule").click();
    h.run_ok();
    assert_eq!(h.state().ui_state.rules.selected, Some(1));
    h.get_by_label("Move up").click();
    h.run_ok();
    let order: Vec<(String, u32)> = h
        .state()
        .analysis
        .rules
        .iter()
        .map(|r| (r.id.clone(), r.priority))
        .collect();
    assert_eq!(order, [("rule_2".into(), 1), ("rule_1".into(), 2)]);
    h.get_by_label("Add variant").click();
    h.run_ok();
    h.get_by_label("Add variant").click();
    h.run_ok();
    // Inline under the rule and in the list's summary.
    assert_eq!(
        h.get_all_by_label_contains("variant weights sum to 0, not 100")
            .count(),
        2
    );
    h.get_by_label("Split evenly").click();
    h.run_ok();
    h.get_by_label("weights sum to 100");
    assert!(
        h.query_by_label_contains("variant weights sum to 0")
            .is_none(),
        "the error goes once the split is fixed"
    );
    let slot = h.get_by_label("Slot");
    slot.focus();
    slot.type_text("_b");
    h.run_ok();
    assert_eq!(h.state().analysis.rules[0].action.slot, "slot_b");

    // Simulate: the next user of a persona, decided as `RuleSet::decide` does.
    h.get_by_label("Simulate").click();
    h.run_ok();
    h.get_by_label("Next user").click();
    h.run_ok();
    h.run_ok();
    let app = h.state();
    let rs: RuleSet = app.rule_set().unwrap();
    let user: persona_lab::rules::UserProfile =
        serde_json::from_str(&app.ui_state.rules.sim_profile).unwrap();
    let session: Session = serde_json::from_str(&app.ui_state.rules.sim_session).unwrap();
    let d = rs.decide(&user, &session).unwrap();
    assert_eq!(
        d.segment,
        app.analysis.run.as_ref().unwrap().segmentation.labels[0]
    );
    h.get_by_label(&format!(
        "Segment {} · persona {}",
        d.segment, d.persona_name
    ));
    for x in &d.decisions {
        h.get_by_label(&x.explanation);
    }
    for t in &d.trace {
        assert!(h.get_all_by_label(&t.outcome.to_string()).count() >= 1);
    }

    // Coverage equals the core's over every analysed user.
    wait_for(&mut h, "coverage", |a| {
        idle(a)
            && a.coverage
                .as_ref()
                .is_some_and(|c| c.0.rules == a.analysis.rules)
    });
    let users = ruleset::user_profiles(&profile, Some(true)).unwrap();
    let cov = ruleset::coverage(&rs, &users, &Session::default());
    assert_eq!(cov.users, 1967);
    // Rule 2 is for everyone in its own slot: it reaches all users, so nobody is left out.
    assert_eq!(cov.per_rule["rule_2"], (1967, 0));
    let (shown, held) = cov.per_rule["rule_1"];
    assert_eq!(shown + held, lapsing);
    assert!(held > 0, "a 10% holdout of {lapsing} users is not empty");
    h.get_by_label("Reached by no rule: 0 of 1967 users (0.0%)");
    h.get_by_label(&shown.to_string());

    // Export: the preview is the file; saving writes it atomically and it reads back.
    h.get_by_label("Export").click();
    h.run_ok();
    h.get_by_label_contains("Validation: 0 errors");
    // A summary first, the raw file behind a toggle ("Personas": the tab and the summary's heading).
    assert_eq!(h.get_all_by_label("Personas").count(), 2);
    let persona0 = h.state().analysis.personas[0].name.clone();
    h.get_by_label_contains(&format!("segment 0 (segment_0): {persona0}"));
    h.get_by_label_contains("at most 3 personalised offers per session");
    h.get_by_label_contains("2 rules (2 enabled)");
    let text = h
        .state()
        .ui_state
        .rules
        .export_preview
        .clone()
        .unwrap()
        .1
        .text
        .unwrap();
    assert!(
        h.query_by_value(&text).is_none(),
        "the RON is hidden until asked for"
    );
    h.get_by_label_contains("The file itself (RON").click();
    h.run_ok();
    h.get_by_value(&text);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules.ron");
    super::export_view::save_rule_set(h.state_mut(), out.clone());
    wait_for(&mut h, "the export", idle);
    h.get_by_label_contains("wrote");
    let back = RuleSet::read(&out).unwrap();
    assert_eq!(back.rules, h.state().analysis.rules);
    assert_eq!(back.guardrails.max_offers_per_session, Some(3));
    let preview = h.state().ui_state.rules.export_preview.clone().unwrap().1;
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        preview.text.unwrap()
    );
    assert!(back.validate().is_empty(), "{:?}", back.validate());
}

#[test]
fn rules_are_saved_with_the_project_and_undone_like_other_edits() {
    use persona_lab::rules::Rule;
    let dir = tempfile::tempdir().unwrap();
    let plab = dir.path().join("rules.plab");
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Rules").click();
    h.run_ok();
    let mut r = Rule::new("promo", 1);
    r.action.slot = "home_hero".into();
    h.state_mut().analysis.rules.push(r.clone());
    h.run_ok();
    h.state_mut().analysis.guardrails.max_offers_per_session = Some(2);
    h.state_mut().save_project(plab.clone());
    assert!(!h.state().dirty());

    let mut app = PersonaApp::new(None);
    app.open_project(plab);
    let mut h2 = harness(app);
    wait_for(&mut h2, "the project", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    assert_eq!(h2.state().analysis.rules, vec![r]);
    assert_eq!(
        h2.state().analysis.guardrails.max_offers_per_session,
        Some(2)
    );

    // Deleting a rule is an edit: undo brings it back.
    h2.get_by_label("Rules").click();
    h2.run_ok();
    h2.state_mut().ui_state.rules.selected = Some(0);
    h2.run_ok();
    h2.get_by_label("Delete rule").click();
    h2.run_ok();
    assert!(h2.state().analysis.rules.is_empty());
    assert!(h2.state().dirty());
    h2.state_mut().undo();
    h2.run_ok();
    assert_eq!(h2.state().analysis.rules.len(), 1);
}

/// A rule for a persona keeps targeting that persona's users when the segments are recomputed
/// (segment numbers change with k), and undo brings back both the settings and the rule as it was.
#[test]
fn rules_follow_their_personas_users_into_a_new_clustering() {
    use persona_lab::rules::{Condition, Rule};
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    let old = h.state().analysis.run.clone().unwrap();
    let target = 3usize;
    let mut r = Rule::new("for_three", 1);
    r.when = Condition::PersonaIn(vec![format!("segment_{target}")]);
    h.state_mut().analysis.rules.push(r);
    h.run_ok();
    std::thread::sleep(Duration::from_millis(1100));
    h.run_ok();
    {
        let a = h.state_mut();
        a.analysis.cluster.params.k = 4;
        a.settings_changed();
    }
    wait_for_k(&mut h, "k = 4", 4);
    let new = h.state().analysis.run.clone().unwrap();
    // Where did the old segment's users go? Count directly.
    let mut to = [0usize; 4];
    for (&a, &b) in old.segmentation.labels.iter().zip(&new.segmentation.labels) {
        if a == target {
            to[b] += 1;
        }
    }
    let most = (0..4)
        .max_by_key(|&b| (to[b], std::cmp::Reverse(b)))
        .unwrap();
    assert_eq!(
        h.state().analysis.rules[0].when,
        Condition::PersonaIn(vec![format!("segment_{most}")]),
        "users of old segment {target} went to {to:?}"
    );
    h.state_mut().undo();
    wait_for_k(&mut h, "k = 6 again", 6);
    assert_eq!(
        h.state().analysis.run.as_ref().unwrap().segmentation.labels,
        old.segmentation.labels
    );
    assert_eq!(
        h.state().analysis.rules[0].when,
        Condition::PersonaIn(vec![format!("segment_{target}")])
    );
}

/// Secondary-button drag events on the scatter draw a lasso; the users inside it (by their PCA
/// coordinates, all users) become the selection.
#[test]
fn a_lasso_on_the_scatter_selects_the_users_inside_it() {
    use egui::{Event, Modifiers, PointerButton, Pos2};
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Clusters").click();
    h.run_ok();
    h.get_by_label("Scatter").click();
    h.run_ok();
    let caption = h.get_by_label_contains("PCA: component 1 explains").rect();
    // A triangle in the middle of the plot, which fills the window below the caption.
    let (x, y) = (640.0, caption.bottom() + 300.0);
    let path = [
        Pos2::new(x - 200.0, y + 150.0),
        Pos2::new(x, y - 150.0),
        Pos2::new(x + 200.0, y + 150.0),
        Pos2::new(x - 200.0, y + 150.0),
    ];
    h.event(Event::PointerMoved(path[0]));
    h.step();
    h.event(Event::PointerButton {
        pos: path[0],
        button: PointerButton::Secondary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    h.step();
    for w in path.windows(2) {
        for t in 1..=10 {
            let f = t as f32 / 10.0;
            h.event(Event::PointerMoved(w[0] + (w[1] - w[0]) * f));
            h.step();
        }
    }
    h.event(Event::PointerButton {
        pos: path[3],
        button: PointerButton::Secondary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.step();
    h.run_ok();
    let app = h.state();
    let run = app.analysis.run.clone().unwrap();
    let poly = app.ui_state.last_lasso.clone();
    assert!(poly.len() > 20, "the lasso path was recorded: {poly:?}");
    let dims = run.pca.n_components;
    let inside: Vec<usize> = (0..run.matrix.n_rows)
        .filter(|&i| {
            super::charts::inside_polygon(&poly, [run.coords[i * dims], run.coords[i * dims + 1]])
        })
        .collect();
    assert!(!inside.is_empty() && inside.len() < run.matrix.n_rows);
    assert_eq!(app.ui_state.selection, inside);
    h.get_by_label_contains(&format!("{} users selected", inside.len()));
}

/// Dragging a rule by its handle onto another row changes the priorities.
#[test]
fn dragging_a_rule_in_the_list_reorders_priorities() {
    use persona_lab::rules::Rule;
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    for id in ["first", "second", "third"] {
        let n = h.state().analysis.rules.len() as u32;
        let mut r = Rule::new(id, n + 1);
        r.name = format!("Rule {id}");
        h.state_mut().analysis.rules.push(r);
    }
    h.get_by_label("Rules").click();
    h.run_ok();
    let handles: Vec<egui::Rect> = h.get_all_by_label("::").map(|n| n.rect()).collect();
    assert_eq!(handles.len(), 3);
    let target = h.get_by_label("Rule first").rect().center();
    h.drag_at(handles[2].center());
    h.step();
    for t in 1..=10 {
        let f = t as f32 / 10.0;
        h.hover_at(handles[2].center() + (target - handles[2].center()) * f);
        h.step();
    }
    h.drop_at(target);
    h.step();
    h.run_ok();
    let order: Vec<(&str, u32)> = h
        .state()
        .analysis
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.priority))
        .collect();
    assert_eq!(order, [("third", 1), ("first", 2), ("second", 3)]);
}

/// Predict: train a churn model from the view, see its metrics and per-persona risk (equal to the
/// core's), then find its score in the rule set, in the rule editor's counts, and in Simulate.
#[test]
fn a_churn_model_is_trained_shown_per_persona_and_used_by_rules() {
    use persona_lab::features::FeatureConfig;
    use persona_lab::job::Job;
    use persona_lab::predict::{self, PredictParams};
    use persona_lab::rules::{Cmp, Condition, Rule, population};

    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Predict").click();
    h.run_ok();
    h.get_by_label("Choose what to predict and press Train model.");
    h.get_by_label("Train model").click();
    wait_for(&mut h, "the model", |a| {
        a.analysis.prediction.is_some() && idle(a)
    });
    let p = h.state().analysis.prediction.clone().unwrap();
    // The same as the core computes directly with the same settings.
    let loaded = h.state().analysis.loaded.clone().unwrap();
    let prep = predict::prepare(
        &loaded,
        &FeatureConfig::default(),
        &PredictParams::default(),
    )
    .unwrap();
    let direct = predict::train(&prep, None, &PredictParams::default(), &Job::silent()).unwrap();
    assert_eq!(p.scores, direct.scores);
    assert!(p.metrics.roc_auc >= 0.85, "{}", p.metrics.roc_auc);
    h.get_by_label_contains(&format!("Class balance: {} churned", p.positives));
    h.get_by_label(&format!("{:.4}", p.metrics.roc_auc));
    h.get_by_label("ROC curve (held out; grey: chance)");
    h.get_by_label("churn_risk by persona");
    let run = h.state().analysis.run.clone().unwrap();
    let seg = predict::by_segment(
        &p.users,
        &p.scores,
        p.params.bands,
        &run.matrix.users,
        &run.segmentation.labels,
        run.segmentation.k,
    );
    let scored: usize = seg.iter().map(|s| s.users).sum();
    assert_eq!(
        scored,
        p.users.len(),
        "every scored user is in the clustering"
    );
    for s in &seg {
        h.get_by_label(&format!("{:.3}", s.mean));
    }

    // Persona cards show the risk.
    h.get_by_label("Personas").click();
    h.run_ok();
    let s0 = &seg[h.state().analysis.personas[0].segment];
    h.get_by_label_contains(&format!(
        "churn_risk: mean {:.2}, {:.0}% in the high band ({} users scored)",
        s0.mean,
        100.0 * s0.high_share,
        s0.users
    ));

    // The rule set carries the model; a rule on the score is valid and counted for today's users.
    let rs = h.state().rule_set().unwrap();
    assert_eq!(rs.models.len(), 1);
    let mut r = Rule::new("winback", 1);
    r.when = Condition::Score("churn_risk".into(), Cmp::Gt(0.7));
    h.state_mut().analysis.rules.push(r.clone());
    h.get_by_label("Rules").click();
    h.run_ok();
    h.state_mut().ui_state.rules.selected = Some(0);
    wait_for(&mut h, "the rule previews with scores", |a| {
        idle(a) && a.population.is_some()
    });
    let pop = h.state_mut().population().unwrap();
    assert!(pop.scores.contains_key("churn_risk"));
    let n = population::count(&r.when, &pop);
    assert!(n > 0 && n < pop.n);
    assert!(
        h.get_all_by_label_contains(&format!("matches {n} users"))
            .count()
            >= 1
    );
    let rs = h.state().rule_set().unwrap();
    assert!(rs.validate().is_empty(), "{:?}", rs.validate());

    // The re-engagement template uses the trained score's high band instead of recency.
    h.get_by_label("Add from template").click();
    h.run_ok();
    h.get_by_label("Re-engagement offer for lapsing users")
        .click();
    h.run_ok();
    assert_eq!(
        h.state().analysis.rules[1].when,
        Condition::Score("churn_risk".into(), Cmp::Ge(p.model.bands.1))
    );
    h.get_by_label_contains(
        "churn_risk >= 0.7 (the trained model's high band) in place of recency_days",
    );
}

/// Monitor: an outcomes export is reported (flags and rates as the core computes them), and a
/// deployed rule set is compared with the current analysis after k changed.
#[test]
fn the_monitor_reports_rule_performance_and_drift() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("user_id,rule_id,variant,converted,exposed_at,persona\n");
    for i in 0..3000u32 {
        let (variant, rate) = match i % 2 {
            0 => ("B", 5),
            _ => ("holdout", 11),
        };
        let _ = writeln!(
            text,
            "u{i},promo,{variant},{},2026-10-{:02},Deal Seekers",
            u8::from((i / 2) % 100 < rate),
            1 + i % 28
        );
    }
    let outcomes = dir.path().join("outcomes.csv");
    std::fs::write(&outcomes, text).unwrap();

    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Monitor").click();
    h.run_ok();
    super::monitor_view::load_outcomes(h.state_mut(), outcomes);
    wait_for(&mut h, "the report", |a| {
        a.analysis.monitor.is_some() && idle(a)
    });
    let r = h.state().analysis.monitor.clone().unwrap();
    assert!(r.flags[0].starts_with("rule \"promo\" variant B: conversion is significantly worse"));
    h.get_by_label(&r.flags[0]);
    h.get_by_label_contains("Holm-adjusted over 2 comparisons");
    h.get_by_label("Conversion by persona over time (week of first exposure)");
    assert_eq!(r.personas[0].weekly.len(), 4);

    // Deploy k = 6, re-cluster with k = 4, compare.
    let deployed = dir.path().join("deployed.ron");
    persona_lab::ruleset::write(&h.state().rule_set().unwrap(), &deployed).unwrap();
    {
        let a = h.state_mut();
        a.analysis.cluster.params.k = 4;
        a.settings_changed();
    }
    wait_for_k(&mut h, "k = 4", 4);
    super::monitor_view::compare_deployed(h.state_mut(), deployed.clone());
    wait_for(&mut h, "the drift", |a| {
        a.analysis.drift.is_some() && idle(a)
    });
    let d = h.state().analysis.drift.clone().unwrap();
    let direct = persona_lab::monitor::drift::drift(
        &persona_lab::ruleset::RuleSet::read(&deployed).unwrap(),
        h.state().rule_set().as_ref(),
        &h.state().analysis.loaded.clone().unwrap(),
        &persona_lab::job::Job::silent(),
    )
    .unwrap();
    assert_eq!(d.transitions, direct.transitions);
    assert_eq!((d.old_k, d.new_k, d.users), (6, 4, 1967));
    h.get_by_label(&d.recommendation);
    h.get_by_label("new 3");
}

/// Hashing user ids from the Data view: after Reload every analysed id is a salted SHA-256, and no
/// raw id (nor the salt) appears in any file the app writes: project, rule set, assignments, persona
/// summary, high-risk list.
#[test]
fn hashed_ids_never_leave_the_app_in_clear() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    let raw: Vec<String> = h
        .state()
        .analysis
        .run
        .as_ref()
        .unwrap()
        .matrix
        .users
        .clone();
    h.get_by_label("hash user ids").click();
    h.run_ok();
    let salt = h.get_by_label("salt");
    salt.focus();
    salt.type_text("pepper-42");
    h.run_ok();
    h.get_by_label("Reload with these settings").click();
    wait_for(&mut h, "the hashed reload", |a| {
        a.analysis.loaded.as_ref().is_some_and(|l| l.hashed_ids)
            && a.analysis.run.is_some()
            && idle(a)
    });
    let users = h
        .state()
        .analysis
        .run
        .as_ref()
        .unwrap()
        .matrix
        .users
        .clone();
    assert_eq!(users.len(), raw.len());
    assert!(
        users
            .iter()
            .all(|u| u.len() == 64 && u.chars().all(|c| c.is_ascii_hexdigit()))
    );
    // Everything the app can write.
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().save_project(dir.path().join("p.plab"));
    super::export_view::save_rule_set(h.state_mut(), dir.path().join("r.ron"));
    wait_for(&mut h, "rule set", idle);
    super::export_view::export_assignments(h.state_mut(), dir.path().join("a.csv"));
    wait_for(&mut h, "assignments", idle);
    super::export_view::export_summary(h.state_mut(), dir.path().join("s.md"), false);
    wait_for(&mut h, "summary", idle);
    super::export_view::export_summary(h.state_mut(), dir.path().join("s.html"), true);
    wait_for(&mut h, "summary page", idle);
    h.state_mut().file_chosen(
        super::files::FilePurpose::ChartCsv,
        dir.path().join("silhouette.csv"),
    );
    h.state_mut().run_prediction();
    wait_for(&mut h, "model", |a| {
        a.analysis.prediction.is_some() && idle(a)
    });
    super::predict_view::export_high(h.state_mut(), dir.path().join("high.csv"));
    wait_for(&mut h, "high-risk list", idle);
    let mut files = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("pepper-42"), "the salt was written");
        // Raw GA4 ids look like "1234567890.1234567890": none may appear.
        for id in raw.iter().take(300) {
            assert!(!text.contains(id.as_str()), "raw id {id} written");
        }
        files += 1;
    }
    assert_eq!(files, 7);
    // The project records that ids were hashed (not the salt): opening it says the salt is needed.
    let plab = dir.path().join("p.plab");
    assert!(
        std::fs::read_to_string(&plab)
            .unwrap()
            .contains("ids_hashed: true")
    );
    let mut h2 = harness(PersonaApp::new(Some(plab)));
    wait_for(&mut h2, "the project", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    assert!(
        h2.state()
            .ui_state
            .messages
            .iter()
            .any(|m| m.text.contains("analysed with hashed user ids")),
        "{:?}",
        h2.state().ui_state.messages
    );
    assert!(
        std::fs::read_to_string(dir.path().join("a.csv"))
            .unwrap()
            .contains(&users[0])
    );
}

/// A project whose source file changed (or went missing) asks before opening: Cancel opens nothing,
/// "Open with this file anyway" opens it and says so.
#[test]
fn a_project_whose_source_changed_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("export.csv.gz");
    std::fs::copy(sample_path(), &src).unwrap();
    let plab = dir.path().join("p.plab");
    let mut h = harness(PersonaApp::new(Some(src.clone())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.state_mut().save_project(plab.clone());
    // The export is replaced by another one (the users-shape sample).
    std::fs::copy(sample_path().with_file_name("fashion_users.csv"), &src).unwrap();

    let mut app = PersonaApp::new(None);
    app.open_project(plab.clone());
    let mut h = harness(app);
    let asked = |a: &PersonaApp| a.ui_state.project_question.is_some();
    wait_for(&mut h, "the question", asked);
    h.get_by_label_contains("changed since the project was saved");
    assert!(h.state().analysis.source.is_none(), "nothing opened yet");
    h.get_by_label("Cancel").click();
    h.run_ok();
    assert!(h.state().ui_state.project_question.is_none());
    assert!(h.state().analysis.source.is_none());

    h.state_mut().open_project(plab.clone());
    wait_for(&mut h, "the question", asked);
    h.get_by_label("Open with this file anyway").click();
    wait_for(&mut h, "the changed data", |a| {
        a.analysis.loaded.is_some() && idle(a)
    });
    assert_eq!(h.state().analysis.source.as_ref(), Some(&src));
    h.get_by_label_contains("opened although the source changed");

    // Gone: only Locate or Cancel.
    std::fs::remove_file(&src).unwrap();
    h.state_mut().open_project(plab);
    wait_for(&mut h, "the question", asked);
    h.get_by_label_contains("cannot be read");
    assert!(h.query_by_label("Open with this file anyway").is_none());
    h.get_by_label("Locate the source file…");
}

/// Click a role's drop-down and pick a column in it.
fn pick(h: &mut Harness<'static, PersonaApp>, combo: &str, option: &str) {
    h.get_by_label(combo).click();
    h.run_ok();
    h.get_by_label(option).click();
    h.run_ok();
}

#[test]
fn an_order_log_the_names_do_not_explain_is_fixed_from_the_data_view() {
    // No column is named like a user id, a time or money, and the dates are day-first text: the
    // load fails, and the analyst fixes shape and roles with the drop-downs, no command line.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sales.csv");
    std::fs::write(
        &p,
        "client;period;basket;paid\n\
         c1;03/01/1997;1;11.77\n\
         c2;04/01/1997;2;20.50\n\
         c1;17/02/1997;1;9.00\n\
         c3;01/03/1997;4;70.10\n\
         c2;02/03/1997;1;5.25\n",
    )
    .unwrap();
    let mut h = harness(PersonaApp::new(Some(p.clone())));
    wait_for(&mut h, "the load to fail", idle);
    let (message, columns) = h
        .state()
        .analysis
        .failed_load
        .clone()
        .expect("a failed load");
    assert!(message.contains("no user id column"), "{message}");
    assert!(
        !message.contains("--"),
        "a GUI message names a command-line flag: {message}"
    );
    assert_eq!(columns, ["client", "period", "basket", "paid"]);
    h.get_by_label("Choose the shape and the column roles below, then read it again.");
    pick(&mut h, "shape", "one row per event");
    pick(&mut h, "user id", "client");
    pick(&mut h, "timestamp", "period");
    pick(&mut h, "value / revenue", "paid");
    h.get_by_label("timestamp format").click();
    h.run_ok();
    h.get_by_label("timestamp format").type_text("%d/%m/%Y");
    h.run_ok();
    h.get_by_label("Reload with these settings").click();
    wait_for(&mut h, "the corrected load", |a| {
        idle(a) && a.analysis.loaded.is_some()
    });
    let a = &h.state().analysis;
    assert!(a.failed_load.is_none());
    let l = a.loaded.as_ref().unwrap();
    assert_eq!(l.shape, persona_lab::data::Shape::Events);
    assert_eq!(l.table.height(), 5, "every order is an event");
    assert_eq!(l.n_users(), 3);
    assert_eq!(l.mapping.value.as_deref(), Some("paid"));
    // Money and no event column: every row is a purchase.
    assert_eq!(l.mapping.every_row.as_deref(), Some("purchase"));
    let p = a.profile.as_ref().unwrap();
    let purchases: f64 = p
        .table
        .column("purchases")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .flatten()
        .sum();
    assert_eq!(purchases, 5.0);
}

#[test]
fn a_folder_of_daily_tables_opens_as_one_export() {
    // What dropping BigQuery's daily tables on the window does: the folder is the source.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ga4/");
    let opts = persona_lab::sample::SampleOptions {
        users: 60,
        seed: 4,
        days: 5,
        style: persona_lab::sample::SampleStyle::Ga4BigQuery,
    };
    persona_lab::sample::write_sample(&opts, &folder, None).unwrap();
    let files = std::fs::read_dir(&folder).unwrap().count();
    assert!(files >= 5, "{files}");
    let mut h = harness(PersonaApp::new(Some(folder.clone())));
    wait_for(&mut h, "the folder to load", |a| {
        idle(a) && a.analysis.loaded.is_some()
    });
    let l = h.state().analysis.loaded.clone().unwrap();
    assert_eq!(l.source, persona_lab::data::source::SourceKind::Folder);
    assert_eq!(l.files.len(), files);
    assert_eq!(
        l.mapping.session.as_deref(),
        Some("event_params.ga_session_id")
    );
    h.get_by_label_contains(&format!("(folder, {files} files)"));
}

/// GA4's daily tables with one-hot attributes on: the Data view's warehouse query computes what the
/// profile has beyond the catalogue (the numeric parameter's sum, mean and max, the one-hot values
/// pinned by name), exactly the CLI's query for the same settings.
#[test]
fn the_warehouse_query_of_ga4_tables_has_the_measures_and_one_hot_features() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ga4/");
    let opts = persona_lab::sample::SampleOptions {
        users: 60,
        seed: 4,
        days: 5,
        style: persona_lab::sample::SampleStyle::Ga4BigQuery,
    };
    persona_lab::sample::write_sample(&opts, &folder, None).unwrap();
    let mut h = harness(PersonaApp::new(Some(folder.clone())));
    wait_for(&mut h, "the folder to load and cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    h.get_by_label("Features").click();
    h.run_ok();
    h.get_by_label("One-hot attributes").click();
    wait_for(&mut h, "the reload with one-hot features", |a| {
        idle(a)
            && a.analysis
                .profile
                .as_ref()
                .is_some_and(|p| p.features.iter().any(|f| f.starts_with("is:")))
    });
    h.get_by_label("Data").click();
    h.run_ok();
    h.get_by_label_contains("Warehouse: compute the profile")
        .click();
    h.run_ok();
    h.get_by_label("Copy SQL").click();
    h.step();
    let sql = copied(&h).expect("the query is copied");
    let profile = h.state().analysis.profile.clone().unwrap();
    let extra: Vec<&String> = profile
        .features
        .iter()
        .filter(|f| f.starts_with("is:") || f.contains("ga_session_number"))
        .collect();
    assert_eq!(extra.len(), 3 + 4, "{extra:?}");
    for f in extra {
        assert!(sql.contains(&format!("AS \"{f}\"")), "{f} not in {sql}");
    }
    let loaded = h.state().analysis.loaded.clone().unwrap();
    let (from, table) = persona_lab::sql::features::ga4_source(
        persona_lab::sql::Dialect::DuckDb,
        "events",
        &loaded.mapping.measures,
        &loaded.mapping.attributes,
    );
    let cfg = persona_lab::sql::features::pinned_to(
        &h.state().analysis.feature_config,
        &profile.features,
    );
    let cli =
        persona_lab::sql::features::query(&cfg, &table, persona_lab::sql::Dialect::DuckDb, &from)
            .unwrap();
    assert_eq!(sql, cli.sql);
}

/// The Features view's "One-hot attributes" turns each attribute's common values into 0/1 features,
/// chosen for the next clustering.
#[test]
fn one_hot_attributes_are_offered_in_the_features_view() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Features").click();
    h.run_ok();
    let hot = |a: &PersonaApp| {
        a.analysis
            .profile
            .as_ref()
            .map(|p| {
                p.features
                    .iter()
                    .filter(|f| f.starts_with("is:"))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert!(hot(h.state()).is_empty());
    h.get_by_label("One-hot attributes").click();
    wait_for(&mut h, "the reload with one-hot features", |a| {
        !hot(a).is_empty() && idle(a)
    });
    assert!(h.state().analysis.feature_config.one_hot_attributes);
    let ids = hot(h.state());
    assert!(ids == ["is:platform=WEB", "is:platform=APP"], "{ids:?}");
    let spec = h.state().analysis.spec.clone().unwrap();
    for id in &ids {
        assert!(spec.features.iter().any(|c| &c.id == id), "{id} not chosen");
        h.get_by_label(&format!("use {id}"));
    }
}

/// The sweep recommends k from silhouette, share and stability, says why, marks the current k, and a
/// click on a k uses it.
#[test]
fn the_sweep_recommends_k_with_stability_and_a_click_uses_it() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Clusters").click();
    h.run_ok();
    h.state_mut().ui_state.chart = Chart::Sweep;
    h.state_mut().run_sweep();
    wait_for(&mut h, "the sweep", |a| {
        a.analysis.sweep.is_some() && idle(a)
    });
    let s = h.state().analysis.sweep.clone().unwrap();
    assert_eq!(s.resamples, 5);
    assert!(s.points.iter().all(|p| p.stability.is_some()));
    // Six groups are planted in the sample: the recommendation finds them.
    assert_eq!(s.recommended_k, 6, "{:?}", s.reasons);
    h.get_by_label("Recommended k = 6");
    h.get_by_label_contains("stable over resamples");
    h.get_by_label("current k = 6");
    h.get_by_label_contains("the current k = 6 is the white line");
    // A click on k = 4 reclusters with 4.
    h.get_by_label("4").click();
    wait_for_k(&mut h, "k = 4", 4);
    assert_eq!(h.state().analysis.cluster.params.k, 4);
    h.get_by_label("Use k = 6").click();
    wait_for_k(&mut h, "back to k = 6", 6);
}

/// Predict on an order log where most customers buy once: accuracy is shown beside the baseline of
/// always answering the larger class, the imbalance is named, and the window the gaps between orders
/// suggest is one click away (and, once used, no longer proposed).
#[test]
fn predict_on_an_order_log_shows_the_baseline_the_imbalance_and_a_window_to_use() {
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/predict/order_log.csv");
    let mut h = harness(PersonaApp::new(Some(log)));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Predict").click();
    h.run_ok();
    h.get_by_label("Train model").click();
    wait_for(&mut h, "the model", |a| {
        a.analysis.prediction.is_some() && idle(a)
    });
    let p = h.state().analysis.prediction.clone().unwrap();
    assert_eq!(p.params.horizon_days, 30);
    h.get_by_label("a model that always answers the larger class");
    // Here the model is no better than the baseline: both figures show (the same text twice).
    for x in [p.metrics.accuracy, p.metrics.baseline_accuracy] {
        assert!(h.query_all_by_label(&format!("{x:.4}")).count() >= 1, "{x}");
    }
    assert!(p.metrics.baseline_accuracy > 0.9, "{:?}", p.metrics);
    h.get_by_label_contains("Class imbalance: only");
    // The ROC and PR curves have vertical runs: drawn as lines, never as filled bands.
    let shapes = drawn_shapes(&h);
    assert!(
        !shapes.iter().any(|s| matches!(s, egui::Shape::Band(_))),
        "a curve was drawn as a filled band"
    );
    // Features by their display names.
    h.get_by_label("Days since last visit");
    // The curves' numbers, as the chart's CSV.
    let dir = tempfile::tempdir().unwrap();
    let curves = dir.path().join("curves.csv");
    h.get_by_label("Save curves (CSV)…");
    h.state_mut()
        .file_chosen(super::files::FilePurpose::ChartCsv, curves.clone());
    let text = std::fs::read_to_string(&curves).unwrap();
    let m = &p.metrics;
    assert_eq!(text.lines().next(), Some("curve,x,y"));
    assert_eq!(
        text.lines().count(),
        1 + m.roc.len() + m.pr.len() + m.calibration.len()
    );
    let (x, y) = m.roc[1];
    assert!(text.contains(&format!("roc,{x},{y}\n")));
    let suggested = p.horizon.clone().expect("a window is proposed").days;
    assert_ne!(suggested, 30);
    h.get_by_label(&format!("Use {suggested} days and retrain"))
        .click();
    h.run_ok();
    wait_for(&mut h, "the retrained model", |a| {
        idle(a)
            && a.analysis
                .prediction
                .as_ref()
                .is_some_and(|p| p.params.horizon_days == suggested)
    });
    h.run_ok();
    assert!(
        h.query_by_label_contains("days and retrain").is_none(),
        "the window in use is not proposed again"
    );
}

/// Without a system file dialog, Open… and Save project… use the in-app chooser: it lists the
/// folder with the file types asked for, opens the file clicked, and saves where the name says; the
/// project written opens again from the same chooser.
#[test]
fn the_in_app_file_chooser_opens_an_export_and_saves_and_reopens_a_project() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/predict/order_log.csv");
    std::fs::copy(&log, dir.path().join("orders.csv")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not an export").unwrap();
    std::fs::create_dir(dir.path().join("older")).unwrap();
    let mut h = harness(PersonaApp::new(None));
    assert!(!h.state().system_dialogs);
    h.run_ok();
    h.get_by_label("Open…").click();
    h.run_ok();
    h.get_by_label("Open an export or a project");
    // What typing the folder and pressing Enter does.
    h.state_mut()
        .ui_state
        .file_chooser
        .as_mut()
        .unwrap()
        .go(dir.path().to_path_buf());
    h.run_ok();
    h.get_by_label("older/");
    assert!(
        h.query_by_label("notes.txt").is_none(),
        "only exports and projects are listed"
    );
    h.get_by_label("orders.csv").click();
    h.run_ok();
    h.get_by_label("Open").click();
    h.run_ok();
    assert!(h.state().ui_state.file_chooser.is_none());
    wait_for(&mut h, "the export", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    let canon = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        h.state().analysis.source.as_deref(),
        Some(canon.join("orders.csv").as_path())
    );

    // Save the project: the chooser starts in the export's folder with the default name.
    h.state_mut()
        .ask_file(super::files::FilePurpose::SaveProject);
    h.run_ok();
    h.get_by_label("Save the project");
    h.state_mut().ui_state.file_chooser.as_mut().unwrap().name = "orders project".into();
    h.run_ok();
    h.get_by_label("Save").click();
    h.run_ok();
    let plab = canon.join("orders project.plab");
    assert!(plab.is_file(), "the project was written with its extension");
    assert_eq!(
        h.state().analysis.project_path.as_deref(),
        Some(plab.as_path())
    );

    // Open it again in a fresh window through Open…: a .plab opens as a project.
    let mut h2 = harness(PersonaApp::new(None));
    h2.run_ok();
    h2.get_by_label("Open…").click();
    h2.run_ok();
    h2.state_mut()
        .ui_state
        .file_chooser
        .as_mut()
        .unwrap()
        .go(canon.clone());
    h2.run_ok();
    h2.get_by_label("orders project.plab").click();
    h2.run_ok();
    h2.get_by_label("Open").click();
    wait_for(&mut h2, "the project", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    assert_eq!(
        h2.state().analysis.project_path.as_deref(),
        Some(plab.as_path())
    );
}

/// Each persona card shows its segment's stability (the core's figure for this run: five seeded
/// resamples of 80%), and an unstable segment is flagged.
#[test]
fn persona_cards_show_each_segments_stability() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| {
        a.analysis.run.is_some() && a.analysis.stability.is_some() && idle(a)
    });
    h.get_by_label("Personas").click();
    h.run_ok();
    let run = h.state().analysis.run.clone().unwrap();
    let direct = persona_lab::pipeline::run_stability(
        &run,
        persona_lab::cluster::stability::DEFAULT_RESAMPLES,
        persona_lab::pipeline::STABILITY_USERS,
        &persona_lab::job::Job::silent(),
    )
    .unwrap();
    assert_eq!(
        h.state().analysis.stability.as_ref().unwrap().1.per_segment,
        direct.per_segment
    );
    assert_eq!(direct.per_segment.len(), run.segmentation.k);
    for v in &direct.per_segment {
        let text = if *v < persona_lab::cluster::stability::STABLE_ENOUGH {
            format!("stability {v:.2}: not to be trusted")
        } else {
            format!("stability {v:.2}")
        };
        assert!(h.query_all_by_label(&text).count() >= 1, "{text}");
    }
    // The six planted groups come back whole.
    assert!(direct.per_segment.iter().all(|&v| v > 0.9), "{direct:?}");
    // Above the cap a seeded sample is measured: the same groups, as stable.
    let sampled = persona_lab::pipeline::run_stability(
        &run,
        persona_lab::cluster::stability::DEFAULT_RESAMPLES,
        800,
        &persona_lab::job::Job::silent(),
    )
    .unwrap();
    assert_eq!(sampled.per_segment.len(), run.segmentation.k);
    assert!(sampled.per_segment.iter().all(|&v| v > 0.9), "{sampled:?}");
}

/// The icon the window and the desktop entry use decodes, and the desktop entry names the binary and
/// the icon as the README installs them.
#[test]
fn the_app_icon_and_desktop_entry_are_usable() {
    let icon = super::window_icon();
    assert_eq!((icon.width, icon.height), (256, 256));
    assert_eq!(icon.rgba.len(), 256 * 256 * 4);
    let entry = include_str!("../../assets/persona-lab.desktop");
    for line in [
        "[Desktop Entry]",
        "Type=Application",
        "Name=Persona Lab",
        "Exec=persona-lab %f",
        "Icon=persona-lab",
    ] {
        assert!(entry.lines().any(|l| l == line), "{line}");
    }
    let readme = include_str!("../../README.md");
    assert!(readme.contains("assets/persona-lab.desktop ~/.local/share/applications/"));
    assert!(
        readme
            .contains("assets/icon.png ~/.local/share/icons/hicolor/256x256/apps/persona-lab.png")
    );
}

/// The first-run guide walks through four steps over the sample, and once closed it never shows
/// again; terms carry their explanation on hover.
#[test]
fn the_first_run_guide_shows_once_and_terms_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("guide_seen");
    let mut h = harness(PersonaApp::new(Some(sample_path())).with_guide(marker.clone()));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("1 · Data");
    h.get_by_label("1 of 4");
    for step in 2..=4 {
        h.get_by_label("Next").click();
        h.run_ok();
        h.get_by_label(&format!("{step} of 4"));
    }
    h.get_by_label("4 · Personas and rules");
    h.get_by_label("Back").click();
    h.run_ok();
    h.get_by_label("3 · Clusters");
    h.get_by_label("Skip the guide").click();
    h.run_ok();
    assert!(h.state().guide.is_none());
    assert!(h.query_by_label("Welcome to Persona Lab").is_none());
    assert!(marker.is_file(), "the guide remembers it was seen");
    // A new start: no guide.
    let again = PersonaApp::new(None).with_guide(marker);
    assert!(again.guide.is_none());

    // Terms explained where they are used.
    h.get_by_label("Clusters").click();
    h.run_ok();
    h.get_by_label("Elbow / silhouette by k").click();
    h.run_ok();
    h.get_by_label("Sweep k now").click();
    wait_for(&mut h, "the sweep", |a| {
        a.analysis.sweep.is_some() && idle(a)
    });
    h.get_by_label("inertia (?)").hover();
    h.run_ok();
    h.get_by_label_contains("It always falls as k grows");
    let (text, section) = super::help::Term::Stability.explain();
    assert!(text.contains("80%") && !section.is_empty());
}

/// Export what you see: the chart's numbers through Save chart data (CSV)… (the run's own values),
/// a table copied as TSV, and the persona summary as one HTML page with its charts.
#[test]
fn charts_tables_and_the_summary_export_what_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| a.analysis.run.is_some() && idle(a));
    h.get_by_label("Clusters").click();
    h.run_ok();
    h.get_by_label("Save chart data (CSV)…").click();
    h.run_ok();
    {
        let c = h.state_mut().ui_state.file_chooser.as_mut().unwrap();
        c.go(dir.path().to_path_buf());
        c.name = "silhouette".into();
    }
    h.run_ok();
    h.get_by_label("Save").click();
    h.run_ok();
    let csv_path = std::fs::canonicalize(dir.path())
        .unwrap()
        .join("silhouette.csv");
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let run = h.state().analysis.run.clone().unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user_id,segment,persona,silhouette"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), run.matrix.n_rows);
    let names = h.state().analysis.persona_names(run.segmentation.k);
    for (i, r) in rows.iter().enumerate().step_by(97) {
        let cells: Vec<&str> = r.split(',').collect();
        assert_eq!(cells[0], run.matrix.users[i]);
        assert_eq!(cells[1], run.segmentation.labels[i].to_string());
        assert_eq!(cells[2], names[run.segmentation.labels[i]]);
        let v: f64 = cells[3].parse().unwrap();
        assert_eq!(Some(v), run.silhouette.values[i]);
    }
    h.get_by_label_contains("wrote");

    // A table as TSV: the selection panel.
    h.state_mut().ui_state.selection = vec![0, 1, 2];
    h.run_ok();
    h.get_by_label("Copy as TSV").click();
    h.step();
    let copied: Vec<String> = h
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 1);
    let tsv: Vec<&str> = copied[0].lines().collect();
    assert!(
        tsv[0].starts_with("user\tsegment\tsilhouette\t"),
        "{}",
        tsv[0]
    );
    assert_eq!(tsv.len(), 4);
    assert!(tsv[1].starts_with(&format!("{}\t", run.matrix.users[0])));

    // The summary as a web page: every persona, its colour and its charts, nothing to fetch.
    let page = dir.path().join("personas.html");
    super::export_view::export_summary(h.state_mut(), page.clone(), true);
    wait_for(&mut h, "the page", idle);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    for p in &h.state().analysis.personas {
        assert!(html.contains(&format!(">{}</h2>", p.name)), "{}", p.name);
    }
    assert_eq!(html.matches("<svg").count(), 1 + run.segmentation.k);
    assert!(!html.contains("<script") && !html.contains("http"));
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

#[test]
fn the_warehouse_panels_give_the_sql_of_the_export_and_of_the_rule_set() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "the sample to load and cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    // Data: the features query for the mapped columns, in the engine chosen.
    h.get_by_label_contains("Warehouse: compute the profile")
        .click();
    h.run_ok();
    h.get_by_label("Copy SQL").click();
    h.step();
    let sql = copied(&h).expect("the query is copied");
    assert!(
        sql.starts_with("-- persona-lab sql features (duckdb)"),
        "{sql:.200}"
    );
    assert!(
        sql.contains("CAST(\"user_pseudo_id\" AS VARCHAR) AS u"),
        "{sql:.600}"
    );
    assert!(
        sql.contains("\"privacy_info.analytics_storage\""),
        "consent rows only"
    );
    assert!(
        sql.contains("AS \"count:view_item\""),
        "the profile's event names are pinned"
    );
    // It is exactly what the CLI prints for the same mapping and names.
    let loaded = h.state().analysis.loaded.clone().unwrap();
    let (table, _) = persona_lab::sql::features::table_of(&loaded).unwrap();
    assert_eq!(table.ts_unit, persona_lab::sql::features::TimeUnit::Micros);
    assert!(table.duration_ms);
    h.state_mut().ui_state.warehouse.dialect = persona_lab::sql::Dialect::BigQuery;
    h.state_mut().ui_state.warehouse.events_table = "shop.analytics.events".into();
    h.run_ok();
    h.get_by_label("Copy SQL").click();
    h.step();
    let sql = copied(&h).unwrap();
    assert!(sql.starts_with("-- persona-lab sql features (bigquery)"));
    assert!(sql.contains("FROM shop.analytics.events"));

    // Export: the assign query for the rule set as it would be exported.
    h.get_by_label("Export").click();
    h.run_ok();
    h.get_by_label_contains("Warehouse: assign every user")
        .click();
    h.run_ok();
    h.get_by_label("Copy SQL").click();
    h.step();
    let sql = copied(&h).unwrap();
    let rs = h.state().rule_set().unwrap();
    assert_eq!(
        sql,
        persona_lab::sql::assign::query(
            &rs,
            persona_lab::sql::Dialect::BigQuery,
            "profiles",
            "user_id"
        )
    );
    assert_eq!(
        sql.matches(" AS d").count(),
        rs.segments.k,
        "one distance per segment"
    );
}

/// An export streamed through the app (forced here; larger than the memory budget in use): the
/// Data view says so, and the profile and clustering are those of the export read whole.
#[test]
fn a_streamed_export_loads_and_clusters_like_one_read_whole() {
    let mut h = harness(PersonaApp::new(None));
    h.state_mut().analysis.load_options.streaming = Some(persona_lab::data::stream::Streaming {
        batch_bytes: 1 << 20,
        parts: 4,
    });
    h.state_mut().open_data(sample_path());
    wait_for(&mut h, "the streamed sample to load and cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    let summary = h.state().analysis.summary.clone().unwrap_or_default();
    assert!(
        summary.contains("streamed   read in batches of 1 MB into 4 parts"),
        "{summary}"
    );
    h.state_mut().ui_state.view = View::Data;
    h.run();
    h.get_by_label_contains("streamed: the export is larger than the memory budget");
    let whole = persona_lab::data::load(&sample_path(), &Default::default()).unwrap();
    let cfg = h.state().analysis.feature_config.clone();
    let p = persona_lab::features::compute_profile(&whole, &cfg).unwrap();
    let streamed = h.state().analysis.profile.as_ref().unwrap();
    assert_eq!(streamed.user_ids(), p.user_ids());
    for f in &p.features {
        assert_eq!(streamed.column(f).unwrap(), p.column(f).unwrap(), "{f}");
    }
}
