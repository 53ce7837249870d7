//! Times written in a local zone (`--time-zone`, the Data view's "time zone") become UTC instants as
//! Python's zoneinfo makes them (tests/oracle/timezone_oracle.py): naive text times around both
//! daylight-saving changes, and Mixpanel's raw export (epoch seconds in the project's zone).

mod common;

use std::collections::HashMap;

use common::{repo, run, run_ok, stderr, stdout};
use persona_lab::data::{self, LoadOptions, Loaded, cols};
use polars::prelude::*;

fn load_in(path: &str, zone: Option<&str>) -> Loaded {
    let opts = LoadOptions {
        time_zone: zone.map(String::from),
        ..Default::default()
    };
    data::load(&repo(path), &opts).unwrap()
}

/// (event name, ts) of every canonical row.
fn events(l: &Loaded) -> Vec<(String, i64)> {
    let t = &l.table;
    let ev = t
        .column(cols::EVENT)
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let ts = t.column(cols::TS).unwrap();
    ev.str()
        .unwrap()
        .iter()
        .map(|e| e.unwrap_or_default().to_string())
        .zip(ts.i64().unwrap().into_no_null_iter())
        .collect()
}

/// key -> utc_micros from an oracle file.
fn oracle(path: &str) -> HashMap<String, i64> {
    std::fs::read_to_string(repo(path))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (k, v) = l.split_once(',').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn naive_times_around_daylight_saving_changes_match_zoneinfo() {
    for (zone, key) in [("America/Los_Angeles", "la"), ("Europe/Berlin", "berlin")] {
        let want = oracle(&format!("tests/fixtures/timezone/local_times_{key}.csv"));
        let l = load_in("tests/fixtures/timezone/local_times.csv", Some(zone));
        let got = events(&l);
        assert_eq!(got.len(), want.len(), "{zone}");
        for (event, ts) in got {
            assert_eq!(ts, want[&event], "{zone}: {event}");
        }
        assert_eq!(l.time_zone.as_deref(), Some(zone));
    }
    // Without a zone the same text is UTC: e0 (2024-01-15 00:30) is 8 hours before Los Angeles'.
    let utc = events(&load_in("tests/fixtures/timezone/local_times.csv", None));
    let la = oracle("tests/fixtures/timezone/local_times_la.csv");
    let e0 = utc.iter().find(|(e, _)| e == "e0").unwrap().1;
    assert_eq!(la["e0"] - e0, 8 * 3_600_000_000);
}

#[test]
fn mixpanel_epochs_in_the_project_zone_match_zoneinfo() {
    let path = "tests/fixtures/vendors/mixpanel_export.ndjson";
    // The raw `time` of each $insert_id, and the instant zoneinfo makes of it.
    let raw: HashMap<i64, String> = std::fs::read_to_string(repo(path))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let p = &v["properties"];
            (
                p["time"].as_i64().unwrap() * 1_000_000,
                p["$insert_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = oracle("tests/fixtures/timezone/mixpanel_la.csv");
    let as_utc = load_in(path, None);
    // Read as UTC, the loader says what the times may be.
    assert!(
        as_utc.warnings.iter().any(|w| w
            .message
            .contains("Mixpanel's raw export gives times in the project's time zone")),
        "{:?}",
        as_utc.warnings
    );
    let in_la = load_in(path, Some("America/Los_Angeles"));
    assert!(
        !in_la
            .warnings
            .iter()
            .any(|w| w.message.contains("Mixpanel's raw export"))
    );
    let mut expected: Vec<(String, i64)> = events(&as_utc)
        .into_iter()
        .map(|(e, ts)| (e, want[&raw[&ts]]))
        .collect();
    let mut got = events(&in_la);
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(got.len() > 90);
}

#[test]
fn the_cli_reads_a_zone_and_refuses_one_that_is_not() {
    let p = repo("tests/fixtures/timezone/local_times.csv");
    let p = p.to_str().unwrap();
    let o = run_ok(&["inspect", p, "--time-zone", "Europe/Berlin"]);
    assert!(stdout(&o).contains("in Europe/Berlin]"), "{}", stdout(&o));
    let o = run(&["inspect", p, "--time-zone", "Europe/Berln"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("\"Europe/Berln\" is not a time zone")
            && stderr(&o).contains("pass --time-zone"),
        "{}",
        stderr(&o)
    );
}

/// A streamed export (read batch by batch, spilled by user) is read in the zone too: the profile
/// is the one read whole, bit for bit.
#[test]
fn a_streamed_export_is_read_in_its_zone_too() {
    use persona_lab::data::stream::Streaming;
    use persona_lab::features::{FeatureConfig, compute_profile};
    let path = repo("tests/fixtures/vendors/mixpanel_export.ndjson");
    let zone = Some("America/Los_Angeles".to_string());
    let whole = data::load(
        &path,
        &LoadOptions {
            time_zone: zone.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    let streamed = data::load(
        &path,
        &LoadOptions {
            time_zone: zone,
            streaming: Some(Streaming {
                batch_bytes: 4_000,
                parts: 2,
            }),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(streamed.spill.is_some());
    let cfg = FeatureConfig::default();
    let (a, b) = (
        compute_profile(&whole, &cfg).unwrap(),
        compute_profile(&streamed, &cfg).unwrap(),
    );
    assert_eq!(a.user_ids(), b.user_ids());
    assert_eq!(a.reference_time, b.reference_time);
    for f in &a.features {
        let (x, y) = (a.column(f).unwrap(), b.column(f).unwrap());
        assert!(
            x.iter().zip(&y).all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                (None, None) => true,
                _ => false,
            }),
            "{f}"
        );
    }
    // And it is not the UTC reading: the last event moves by seven hours (summer in Los Angeles).
    let utc = load_in("tests/fixtures/vendors/mixpanel_export.ndjson", None);
    let r = compute_profile(&utc, &cfg).unwrap().reference_time.unwrap();
    assert_eq!(a.reference_time.unwrap() - r, 7 * 3_600_000_000);
}
