//! What leaves the app: exports, the monitor, hashed ids, the warehouse SQL, chart and table exports.

use super::*;

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

    let mut h = sample_clustered();
    click(&mut h, "Monitor");
    crate::gui::file_work::load_outcomes(h.state_mut(), outcomes);
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
    crate::gui::file_work::compare_deployed(h.state_mut(), deployed.clone());
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
    let mut h = sample_clustered();
    let raw: Vec<String> = run_users(&h);
    click(&mut h, "hash user ids");
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
    let users = run_users(&h);
    assert_eq!(users.len(), raw.len());
    assert!(
        users
            .iter()
            .all(|u| u.len() == 64 && u.chars().all(|c| c.is_ascii_hexdigit()))
    );
    // Everything the app can write.
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().save_project(dir.path().join("p.plab"));
    crate::gui::file_work::save_rule_set(h.state_mut(), dir.path().join("r.ron"));
    wait_for(&mut h, "rule set", idle);
    crate::gui::file_work::export_assignments(h.state_mut(), dir.path().join("a.csv"));
    wait_for(&mut h, "assignments", idle);
    crate::gui::file_work::export_summary(h.state_mut(), dir.path().join("s.md"), false);
    wait_for(&mut h, "summary", idle);
    crate::gui::file_work::export_summary(h.state_mut(), dir.path().join("s.html"), true);
    wait_for(&mut h, "summary page", idle);
    h.state_mut().file_chosen(
        crate::gui::files::FilePurpose::ChartCsv,
        dir.path().join("silhouette.csv"),
    );
    h.state_mut().run_prediction();
    wait_for(&mut h, "model", |a| {
        a.analysis.prediction.is_some() && idle(a)
    });
    crate::gui::file_work::export_high(h.state_mut(), dir.path().join("high.csv"));
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

/// GA4's daily tables with one-hot attributes on: the Data view's warehouse query computes what the
/// profile has beyond the catalogue (the numeric parameter's sum, mean and max, the one-hot values
/// pinned by name), exactly the CLI's query for the same settings.
#[test]
fn the_warehouse_query_of_ga4_tables_has_the_measures_and_one_hot_features() {
    let dir = tempfile::tempdir().unwrap();
    let folder = ga4_days(dir.path());
    let mut h = harness(PersonaApp::new(Some(folder.clone())));
    wait_for(&mut h, "the folder to load and cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    click(&mut h, "Features");
    h.get_by_label("One-hot attributes").click();
    wait_for_profile(&mut h, "the reload with one-hot features", |p| {
        p.features.iter().any(|f| f.starts_with("is:"))
    });
    let sql = warehouse_sql(&mut h, Some("Data"), "Warehouse: compute the profile");
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

/// Export what you see: the chart's numbers through Save chart data (CSV)… (the run's own values),
/// a table copied as TSV, and the persona summary as one HTML page with its charts.
#[test]
fn charts_tables_and_the_summary_export_what_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = sample_clustered();
    click(&mut h, "Clusters");
    click(&mut h, "Save chart data (CSV)…");
    {
        let c = h.state_mut().file_chooser.as_mut().unwrap();
        c.go(dir.path().to_path_buf());
        c.name = "silhouette".into();
    }
    h.run_ok();
    click(&mut h, "Save");
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
    h.state_mut().ui_state.selection.set(vec![0, 1, 2]);
    h.run_ok();
    h.get_by_label("Copy as TSV").click();
    step_until_copied(&mut h);
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
    crate::gui::file_work::export_summary(h.state_mut(), page.clone(), true);
    wait_for(&mut h, "the page", idle);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    for p in &h.state().analysis.personas {
        assert!(html.contains(&format!(">{}</h2>", p.name)), "{}", p.name);
    }
    assert_eq!(html.matches("<svg").count(), 1 + run.segmentation.k);
    assert!(!html.contains("<script") && !html.contains("http"));
}

#[test]
fn the_warehouse_panels_give_the_sql_of_the_export_and_of_the_rule_set() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "the sample to load and cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    // Data: the features query for the mapped columns, in the engine chosen.
    let sql = warehouse_sql(&mut h, None, "Warehouse: compute the profile");
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
    let sql = copy_sql(&mut h);
    assert!(sql.starts_with("-- persona-lab sql features (bigquery)"));
    assert!(sql.contains("FROM shop.analytics.events"));

    // Export: the assign query for the rule set as it would be exported.
    let sql = warehouse_sql(&mut h, Some("Export"), "Warehouse: assign every user");
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
