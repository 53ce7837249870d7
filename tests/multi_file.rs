//! One export in many files: a folder of daily shards, a glob, mixed compression, schemas that
//! differ between files, and the file that fails named in the error.

mod common;

use std::io::Write;

use polars::prelude::SerReader;

use common::*;
use persona_lab::data::FileFormat;
use persona_lab::data::source::SourceKind;
use persona_lab::features::{self, FeatureConfig};
use persona_lab::sample::SampleStyle;

fn sample(dir: &std::path::Path, name: &str, style: SampleStyle) -> std::path::PathBuf {
    sample_export(dir, name, style, 120, 31)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Split a text export into `n` files by lines (the CSV header repeated in each).
fn shard_lines(text: &str, n: usize, header: bool) -> Vec<String> {
    let mut lines = text.lines();
    let head = if header { lines.next() } else { None };
    let body: Vec<&str> = lines.collect();
    let per = body.len().div_ceil(n);
    body.chunks(per)
        .map(|c| {
            let mut s = String::new();
            if let Some(h) = head {
                s.push_str(h);
                s.push('\n');
            }
            s.push_str(&c.join("\n"));
            s.push('\n');
            s
        })
        .collect()
}

fn profile(p: &std::path::Path) -> features::Profile {
    let l = load(p).unwrap();
    features::compute_profile(&l, &FeatureConfig::default()).unwrap()
}

#[test]
fn a_folder_of_daily_json_shards_is_one_export() {
    let d = tempfile::tempdir().unwrap();
    let whole = sample(d.path(), "whole.ndjson", SampleStyle::Ga4BigQuery);
    let text = std::fs::read_to_string(&whole).unwrap();
    let dir = d.path().join("bq_export");
    std::fs::create_dir_all(dir.join("part-3")).unwrap();
    // BigQuery's names, one shard gzipped, one in a sub-folder; the writer's marker files and a
    // note that is not an export.
    for (i, s) in shard_lines(&text, 4, false).iter().enumerate() {
        let name = format!("events_20240901-00000000000{i}.json");
        match i {
            1 => std::fs::write(dir.join(format!("{name}.gz")), gzip(s.as_bytes())).unwrap(),
            3 => std::fs::write(dir.join("part-3").join(name), s).unwrap(),
            _ => std::fs::write(dir.join(name), s).unwrap(),
        }
    }
    std::fs::write(dir.join("_SUCCESS"), "").unwrap();
    std::fs::write(dir.join(".part.crc"), "x").unwrap();
    std::fs::write(dir.join("README.md"), "exported by hand").unwrap();
    let l = load(&dir).unwrap();
    assert_eq!(l.source, SourceKind::Folder);
    assert_eq!(l.files.len(), 4);
    assert!(l.gzip);
    assert_eq!(l.skipped_files, vec!["README.md".to_string()]);
    assert_eq!(l.files[3], "part-3/events_20240901-000000000003.json");
    let want = profile(&whole);
    let got = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert!(got.table.equals_missing(&want.table));
    // An output inside the export's folder would join the export: refused before any work.
    let inside = dir.join("profile.csv");
    let o = run(&["features", arg(&dir), "--out", arg(&inside)]);
    assert!(
        !o.status.success() && stderr(&o).contains("inside"),
        "{}",
        stderr(&o)
    );
    assert!(!inside.exists());
    // The CLI says what it read.
    let o = run(&["inspect", arg(&dir)]);
    let s = stdout(&o);
    says(&s, &["files      4 (folder)", "not read   README.md"]);
}

#[test]
fn a_glob_of_csv_shards_with_mixed_compression_and_columns() {
    let d = tempfile::tempdir().unwrap();
    let whole = sample(d.path(), "whole.csv", SampleStyle::Ga4);
    let text = std::fs::read_to_string(&whole).unwrap();
    let shards = shard_lines(&text, 3, true);
    let dir = d.path().join("s");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("events_1.csv"), &shards[0]).unwrap();
    std::fs::write(dir.join("events_2.csv.gz"), gzip(shards[1].as_bytes())).unwrap();
    // The third shard comes without the currency and platform columns, in another order, every
    // column as text (ids that look like decimals must stay text anyway).
    let mut df = polars::prelude::CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(std::io::Cursor::new(shards[2].clone().into_bytes()))
        .finish()
        .unwrap();
    df = df.drop("currency").unwrap().drop("platform").unwrap();
    let mut names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.reverse();
    let mut df = df.select(names).unwrap();
    persona_lab::output::write_table(&mut df, &dir.join("events_3.parquet")).unwrap();
    std::fs::write(dir.join("other_1.csv"), "not,this\n1,2\n").unwrap();
    let pattern = dir.join("events_*");
    let l = load(&pattern).unwrap();
    assert_eq!(l.source, SourceKind::Glob);
    assert_eq!(l.files.len(), 3);
    assert_eq!(l.format, FileFormat::Csv);
    let want = profile(&whole);
    let got = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert!(
        got.table.equals_missing(&want.table),
        "{:?}\n{:?}",
        got.table.head(Some(3)),
        want.table.head(Some(3))
    );
    // A shard that is damaged is named in the error.
    std::fs::write(dir.join("events_4.parquet"), b"PAR1 not really").unwrap();
    let e = load(&pattern).unwrap_err().to_string();
    assert!(e.contains("events_4.parquet"), "{e}");
}

#[test]
fn empty_sources_say_what_they_hold() {
    let d = tempfile::tempdir().unwrap();
    let e = load(&d.path().join("nothing_*.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no file matches"), "{e}");
    std::fs::write(d.path().join("notes.md"), "x").unwrap();
    let e = load(d.path()).unwrap_err().to_string();
    says(&e, &["no export files", "notes.md"]);
}

#[test]
fn the_fingerprint_covers_every_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("e");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.csv"), "user_id,event\nu1,x\n").unwrap();
    std::fs::write(dir.join("b.csv"), "user_id,event\nu2,y\n").unwrap();
    let f = |p: &std::path::Path| persona_lab::ruleset::fingerprint(p).unwrap();
    let before = f(&dir);
    assert_eq!(before, f(&dir));
    std::fs::write(dir.join("b.csv"), "user_id,event\nu2,z\n").unwrap();
    let changed = f(&dir);
    assert_ne!(before, changed);
    std::fs::rename(dir.join("b.csv"), dir.join("c.csv")).unwrap();
    assert_ne!(changed, f(&dir));
    // One file: the hash of its bytes, as before folders were read.
    let one = f(&dir.join("a.csv"));
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(b"user_id,event\nu1,x\n")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(one, want);
}
