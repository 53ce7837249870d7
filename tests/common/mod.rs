//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use persona_lab::data::{self, LoadOptions, Loaded};
use persona_lab::error::LoadError;

pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write test file");
    p
}

pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    data::load(path, &LoadOptions::default())
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_persona-lab"))
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run persona-lab")
}

/// Assert that `text` says every one of `needles` (a message naming what it should).
pub fn says(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{n:?} missing from: {text}");
    }
}

/// A CLI run that must succeed (its stderr is the failure message).
pub fn run_ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A JSON array of numbers (an oracle's expected values).
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A synthetic export of `users` users over 90 days in `style`, written to `dir/name`.
pub fn sample_export(
    dir: &Path,
    name: &str,
    style: persona_lab::sample::SampleStyle,
    users: usize,
    seed: u64,
) -> PathBuf {
    let p = dir.join(name);
    let opts = persona_lab::sample::SampleOptions {
        users,
        seed,
        days: 90,
        style,
    };
    persona_lab::sample::write_sample(&opts, &p, None).unwrap();
    p
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Values of a Float64 column of a DataFrame by user id.
pub fn by_user(
    df: &polars::prelude::DataFrame,
    col: &str,
) -> std::collections::HashMap<String, Option<f64>> {
    let users = df.column("user_id").unwrap().str().unwrap().clone();
    let vals = df.column(col).unwrap().f64().unwrap().clone();
    users
        .iter()
        .zip(vals.iter())
        .map(|(u, v)| (u.unwrap().to_string(), v))
        .collect()
}

/// A path as a command-line argument (test paths are UTF-8).
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// `content` written as `name` in a fresh folder, kept as long as the folder is.
pub fn temp_file(name: &str, content: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("a temporary folder");
    let p = write(d.path(), name, content);
    (d, p)
}

/// Load `content` written as `name` in a fresh folder (for inputs a test states inline).
pub fn load_text(name: &str, content: impl AsRef<[u8]>) -> Result<Loaded, LoadError> {
    let (_d, p) = temp_file(name, content);
    load(&p)
}

/// A sample's planted groups (`sample --truth`, or a committed `*_truth.csv`): user id → group.
pub fn planted_groups(truth: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(truth)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}
