//! The real app driven by its labels (egui_kittest, no display): start on the sample, cluster, look at
//! the charts, change a weight and k, rename a persona.

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
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}; messages: {:?}",
            h.state().ui_state.messages
        );
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.step();
    h.step();
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

    h.get_by_label("Scatter (PCA)").click();
    h.run_ok();
    h.get_by_label_contains("PCA: component 1 explains");

    h.get_by_label("Profiles").click();
    h.run_ok();
    assert_eq!(h.state().ui_state.chart, Chart::Profiles);
    h.get_by_label("sessions");

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
        a.analysis.cluster.method = Method::Ward;
        a.analysis.cluster.k = 4;
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
    assert!(h.get_all_by_label("top clusters drawn").count() >= 1);
    h.get_by_label_contains("cut: k = 4");
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
}

#[test]
fn a_bad_file_shows_an_error_and_the_app_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("empty.csv");
    std::fs::write(&bad, "").unwrap();
    let mut h = harness(PersonaApp::new(Some(bad.clone())));
    wait_for(&mut h, "the load to fail", idle);
    h.get_by_label_contains("the file is empty");
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
        a.analysis.cluster.k = 5;
        a.analysis.cluster.seed = 11;
        a.settings_changed();
    }
    wait_for(&mut h, "k = 5", |a| {
        idle(a)
            && a.analysis
                .run
                .as_ref()
                .is_some_and(|r| r.segmentation.k == 5)
    });
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

    let mut app = PersonaApp::new(None);
    app.open_project(plab);
    let mut h2 = harness(app);
    wait_for(&mut h2, "the project", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    let run = h2.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 5);
    assert_eq!(run.segmentation.params.seed, 11);
    assert_eq!(run.segmentation.labels, labels);
    assert_eq!(h2.state().analysis.personas[1].name, "Frequent Browsers");
}
