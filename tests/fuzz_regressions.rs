//! Every input the fuzzers (fuzz/run.sh) found crashing, hanging or breaking an invariant, run through
//! the same harness code as the fuzz targets (fuzz/src/lib.rs, included here), so a fixed finding stays
//! fixed in the ordinary test run. Files live in tests/fuzz_regressions/TARGET/.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

fn run_all(target: &str, run: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let start = Instant::now();
        run(&bytes);
        // libFuzzer's -timeout in run.sh is 20 s in an optimised build; a debug build gets more.
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{}: took {:?}",
            path.display(),
            start.elapsed()
        );
        n += 1;
    }
    n
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

#[test]
fn loader_findings_stay_fixed() {
    for ext in ["csv", "ndjson", "parquet"] {
        let n = run_all(&format!("load_{ext}"), |b| {
            harness::load_and_analyse(b, ext)
        });
        eprintln!("load_{ext}: {n} inputs");
    }
}

#[test]
fn project_findings_stay_fixed() {
    let n = run_all("project_file", |b| harness::project(text(b)));
    eprintln!("project_file: {n} inputs");
}

#[test]
fn ruleset_findings_stay_fixed() {
    let n = run_all("ruleset_file", |b| harness::ruleset(text(b)));
    eprintln!("ruleset_file: {n} inputs");
}
