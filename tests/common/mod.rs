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

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
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
