//! Vendor raw exports as shipped (made by tests/oracle/vendor_exports.py): Amplitude's zip of hourly
//! gzipped JSON-lines, Mixpanel's raw export, Segment's S3 folder. Recognised with no flags, their
//! duplicate events removed by the vendor's key, and per-user counts equal to pandas' hand count.

mod common;

use common::*;
use persona_lab::data::Preset;
use persona_lab::data::source::SourceKind;
use persona_lab::features::{self, FeatureConfig};

fn expected(name: &str) -> Vec<(String, [f64; 4])> {
    let text = std::fs::read_to_string(repo(&format!("tests/fixtures/vendors/{name}"))).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            (f[0].to_string(), [n(1), n(2), n(3), n(4)])
        })
        .collect()
}

/// Load, check preset and duplicates, and compare events, sessions, purchases and revenue per user.
fn check(path: &str, preset: Preset, duplicates: usize, expect: &str) -> persona_lab::data::Loaded {
    let l = load(&repo(path)).unwrap();
    assert_eq!(l.preset, preset, "{path}");
    let dup = l
        .rows_dropped
        .iter()
        .find(|(r, _)| r.starts_with("duplicate event"))
        .map(|(_, n)| *n);
    assert_eq!(dup, Some(duplicates), "{path}: {:?}", l.rows_dropped);
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let want = expected(expect);
    assert_eq!(prof.table.height(), want.len(), "{path}: users");
    let cols = ["events", "sessions", "purchases", "revenue"];
    let got: Vec<_> = cols.iter().map(|c| by_user(&prof.table, c)).collect();
    for (user, values) in &want {
        for (i, c) in cols.iter().enumerate() {
            let g = got[i].get(user).copied().flatten();
            let g = g.unwrap_or_else(|| panic!("{path}: no {c} for user {user}"));
            assert!(
                (g - values[i]).abs() <= 1e-9 * values[i].abs().max(1.0),
                "{path}: user {user} {c}: {g} vs pandas {}",
                values[i]
            );
        }
    }
    l
}

#[test]
fn amplitude_export_zip() {
    let l = check(
        "tests/fixtures/vendors/amplitude_export.zip",
        Preset::Amplitude,
        9,
        "expected_amplitude.csv",
    );
    assert_eq!(l.source, SourceKind::Archive);
    assert!(l.files.len() > 3 && l.files[0].starts_with("amplitude_export.zip: 187520/"));
    assert_eq!(l.mapping.user_id_fallback.as_deref(), Some("device_id"));
    archives_that_cannot_be_read_say_why();
}

#[test]
fn mixpanel_raw_export() {
    let l = check(
        "tests/fixtures/vendors/mixpanel_export.ndjson",
        Preset::Mixpanel,
        7,
        "expected_mixpanel.csv",
    );
    assert_eq!(l.mapping.dedup_key.len(), 4);
}

#[test]
fn segment_s3_folder() {
    let l = check(
        "tests/fixtures/vendors/segment_s3",
        Preset::Segment,
        8,
        "expected_segment.csv",
    );
    assert_eq!(l.source, SourceKind::Folder);
    let calls = l
        .rows_dropped
        .iter()
        .find(|(r, _)| r.contains("identify"))
        .map(|(_, n)| *n);
    assert!(calls.is_some_and(|n| n > 0), "{:?}", l.rows_dropped);
}

/// Run after the good archive, in the same test: tests in parallel would see each other's
/// temporary folders.
fn archives_that_cannot_be_read_say_why() {
    let d = tempfile::tempdir().unwrap();
    // Cut short.
    let zip = std::fs::read(repo("tests/fixtures/vendors/amplitude_export.zip")).unwrap();
    let p = write(d.path(), "cut.zip", &zip[..zip.len() / 2]);
    let e = load(&p).unwrap_err().to_string();
    says(&e, &["cut.zip", "cut short"]);
    // No export inside.
    let mut z = Vec::new();
    {
        // A stored entry named notes.md, written by hand.
        let data = b"hello";
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let name = b"notes.md";
        let mut local = b"PK\x03\x04".to_vec();
        local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        local.extend_from_slice(&crc.sum().to_le_bytes());
        local.extend_from_slice(&(data.len() as u32).to_le_bytes());
        local.extend_from_slice(&(data.len() as u32).to_le_bytes());
        local.extend_from_slice(&(name.len() as u16).to_le_bytes());
        local.extend_from_slice(&[0, 0]);
        local.extend_from_slice(name);
        local.extend_from_slice(data);
        let mut central = b"PK\x01\x02".to_vec();
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&crc.sum().to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(name);
        z.extend_from_slice(&local);
        z.extend_from_slice(&central);
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        z.extend_from_slice(&(central.len() as u32).to_le_bytes());
        z.extend_from_slice(&(local.len() as u32).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
    }
    let p = write(d.path(), "notes.zip", &z);
    let e = load(&p).unwrap_err().to_string();
    says(&e, &["no export files", "notes.md"]);
    // Nothing is left in the temporary folder after a load.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("persona-lab-archive-{}-", std::process::id()))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
