//! The Data and Features views: bad files, roles, order logs, folders, streamed exports, previews and one-hot attributes.

use super::*;

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
    click(&mut h, "Dismiss");
    assert!(h.state().ui_state.messages.is_empty());
}

#[test]
fn feature_previews_follow_the_spec_and_unselecting_everything_explains_itself() {
    let mut h = sample_clustered();
    h.get_by_label("Features").click();
    wait_for(&mut h, "previews", |a| {
        a.caches.preview.is_some() && idle(a)
    });
    h.get_by_label_contains("Correlation of the clustering columns");
    h.get_by_label_contains("Engagement score");
    let p = h.state().caches.preview.clone().unwrap();
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
            click(&mut h, &format!("use {id}"));
        }
    }
    wait_for(&mut h, "the empty preview", |a| {
        a.caches.preview.as_ref().is_some_and(|p| p.error.is_some())
            && !a.tasks.running(crate::gui::tasks::Kind::Preview)
    });
    h.get_by_label_contains("no usable features");
}

#[test]
fn a_role_can_be_remapped_from_the_data_view() {
    let mut h = sample_clustered();
    assert_eq!(h.state().analysis.profile.as_ref().unwrap().n_users(), 1967);
    // Unmap the consent column: users without consent are no longer dropped.
    click(&mut h, "consent");
    click(&mut h, "(none)");
    h.get_by_label("Reload with these settings").click();
    wait_for_profile(&mut h, "the reload", |p| p.n_users() == 2000);
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
    click(&mut h, "timestamp format");
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
    let folder = ga4_days(dir.path());
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

/// The Features view's "One-hot attributes" turns each attribute's common values into 0/1 features,
/// chosen for the next clustering.
#[test]
fn one_hot_attributes_are_offered_in_the_features_view() {
    let mut h = sample_clustered();
    click(&mut h, "Features");
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

/// An export with fewer users than the default k clusters them into as many segments as a silhouette
/// allows (one fewer than users), and says so, instead of stopping at "k = 6 is more than the 3
/// distinct users".
#[test]
fn an_export_with_fewer_users_than_k_lowers_k_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("three_users.csv");
    let mut text = String::from("user_id,event_time,event_name\n");
    for (u, n) in [("a", 2), ("b", 5), ("c", 9)] {
        for i in 0..n {
            text.push_str(&format!(
                "{u},2024-06-0{} 10:{i:02}:00,page_view\n",
                1 + i % 5
            ));
        }
    }
    std::fs::write(&small, text).unwrap();
    assert_eq!(h_k_default(), 6);
    let mut h = harness(PersonaApp::new(Some(small)));
    wait_for(&mut h, "the run", |a| a.analysis.run.is_some() && idle(a));
    let run = h.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 2);
    assert_eq!(h.state().analysis.cluster.params.k, 2);
    h.get_by_label_contains("k lowered from 6 to 2: the export has 3 users");
    assert!(
        !h.state()
            .ui_state
            .messages
            .iter()
            .any(|m| m.level == crate::gui::state::Level::Error),
        "{:?}",
        h.state().ui_state.messages
    );
}

/// The k a new window starts with.
fn h_k_default() -> usize {
    PersonaApp::new(None).analysis.cluster.params.k
}

/// Local times are read in the zone typed under "time zone" in the Data view: the events move to
/// the instants zoneinfo gives (tests/oracle/timezone_oracle.py), and the summary says the zone. A
/// zone that is none is said in the app's words.
#[test]
fn times_are_read_in_the_zone_typed_in_the_data_view() {
    use persona_lab::data::cols;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/timezone/local_times.csv");
    let mut h = harness(PersonaApp::new(Some(path.clone())));
    wait_for(&mut h, "the load", |a| {
        idle(a) && a.analysis.loaded.is_some()
    });
    click(&mut h, "time zone");
    h.get_by_label("time zone").type_text("Europe/Berlin");
    h.run_ok();
    h.get_by_label("Reload with these settings").click();
    wait_for(&mut h, "the load in Berlin time", |a| {
        idle(a)
            && a.analysis
                .loaded
                .as_ref()
                .is_some_and(|l| l.time_zone.is_some())
    });
    // The core's reading in that zone (checked against zoneinfo in tests/time_zones.rs), and not
    // the UTC one.
    let core = |zone: Option<&str>| {
        persona_lab::data::load(
            &path,
            &persona_lab::data::LoadOptions {
                time_zone: zone.map(String::from),
                ..Default::default()
            },
        )
        .unwrap()
        .table
    };
    let l = h.state().analysis.loaded.clone().unwrap();
    let ts = |t: &polars::prelude::DataFrame| -> Vec<Option<i64>> {
        t.column(cols::TS).unwrap().i64().unwrap().iter().collect()
    };
    assert_eq!(ts(&l.table), ts(&core(Some("Europe/Berlin"))));
    assert_ne!(ts(&l.table), ts(&core(None)));
    assert_eq!(l.table.height(), 30);
    h.get_by_label_contains("[format \"%Y-%m-%d %H:%M:%S%.f\", in Europe/Berlin]");

    // A zone that is none: the message names the app's control, not a flag.
    click(&mut h, "time zone");
    h.get_by_label("time zone").type_text("x");
    h.run_ok();
    h.get_by_label("Reload with these settings").click();
    wait_for(&mut h, "the refused load", |a| {
        idle(a) && a.analysis.failed_load.is_some()
    });
    let (message, _) = h.state().analysis.failed_load.clone().unwrap();
    assert!(
        message.contains("\"Europe/Berlinx\" is not a time zone"),
        "{message}"
    );
    assert!(
        message.contains("under “time zone” in the Data view"),
        "{message}"
    );
    assert!(!message.contains("--"), "{message}");
}
