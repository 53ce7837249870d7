//! Every hostile or broken export of tests/bad_inputs/ (made by its make.py), plus three huge ones made
//! here (a 10 MB single line, 100,000 columns, a million users with one event each), through the CLI:
//! either a non-zero exit with a message naming the file, or success (with a warning where the data is
//! odd); never a panic (exit 101), never a hang (each run is bounded), never an output file left
//! behind by a failed run, never a partial one.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{arg, bin, repo};

/// Run `persona-lab ARGS`, killing it after `limit`: (exit code, stdout, stderr). The pipes are read
/// while it runs, so a long message cannot block it.
fn run_bounded(args: &[&str], limit: Duration) -> (Option<i32>, String, String) {
    let child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => {
            let out = out.unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
        Err(_) => {
            // SAFETY: pid is our child's, still running (its output thread has not returned).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            panic!("{args:?} hung for more than {limit:?}");
        }
    }
}

fn check(input: &Path, out_dir: &Path, limit: Duration) -> String {
    let name = input.file_name().unwrap().to_string_lossy().to_string();
    let out = out_dir.join(format!("{name}.profile.csv"));
    let (code, stdout, stderr) = run_bounded(&["features", arg(input), "--out", arg(&out)], limit);
    assert_ne!(code, Some(101), "{name}: panic\n{stderr}");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    match code {
        Some(0) => {
            assert!(out.exists(), "{name}: success without output");
            // A complete table: a header and one line per user, every line with the header's fields.
            let text = std::fs::read_to_string(&out).unwrap();
            let mut lines = text.lines();
            let fields = lines.next().unwrap().split(',').count();
            assert!(fields >= 2, "{name}");
            format!(
                "{name}: ok{}",
                if stdout.contains("warnings") {
                    " (warned)"
                } else {
                    ""
                }
            )
        }
        Some(1) => {
            assert!(!out.exists(), "{name}: a failed run left {}", out.display());
            assert!(stderr.starts_with("error: "), "{name}: {stderr}");
            assert!(
                stderr.contains(&name) || stderr.contains("feature"),
                "{name}: the message does not name the file: {stderr}"
            );
            assert!(
                stderr.len() < 20_000,
                "{name}: a {} byte message",
                stderr.len()
            );
            format!("{name}: {}", stderr.lines().next().unwrap_or(""))
        }
        other => panic!("{name}: exit {other:?}\n{stderr}"),
    }
}

fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            n.ends_with(".profile.csv") || n.starts_with("gen_"),
            "left behind: {n}"
        );
    }
}

#[test]
fn the_bad_input_corpus_never_crashes_hangs_or_leaves_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("tests/bad_inputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "py"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{} files", files.len());
    let mut outcomes = Vec::new();
    for f in &files {
        outcomes.push(check(f, dir.path(), Duration::from_secs(60)));
    }
    no_temp_files(dir.path());
    let joined = outcomes.join("\n");
    // The odd-but-usable ones say what is odd.
    for warned in [
        "negative_durations.csv: ok (warned)",
        "scroll_over_100.csv: ok (warned)",
        "year_9999.csv: ok (warned)",
        "before_1970.csv: ok (warned)",
        "nan_and_inf.csv: ok (warned)",
    ] {
        assert!(joined.contains(warned), "{warned}\n{joined}");
    }
    for failed in [
        "empty.csv: error",
        "truncated.csv.gz: error",
        "truncated.parquet: error",
        "footer_past_end.parquet: error",
        "fuzz_thrift_bool_field.parquet: error",
        "fuzz_footer_huge_list.parquet: error",
        "fuzz_negative_page_count.parquet: error",
        "fuzz_row_count_no_column_holds.parquet: error",
    ] {
        assert!(joined.contains(failed), "{failed}\n{joined}");
    }
}

#[test]
fn huge_inputs_are_answered_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    // A 10 MB single line (no newline at all).
    let line = dir.path().join("gen_single_line.csv");
    std::fs::write(&line, "x".repeat(10 << 20)).unwrap();
    // 100,000 columns.
    let wide = dir.path().join("gen_wide.csv");
    let mut text = String::from("user_id");
    for j in 0..100_000 {
        let _ = write!(text, ",c{j}");
    }
    text.push('\n');
    for i in 0..3 {
        let _ = write!(text, "u{i}");
        for j in 0..100_000 {
            let _ = write!(text, ",{}", (i * j) % 7);
        }
        text.push('\n');
    }
    std::fs::write(&wide, text).unwrap();
    // A million users with one event each.
    let many = dir.path().join("gen_million_users.csv");
    let mut text = String::with_capacity(40 << 20);
    text.push_str("user_id,event,time\n");
    for i in 0..1_000_000u32 {
        let _ = writeln!(text, "u{i},page_view,2024-10-{:02}T10:00:00Z", 1 + i % 28);
    }
    std::fs::write(&many, text).unwrap();
    let results: Vec<String> = [&line, &wide, &many]
        .iter()
        .map(|f| check(f, dir.path(), Duration::from_secs(300)))
        .collect();
    eprintln!("{results:#?}");
    assert!(results[0].contains("no user id column"), "{}", results[0]);
    // A header wider than the sniffed bytes is read whole (it used to look like a duplicate column).
    assert_eq!(results[1], "gen_wide.csv: ok");
    assert!(
        results[2].starts_with("gen_million_users.csv: ok"),
        "{}",
        results[2]
    );
    no_temp_files(dir.path());
}
