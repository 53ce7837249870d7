//! Exports larger than memory: the streamed load (batches → parts on disk by user → the profile part
//! by part) gives the in-memory profile on every format, folders and gzip included, bit for bit.
//! The cut is forced small here (a few KB per batch, several parts) so every export crosses many
//! batch and part boundaries.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use persona_lab::data::stream::Streaming;
use persona_lab::data::{self, LoadOptions, Loaded};
use persona_lab::features::{self, FeatureConfig, Profile};
use persona_lab::sample::{self, SampleOptions, SampleStyle};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plab-stream-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_sample(path: &Path, style: SampleStyle, users: usize) {
    let opts = SampleOptions {
        users,
        seed: 7,
        days: 60,
        style,
    };
    sample::write_sample(&opts, path, None).unwrap();
}

fn streamed(batch_bytes: usize, parts: usize) -> LoadOptions {
    LoadOptions {
        streaming: Some(Streaming { batch_bytes, parts }),
        ..LoadOptions::default()
    }
}

fn both(path: &Path, opts: LoadOptions) -> (Loaded, Loaded) {
    let whole = data::load(
        path,
        &LoadOptions {
            streaming: None,
            ..opts.clone()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let streamed = data::load(path, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(whole.spill.is_none());
    assert!(streamed.spill.is_some(), "{}: not streamed", path.display());
    (whole, streamed)
}

/// The two profiles hold the same users in the same order and the same values (bit for bit: each
/// user's events are summed in the same order), the same features and attributes.
fn assert_same_profile(what: &str, a: &Profile, b: &Profile) {
    assert_eq!(a.features, b.features, "{what}: features");
    assert_eq!(a.user_ids(), b.user_ids(), "{what}: users");
    assert_eq!(a.reference_time, b.reference_time, "{what}: reference");
    assert_eq!(a.kinds_found, b.kinds_found, "{what}: kinds");
    assert_eq!(a.unavailable, b.unavailable, "{what}: unavailable");
    assert_eq!(a.attributes, b.attributes, "{what}: attributes");
    for f in &a.features {
        let (x, y) = (a.column(f).unwrap(), b.column(f).unwrap());
        for (i, (x, y)) in x.iter().zip(&y).enumerate() {
            let same = match (x, y) {
                (Some(x), Some(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                (None, None) => true,
                _ => false,
            };
            assert!(
                same,
                "{what}: {f} of user {i}: {x:?} in memory, {y:?} streamed"
            );
        }
    }
}

fn assert_same_load(what: &str, a: &Loaded, b: &Loaded) {
    assert_eq!(a.rows_read, b.rows_read, "{what}: rows read");
    assert_eq!(a.rows_kept(), b.rows_kept(), "{what}: rows kept");
    let mut da = a.rows_dropped.clone();
    let mut db = b.rows_dropped.clone();
    da.sort();
    db.sort();
    assert_eq!(da, db, "{what}: rows dropped");
    assert_eq!(a.n_users(), b.n_users(), "{what}: users");
    assert_eq!(a.time_span(), b.time_span(), "{what}: span");
    assert_eq!(a.mapping, b.mapping, "{what}: roles");
}

fn check(what: &str, path: &Path, opts: LoadOptions, configs: &[FeatureConfig]) {
    let (whole, streamed) = both(path, opts);
    assert_same_load(what, &whole, &streamed);
    for (i, cfg) in configs.iter().enumerate() {
        let a = features::compute_profile(&whole, cfg).unwrap();
        let b = features::compute_profile(&streamed, cfg).unwrap();
        assert!(a.n_users() > 10, "{what}: {} users", a.n_users());
        assert_same_profile(&format!("{what} (config {i})"), &a, &b);
    }
}

/// The default features, a reference date inside the export (the names counted up to it), one-hot
/// attributes, and sessions by inactivity gap.
fn configs(as_of: Option<i64>) -> Vec<FeatureConfig> {
    vec![
        FeatureConfig::default(),
        FeatureConfig {
            as_of,
            one_hot_attributes: true,
            top_events: 3,
            ..FeatureConfig::default()
        },
    ]
}

fn middle(l: &Loaded) -> Option<i64> {
    l.time_span().map(|(a, b)| a + (b - a) / 2)
}

#[test]
fn csv_plain_and_gzip_stream_to_the_in_memory_profile() {
    let d = tmp("csv");
    let csv = d.join("events.csv");
    write_sample(&csv, SampleStyle::Ga4, 300);
    let gz = d.join("events.csv.gz");
    write_sample(&gz, SampleStyle::Ga4, 300);
    let as_of = middle(&data::load(&csv, &LoadOptions::default()).unwrap());
    for (batch, parts) in [(4096, 3), (50_000, 7), (1 << 20, 2)] {
        check(
            &format!("csv {batch}/{parts}"),
            &csv,
            streamed(batch, parts),
            &configs(as_of),
        );
        check(
            &format!("csv.gz {batch}/{parts}"),
            &gz,
            streamed(batch, parts),
            &configs(as_of),
        );
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn parquet_and_nested_ga4_folders_stream_to_the_in_memory_profile() {
    let d = tmp("parquet");
    let flat = d.join("events.parquet");
    write_sample(&flat, SampleStyle::Ga4, 250);
    let as_of = middle(&data::load(&flat, &LoadOptions::default()).unwrap());
    check("parquet", &flat, streamed(8192, 4), &configs(as_of));
    // BigQuery's own shape: one nested Parquet file per day, and the same days as NDJSON.
    let days = d.join("ga4_days");
    std::fs::create_dir_all(&days).unwrap();
    write_sample(&days, SampleStyle::Ga4BigQuery, 250);
    check(
        "nested parquet days",
        &days,
        streamed(8192, 5),
        &configs(as_of),
    );
    let json = d.join("ga4_json");
    std::fs::create_dir_all(&json).unwrap();
    let s = sample::generate(&SampleOptions {
        users: 250,
        seed: 7,
        days: 60,
        style: SampleStyle::Ga4BigQuery,
    });
    let mut text = Vec::new();
    s.write_ga4_bigquery(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (i, c) in lines.chunks(lines.len().div_ceil(6)).enumerate() {
        let mut f = std::fs::File::create(json.join(format!("events_{i}.json"))).unwrap();
        writeln!(f, "{}", c.join("\n")).unwrap();
    }
    check("ndjson days", &json, streamed(8192, 3), &configs(as_of));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn vendor_exports_stream_with_their_duplicates_dropped_across_batches() {
    // Amplitude (zip of gzipped NDJSON, `$insert_id`), Segment (S3 folder), Mixpanel (NDJSON):
    // their resent events are found however the batches and parts fall.
    for (what, p) in [
        ("amplitude", "tests/fixtures/vendors/amplitude_export.zip"),
        ("segment", "tests/fixtures/vendors/segment_s3"),
        ("mixpanel", "tests/fixtures/vendors/mixpanel_export.ndjson"),
    ] {
        let path = repo(p);
        let (whole, streamed) = both(&path, streamed(2048, 3));
        assert_same_load(what, &whole, &streamed);
        let cfg = FeatureConfig::default();
        let a = features::compute_profile(&whole, &cfg).unwrap();
        let b = features::compute_profile(&streamed, &cfg).unwrap();
        assert_same_profile(what, &a, &b);
    }
}

#[test]
fn a_duplicate_in_another_batch_is_dropped_and_counted() {
    // Segment's messageId repeats 200 rows later: in memory the second copy goes; streamed, the
    // batches (a few hundred bytes) put the two copies far apart.
    let d = tmp("dups");
    let mut text = String::from("type,event,userId,messageId,timestamp\n");
    for i in 0..240 {
        let (user, id) = if i == 230 { (5, 5) } else { (i % 7, i) };
        text.push_str(&format!(
            "track,Page Viewed,u{user},m{id},2024-06-0{}T10:00:00Z\n",
            1 + i % 9
        ));
    }
    let p = write(&d, "segment.csv", &text);
    let whole = data::load(&p, &LoadOptions::default()).unwrap();
    assert!(
        whole
            .rows_dropped
            .iter()
            .any(|(r, c)| r.contains("duplicate") && *c == 1)
    );
    let streamed = data::load(&p, &streamed(512, 4)).unwrap();
    assert_same_load("segment dups", &whole, &streamed);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_rows_are_named_by_their_row_in_the_file() {
    // Row 700 of 800 has an unreadable timestamp: the streamed load names row 700, not its row
    // within a batch.
    let d = tmp("rows");
    let mut text = String::from("user_id,event_timestamp,event_name\n");
    for i in 1..=800 {
        let ts = if i == 700 {
            "yesterday".to_string()
        } else {
            format!("2024-06-{:02}T10:00:00Z", 1 + i % 28)
        };
        text.push_str(&format!("u{},{ts},page_view\n", i % 40));
    }
    let p = write(&d, "events.csv", &text);
    let (whole, streamed) = both(&p, streamed(1024, 3));
    assert_same_load("rows", &whole, &streamed);
    let said = |l: &Loaded| {
        l.warnings
            .iter()
            .map(|w| w.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(said(&whole).contains("row 700"), "{}", said(&whole));
    assert!(said(&streamed).contains("row 700"), "{}", said(&streamed));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn quoted_line_breaks_never_split_a_record() {
    // Event names with line breaks and doubled quotes inside quoted fields, batches of 300 bytes.
    let d = tmp("quotes");
    let mut text = String::from("user_id,event_timestamp,event_name,value\n");
    for i in 0..600 {
        let name = match i % 3 {
            0 => "\"page\nview\"".to_string(),
            1 => "\"say \"\"hi\"\"\"".to_string(),
            _ => "purchase".to_string(),
        };
        text.push_str(&format!(
            "u{},2024-06-{:02}T10:{:02}:00Z,{name},{}\n",
            i % 50,
            1 + i % 28,
            i % 60,
            i % 5
        ));
    }
    let p = write(&d, "events.csv", &text);
    check("quotes", &p, streamed(300, 4), &[FeatureConfig::default()]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_spill_goes_away_with_the_load() {
    let d = tmp("cleanup");
    let csv = d.join("events.csv");
    write_sample(&csv, SampleStyle::Ga4, 50);
    let l = data::load(&csv, &streamed(4096, 3)).unwrap();
    let parts: Vec<PathBuf> = l.spill.as_ref().unwrap().parts.clone();
    assert!(parts.iter().all(|p| p.exists()));
    drop(l);
    assert!(parts.iter().all(|p| !p.exists()));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_budget_too_small_for_the_export_streams_it() {
    // Through the CLI: PERSONA_LAB_MEMORY below the export's need streams instead of refusing, and
    // the features written are the in-memory ones.
    let d = tmp("cli");
    let csv = d.join("events.csv");
    write_sample(&csv, SampleStyle::Ga4, 400);
    let out_a = d.join("a.csv");
    let out_b = d.join("b.csv");
    let a = bin()
        .args(["features", arg(&csv), "--out", arg(&out_a)])
        .output()
        .unwrap();
    assert!(a.status.success(), "{}", stderr(&a));
    let b = bin()
        .env("PERSONA_LAB_MEMORY", "1MB")
        .args(["features", arg(&csv), "--out", arg(&out_b)])
        .output()
        .unwrap();
    assert!(b.status.success(), "{}", stderr(&b));
    assert!(
        stderr(&b).contains("streamed") || stdout(&b).contains("streamed"),
        "{}{}",
        stdout(&b),
        stderr(&b)
    );
    assert_eq!(
        std::fs::read_to_string(&out_a).unwrap(),
        std::fs::read_to_string(&out_b).unwrap()
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_spill_stops_before_its_disk_is_full_and_says_where() {
    // A gzip export's text is not known before it is read, so the room on the spill disk is checked
    // before every piece: with more room wanted free than the disk has, the first piece stops the
    // load with a message naming the export and the setting, and the spill folder is gone.
    let d = tmp("full");
    let csv = d.join("events.csv.gz");
    write_sample(&csv, SampleStyle::Ga4, 200);
    let spill = d.join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let out = d.join("p.csv");
    let o = bin()
        .env("PERSONA_LAB_MEMORY", "1MB")
        .env("PERSONA_LAB_SPILL_DIR", &spill)
        .env("PERSONA_LAB_SPILL_RESERVE", "1000000T")
        .args(["features", arg(&csv), "--out", arg(&out)])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    says(
        &err,
        &[
            "events.csv.gz: streaming this export had written",
            "PERSONA_LAB_SPILL_DIR",
        ],
    );
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0, "spill left");
    assert!(!out.exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_single_json_lines_file_larger_than_a_batch_streams_in_chunks() {
    // One Segment NDJSON file (nested `properties` and `context`), plain and gzip, cut into chunks
    // of whole lines: the same profile as read whole.
    let d = tmp("ndjson");
    let nd = d.join("segment.ndjson");
    write_sample(&nd, SampleStyle::Segment, 200);
    let gz = d.join("segment.ndjson.gz");
    write_sample(&gz, SampleStyle::Segment, 200);
    let as_of = middle(&data::load(&nd, &LoadOptions::default()).unwrap());
    for p in [&nd, &gz] {
        let l = data::load(p, &streamed(20_000, 3)).unwrap();
        assert!(l.spill.is_some());
        check(
            &p.display().to_string(),
            p,
            streamed(20_000, 3),
            &configs(as_of),
        );
    }
    // A broken line is named by its line in the file, not in its chunk.
    let text = std::fs::read_to_string(&nd).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.len() - 5;
    lines[at] = "{\"type\": \"track\", oops";
    let broken = write(&d, "broken.ndjson", lines.join("\n") + "\n");
    let e = data::load(&broken, &streamed(20_000, 3))
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("line {}", at + 1)), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_table_of_one_user_gives_the_bits_of_that_user_in_a_larger_table() {
    // Polars divides a column by a scalar as a multiplication by the reciprocal, but a one-row
    // column truly: recency, tenure and frequency are computed so both agree (a part of a streamed
    // export may hold a single user).
    let d = tmp("one_user");
    let mut all = String::from("user_id,event_timestamp,event_name,session_id\n");
    let mut one = all.clone();
    for i in 0..40 {
        let name = ["page_view", "purchase", "add_to_cart", "view_item"][i % 4];
        let line = format!(
            "a,2024-06-{:02}T{:02}:17:03Z,{name},s{}\n",
            1 + i % 27,
            i % 24,
            i / 5
        );
        all.push_str(&line);
        one.push_str(&line);
        all.push_str(&format!(
            "{},2024-06-{:02}T09:00:00Z,page_view,t{i}\n",
            ["b", "c"][i % 2],
            2 + i % 26
        ));
    }
    let (pa, po) = (write(&d, "all.csv", &all), write(&d, "one.csv", &one));
    let cfg = FeatureConfig {
        as_of: Some(1_719_792_000_000_000), // 2024-07-01
        ..FeatureConfig::default()
    };
    let a = features::compute_profile(&data::load(&pa, &LoadOptions::default()).unwrap(), &cfg)
        .unwrap();
    let o = features::compute_profile(&data::load(&po, &LoadOptions::default()).unwrap(), &cfg)
        .unwrap();
    assert_eq!(o.n_users(), 1);
    for f in ["recency_days", "tenure_days", "frequency"] {
        let x = a.column(f).unwrap()[0].unwrap();
        let y = o.column(f).unwrap()[0].unwrap();
        assert_eq!(
            x.to_bits(),
            y.to_bits(),
            "{f}: {x} among three users, {y} alone"
        );
    }
    std::fs::remove_dir_all(&d).unwrap();
}
