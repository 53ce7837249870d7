//! GA4 exactly as BigQuery exports it: nested `event_params` (key/value records), INT64 written as
//! JSON strings, NULL fields left out, `ecommerce` / `privacy_info` records, `items` lists. The
//! nested export must give the features of the flattened one, and the values a hand count gives.

mod common;

use common::*;
use persona_lab::data::{FileFormat, Preset};
use persona_lab::features::{self, FeatureConfig};
use persona_lab::sample::SampleStyle;

fn sample_as(dir: &std::path::Path, name: &str, style: SampleStyle) -> std::path::PathBuf {
    sample_export(dir, name, style, 150, 23)
}

#[test]
fn nested_export_gives_the_features_of_the_flat_one() {
    let d = tempfile::tempdir().unwrap();
    let flat = sample_as(d.path(), "flat.csv", SampleStyle::Ga4);
    let nested = [
        sample_as(d.path(), "events.ndjson", SampleStyle::Ga4BigQuery),
        sample_as(d.path(), "events.ndjson.gz", SampleStyle::Ga4BigQuery),
        sample_as(d.path(), "events.parquet", SampleStyle::Ga4BigQuery),
        sample_as(d.path(), "events.avro", SampleStyle::Ga4BigQuery),
    ];
    // The JSON export really is BigQuery's: INT64 in quotes, parameters nested.
    let text = std::fs::read_to_string(&nested[0]).unwrap();
    let first = text.lines().next().unwrap();
    says(
        first,
        &[
            r#""event_params":[{"key":"ga_session_id","value":{"int_value":""#,
            r#""event_timestamp":""#,
        ],
    );
    let base = load(&flat).unwrap();
    let want = features::compute_profile(&base, &FeatureConfig::default()).unwrap();
    for p in &nested {
        let l = load(p).unwrap();
        assert_eq!(l.preset, Preset::Ga4, "{}", p.display());
        let m = &l.mapping;
        assert_eq!(m.session.as_deref(), Some("event_params.ga_session_id"));
        assert_eq!(
            m.duration.as_deref(),
            Some("event_params.engagement_time_msec")
        );
        assert_eq!(m.scroll.as_deref(), Some("event_params.percent_scrolled"));
        assert_eq!(m.value.as_deref(), Some("ecommerce.purchase_revenue"));
        assert_eq!(
            m.value_fallback.last().map(String::as_str),
            Some("event_params.value")
        );
        assert_eq!(m.consent.as_deref(), Some("privacy_info.analytics_storage"));
        assert_eq!(l.rows_read, base.rows_read);
        assert!(
            l.left_out
                .iter()
                .any(|c| c.column == "items" && c.reason.contains("list")),
            "{:?}",
            l.left_out
        );
        let got = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
        // The nested export has one more numeric parameter than the flat one (GA4's
        // ga_session_number): its three features, and every other feature equal.
        let extra: Vec<&str> = got
            .features
            .iter()
            .filter(|f| !want.features.contains(f))
            .map(String::as_str)
            .collect();
        assert_eq!(
            extra,
            [
                "sum:event_params.ga_session_number",
                "mean:event_params.ga_session_number",
                "max:event_params.ga_session_number"
            ]
        );
        let names = want.table.get_column_names_owned();
        let got_table = got.table.select(names).unwrap();
        assert!(
            got_table.equals_missing(&want.table),
            "{}: {:?}\n{:?}",
            p.display(),
            got_table.head(Some(3)),
            want.table.head(Some(3))
        );
    }
    assert_eq!(load(&nested[2]).unwrap().format, FileFormat::Parquet);
    assert_eq!(load(&nested[3]).unwrap().format, FileFormat::Avro);
    // As BigQuery keeps it: a folder of daily tables, read as one export.
    let folder = d.path().join("bq_export/");
    sample_as(d.path(), "bq_export/", SampleStyle::Ga4BigQuery);
    let days: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(days.len() > 60, "{days:?}");
    assert!(
        days.iter()
            .all(|n| n.starts_with("events_2024") && n.ends_with(".parquet"))
    );
    let l = load(&folder).unwrap();
    assert_eq!(l.files.len(), days.len());
    let got = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let got = got
        .table
        .select(want.table.get_column_names_owned())
        .unwrap();
    assert!(got.equals_missing(&want.table));
}

/// Eight events of two users in the JSON export's shape, counted by hand.
const BIGQUERY_JSON: &str = include_str!("fixtures/ga4/events_20240601.json");

#[test]
fn bigquery_json_export_counted_by_hand() {
    let (d, p) = temp_file("events_20240601.json", BIGQUERY_JSON);
    let prof = hand_count(&p);
    let spec = features::TransformSpec::default_for(&prof);
    // Offered, not chosen: the default clustering set leaves them out.
    assert!(!spec.features.iter().any(|f| f.id.contains("quantity")));
    // The logged-in identity: user_id where set, else the device's pseudo id.
    let opts = persona_lab::data::LoadOptions {
        roles: persona_lab::data::RoleMapping {
            user_id: Some("user_id".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let with_login = BIGQUERY_JSON.replacen(
        r#""user_pseudo_id":"222.2""#,
        r#""user_pseudo_id":"222.2","user_id":"member-9""#,
        1,
    );
    let p2 = write(d.path(), "events_20240602.json", with_login);
    let l2 = persona_lab::data::load(&p2, &opts).unwrap();
    assert_eq!(
        l2.mapping.user_id_fallback.as_deref(),
        Some("user_pseudo_id")
    );
    let ids = features::compute_profile(&l2, &FeatureConfig::default())
        .unwrap()
        .user_ids();
    assert_eq!(ids, ["111.1", "222.2", "member-9"]);
}

/// The same eight events as BigQuery's Avro export writes them (made by fastavro from the JSON file:
/// tests/oracle/ga4_avro.py), deflate and snappy: the hand count holds for both.
#[test]
fn bigquery_avro_export_counted_by_hand() {
    let json = repo("tests/fixtures/ga4/events_20240601.json");
    let want = hand_count(&json);
    for codec in ["deflate", "snappy"] {
        let p = repo(&format!("tests/fixtures/ga4/events_20240601-{codec}.avro"));
        let l = load(&p).unwrap();
        assert_eq!(l.format, FileFormat::Avro);
        let got = hand_count(&p);
        assert_eq!(got.features, want.features, "{codec}");
        assert!(
            got.table.equals_missing(&want.table),
            "{codec}: {:?}\n{:?}",
            got.table,
            want.table
        );
    }
    // Found by its magic bytes whatever the name; a damaged file is named with its block.
    let d = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(repo("tests/fixtures/ga4/events_20240601-deflate.avro")).unwrap();
    let renamed = d.path().join("events_20240601");
    std::fs::write(&renamed, &bytes).unwrap();
    assert_eq!(load(&renamed).unwrap().format, FileFormat::Avro);
    let cut = d.path().join("cut.avro");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    let e = persona_lab::data::load(&cut, &Default::default())
        .unwrap_err()
        .to_string();
    says(&e, &["cut.avro", "block 1"]);
}

/// Load a GA4 export of the eight events and check the hand count; the profile, for comparisons.
fn hand_count(p: &std::path::Path) -> features::Profile {
    let l = load(p).unwrap();
    assert_eq!(l.preset, Preset::Ga4);
    assert_eq!(l.rows_read, 8);
    // The last event has no analytics consent.
    assert_eq!(l.table.height(), 7);
    let left: Vec<&str> = l.left_out.iter().map(|c| c.column.as_str()).collect();
    for c in [
        "items",
        "user_properties.tier",
        "event_params.page_location",
        "event_params.currency",
    ] {
        assert!(left.contains(&c), "{c} not in {left:?}");
    }
    assert!(!left.contains(&"event_params"), "{left:?}");
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let t = &prof.table;
    let get = |col: &str, user: &str| by_user(t, col)[user];
    // ga_session_id 100 is used by both users: sessions are counted per user.
    assert_eq!(get("sessions", "111.1"), Some(2.0));
    assert_eq!(get("sessions", "222.2"), Some(1.0));
    assert_eq!(get("purchases", "111.1"), Some(1.0));
    assert_eq!(get("purchases", "222.2"), Some(2.0));
    // ecommerce.purchase_revenue first (30.5, not the 33.0 in USD), else event_value_in_usd (12.0,
    // not the 11.0 sent in EUR), else the value parameter (7, an INT64 in quotes).
    assert_eq!(get("revenue", "111.1"), Some(30.5));
    assert_eq!(get("revenue", "222.2"), Some(19.0));
    // Engagement time in milliseconds, summed in seconds; the refused event's 9,999 ms are not in.
    assert_eq!(get("time_total", "111.1"), Some(4.0));
    assert_eq!(get("time_total", "222.2"), Some(4.0));
    // Whole percents arrive as int_value, fractions as double_value: one measure.
    assert_eq!(get("scroll_mean", "111.1"), Some(67.5));
    assert_eq!(get("scroll_mean", "222.2"), None);
    // Other numeric parameters are optional features (ids are not): sum, mean, max per user.
    assert_eq!(l.mapping.measures, ["event_params.quantity"]);
    assert_eq!(get("sum:event_params.quantity", "111.1"), Some(2.0));
    assert_eq!(get("sum:event_params.quantity", "222.2"), Some(5.0));
    assert_eq!(get("mean:event_params.quantity", "222.2"), Some(2.5));
    assert_eq!(get("max:event_params.quantity", "222.2"), Some(4.0));
    prof
}

#[test]
fn the_cli_reads_the_nested_sample() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ga4.parquet");
    run_ok(&[
        "sample",
        "--users",
        "40",
        "--style",
        "ga4-bigquery",
        "--out",
        arg(&out),
    ]);
    let o = run_ok(&["inspect", arg(&out)]);
    let s = stdout(&o);
    says(
        &s,
        &[
            "event_params.ga_session_id",
            "ecommerce.purchase_revenue (else event_value_in_usd, else event_params.value)",
        ],
    );
    // The nested export cannot be a CSV: the message says what to use.
    let o = run(&[
        "sample",
        "--style",
        "ga4-bigquery",
        "--out",
        arg(&d.path().join("x.csv")),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(".parquet"), "{}", stderr(&o));
}

/// Asked for, each attribute's common values become 0/1 features chosen for clustering; a rule set
/// pins the ones it was trained on, so a new export yields the same columns.
#[test]
fn one_hot_attributes_when_asked() {
    let (_d, p) = temp_file("events_20240601.json", BIGQUERY_JSON);
    let l = load(&p).unwrap();
    assert_eq!(l.mapping.attributes, ["device.category"]);
    let off = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert!(!off.features.iter().any(|f| f.starts_with("is:")));
    let cfg = FeatureConfig {
        one_hot_attributes: true,
        ..Default::default()
    };
    let on = features::compute_profile(&l, &cfg).unwrap();
    let hot: Vec<&String> = on
        .features
        .iter()
        .filter(|f| f.starts_with("is:"))
        .collect();
    assert_eq!(hot, ["is:device.category=desktop"]);
    // 111.1's one event with a device says desktop; 222.2's events say nothing: 0, not missing.
    let v = by_user(&on.table, "is:device.category=desktop");
    assert_eq!((v["111.1"], v["222.2"]), (Some(1.0), Some(0.0)));
    let spec = features::TransformSpec::default_for(&on);
    assert!(
        spec.features
            .iter()
            .any(|c| c.id == "is:device.category=desktop")
    );
    assert_eq!(
        features::FeatureKind::Ratio,
        persona_lab::features::catalogue::kind_of("is:device.category=desktop")
    );
    // Pinned: exactly those, whatever this export's values are.
    let pinned = FeatureConfig {
        one_hot_values: Some(vec!["is:device.category=mobile".into()]),
        ..cfg
    };
    let p = features::compute_profile(&l, &pinned).unwrap();
    let hot: Vec<&String> = p.features.iter().filter(|f| f.starts_with("is:")).collect();
    assert_eq!(hot, ["is:device.category=mobile"]);
    let v = by_user(&p.table, "is:device.category=mobile");
    assert_eq!((v["111.1"], v["222.2"]), (Some(0.0), Some(0.0)));
}

/// A GA4 dataset exported whole while the streaming export runs: the newest day is in its daily
/// table and still in its intraday one, a 360 property's fresh table repeats another day, and the
/// user-data export sits beside the events. Each day is read once, from its most complete table;
/// the user-data table is not read as events; the files left out are said with why; the profile is
/// the daily tables' to the bit. A day only the intraday table holds yet is read.
#[test]
fn a_dataset_with_intraday_and_fresh_tables_counts_each_day_once() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("bq_export/");
    sample_as(d.path(), "bq_export/", SampleStyle::Ga4BigQuery);
    let mut days: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    days.sort();
    let profile = |l: &persona_lab::data::Loaded| {
        features::compute_profile(l, &FeatureConfig::default())
            .unwrap()
            .table
    };
    let daily = load(&folder).unwrap();
    let want = profile(&daily);
    let (first, last) = (days[0].clone(), days[days.len() - 1].clone());
    let copy = |from: &str, to: &str| std::fs::copy(folder.join(from), folder.join(to)).unwrap();
    let intraday = last.replace("events_", "events_intraday_");
    copy(&last, &intraday);
    copy(&first, &first.replace("events_", "events_fresh_"));
    let users_day = &last["events_".len().."events_".len() + 8];
    write(
        &folder,
        &format!("pseudonymous_users_{users_day}.json"),
        "{\"pseudo_user_id\":\"1.1\",\"stream_id\":\"9\",\"user_info\":{\"last_active_timestamp_micros\":\"1717200000000000\"}}\n",
    );
    let l = load(&folder).unwrap();
    assert_eq!(l.files.len(), days.len(), "{:?}", l.files);
    assert_eq!(l.rows_read, daily.rows_read);
    assert!(profile(&l).equals_missing(&want));
    let warning = l
        .warnings
        .iter()
        .map(|w| w.to_string())
        .find(|w| w.contains("GA4 table files not read"))
        .expect("the files left out are said");
    says(
        &warning,
        &[
            "3 GA4 table files not read",
            &format!(
                "{intraday}: {} holds the same day complete",
                &last[..last.len() - ".parquet".len()]
            ),
            "events_fresh_",
            "user-data export",
        ],
    );
    // The newest day in the intraday table only (the daily one not written yet): read from it.
    std::fs::remove_file(folder.join(&last)).unwrap();
    let l = load(&folder).unwrap();
    assert_eq!(l.files.len(), days.len());
    assert!(l.files.contains(&intraday), "{:?}", l.files);
    assert!(profile(&l).equals_missing(&want));
}
