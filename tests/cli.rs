//! The README's commands and the CLI surface, run as a user would.

mod common;

use common::*;

#[test]
fn inspect_summarises_the_bundled_sample() {
    let o = run_ok(&[
        "inspect",
        repo("sample_data/fashion_ga4_events.csv.gz")
            .to_str()
            .unwrap(),
    ]);
    let out = stdout(&o);
    assert!(out.contains("preset: GA4 BigQuery export"), "{out}");
    assert!(out.contains("CSV (gzip)"), "{out}");
    assert!(out.contains("users      1967"), "{out}");
    assert!(out.contains("engagement score"), "{out}");
}

#[test]
fn help_lists_every_subcommand() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for cmd in [
        "features",
        "inspect",
        "sweep",
        "segment",
        "sample",
        "catalogue",
    ] {
        assert!(out.contains(cmd), "{out}");
    }
}

#[test]
fn the_app_without_a_display_says_what_to_do_instead() {
    let o = bin()
        .arg(repo("sample_data/fashion_ga4_events.csv.gz"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("cannot open the window"), "{err}");
    assert!(err.contains("persona-lab inspect FILE"), "{err}");
}

#[test]
fn catalogue_lists_every_feature_with_its_formula() {
    let o = run(&["catalogue"]);
    let out = stdout(&o);
    for d in persona_lab::features::catalogue::CATALOGUE {
        let line = out
            .lines()
            .find(|l| l.starts_with(d.id))
            .unwrap_or_else(|| panic!("{}", d.id));
        assert!(line.contains(d.formula), "{line}");
    }
    assert!(out.contains("[default]"));
}

#[test]
fn features_writes_every_format_with_weights_and_top_events() {
    let d = tempfile::tempdir().unwrap();
    let input = repo("tests/fixtures/ga4_small.csv.gz");
    for ext in ["csv", "csv.gz", "parquet", "ndjson"] {
        let out = d.path().join(format!("p.{ext}"));
        let o = run_ok(&[
            "features",
            arg(&input),
            "--top-events",
            "3",
            "--weights",
            "sessions=1,scroll_mean=2,time_per_session=3",
            "--scaler",
            "robust",
            "--out",
            arg(&out),
        ]);
        let l = load(&out).unwrap();
        assert_eq!(l.n_users(), 294, "{ext}");
        let names: Vec<String> = l
            .table
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(names.contains(&"count:other".to_string()), "{names:?}");
        assert!(names.contains(&"engagement_score".to_string()));
        assert_eq!(names.iter().filter(|n| n.starts_with("count:")).count(), 4);
        let out_text = stdout(&o);
        assert!(out_text.contains("(Robust scaler)"), "{out_text}");
        let time_line = out_text
            .lines()
            .find(|l| l.trim_start().starts_with("time_per_session"))
            .unwrap();
        assert!(
            time_line.split_whitespace().nth(1) == Some("3"),
            "{time_line}"
        );
    }
    // count:other = events - the three named counts.
    let l = load(&d.path().join("p.parquet")).unwrap();
    let p = persona_lab::features::compute_profile(&l, &Default::default()).unwrap();
    let events = by_user(&p.table, "events");
    let other = by_user(&p.table, "count:other");
    let named: Vec<_> = p
        .features
        .iter()
        .filter(|f| f.starts_with("count:") && *f != "count:other")
        .collect();
    for (u, e) in &events {
        let sum: f64 = named.iter().map(|f| by_user(&p.table, f)[u].unwrap()).sum();
        assert_eq!(e.unwrap() - sum, other[u].unwrap());
    }
}

#[test]
fn bad_flags_are_explained() {
    let input = repo("tests/fixtures/ga4_small.csv.gz");
    let input = arg(&input);
    for (args, expect) in [
        (vec!["--weights", "sessions"], "not ID=WEIGHT"),
        (vec!["--weights", "sessions=heavy"], "not a number"),
        (vec!["--weights", "sessions=-1"], "non-negative"),
        (vec!["--features", "nope"], "\"nope\" is not available"),
        (vec!["--scaler", "fancy"], "unknown scaler"),
        (vec!["--as-of", "someday"], "not a date"),
        (vec!["--half-life", "0"], "half-life must be positive"),
        (vec!["--delimiter", ";;"], "one character"),
    ] {
        let mut all = vec!["features", input, "--out", "/tmp/never-written.csv"];
        all.extend(args.iter().copied());
        let o = run(&all);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains(expect), "{args:?}: {}", stderr(&o));
    }
    assert!(!std::path::Path::new("/tmp/never-written.csv").exists());
}

#[test]
fn as_of_ignores_later_events() {
    let (d, p) = temp_file(
        "e.csv",
        "user_id,timestamp,event\nu,2024-09-01T00:00:00Z,a\nu,2024-09-11T00:00:00Z,a\nv,2024-09-20T00:00:00Z,a\n",
    );
    let out = d.path().join("o.csv");
    run_ok(&[
        "features",
        arg(&p),
        "--as-of",
        "2024-09-15",
        "--features",
        "events,recency_days",
        "--out",
        arg(&out),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        text.lines().count(),
        2,
        "v has no event before the date: {text}"
    );
    let rec = header.iter().position(|h| *h == "recency_days").unwrap();
    assert_eq!(row[rec], "4.0");
}

/// `persona-lab catalogue | head -1`: a closed pipe ends the process quietly (SIGPIPE), never with a
/// panic (exit 101).
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = common::bin()
        .arg("catalogue")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let out = child.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(101),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
