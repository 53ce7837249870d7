//! `persona-lab sweep` and `segment` end to end: outputs checked against scipy / scikit-learn values
//! (tests/oracle/cluster_oracle.py), the planted groups of the bundled sample, the rule set round trip,
//! and clear errors on bad input.

mod common;

use common::{arg, planted_groups, repo, run, run_ok, stderr, stdout};
use persona_lab::cluster::{Points, adjusted_rand_index, points};
use persona_lab::error::ClusterError;
use persona_lab::ruleset::RuleSet;
use serde_json::Value;

fn expected() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/cluster/expected.json")).unwrap(),
    )
    .unwrap()
}

fn users_csv() -> String {
    repo("tests/fixtures/cluster/users.csv")
        .to_string_lossy()
        .to_string()
}

/// A run on `file` that must fail with a named error (exit 1), not succeed or panic.
fn refused_in(o: &std::process::Output, file: &std::path::Path) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}: {}",
        file.display(),
        stderr(o)
    );
}

/// `segment` on the oracle's matrix as it is (no scaling, no log), as scikit-learn and scipy saw it.
fn segment_as_is(extra: &[&str]) -> std::process::Output {
    let input = users_csv();
    let args = [
        &[
            "segment", &input, "--shape", "users", "--scaler", "none", "--no-log",
        ][..],
        extra,
    ]
    .concat();
    run_ok(&args)
}

fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            // The persona column may be quoted and contain a comma.
            let mut out = Vec::new();
            let mut cur = String::new();
            let mut quoted = false;
            for ch in l.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ',' if !quoted => out.push(std::mem::take(&mut cur)),
                    c => cur.push(c),
                }
            }
            out.push(cur);
            out
        })
        .collect()
}

#[test]
fn ward_report_carries_scipys_linkage_and_the_assignments_keep_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let assign = dir.path().join("a.csv");
    let input = users_csv();
    segment_as_is(&[
        "--k",
        "4",
        "--method",
        "ward",
        "--report",
        arg(&report),
        "--assignments",
        arg(&assign),
    ]);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["k"], 4);
    assert_eq!(r["method"], "ward");
    assert_eq!(r["silhouette_sample_size"], 400);
    let ours = r["linkage"].as_array().unwrap();
    let theirs = expected()["linkage"]["ward"].as_array().unwrap().clone();
    assert_eq!(ours.len(), 399);
    for (o, t) in ours.iter().zip(&theirs) {
        let (o, t) = (o.as_array().unwrap(), t.as_array().unwrap());
        for j in [0, 1, 3] {
            assert_eq!(o[j].as_f64(), t[j].as_f64());
        }
        let (a, b) = (o[2].as_f64().unwrap(), t[2].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-9 * b, "{a} vs {b}");
    }
    let rows = read_csv(&assign);
    assert_eq!(
        rows[0],
        ["user_id", "segment", "persona", "silhouette", "distance"]
    );
    assert_eq!(rows.len(), 401);
    // Input order, ids as text (decimal-looking ids are not turned into floats).
    let input_ids: Vec<String> = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let got: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(got, input_ids);
    // Report sizes agree with the assignments.
    for c in r["clusters"].as_array().unwrap() {
        let id = c["id"].as_u64().unwrap().to_string();
        let n = rows[1..].iter().filter(|r| r[1] == id).count() as u64;
        assert_eq!(c["size"].as_u64().unwrap(), n);
    }
}

#[test]
fn kmeans_report_inertia_is_no_worse_than_sklearn() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    segment_as_is(&["--k", "5", "--seed", "9", "--report", arg(&report)]);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let theirs = expected()["kmeans"]["5"]["inertia"].as_f64().unwrap();
    let ours = r["inertia"].as_f64().unwrap();
    assert!(ours <= theirs * 1.001, "{ours} vs {theirs}");
    assert_eq!(r["seed"], 9);
    assert!(r["linkage"].is_null());
    assert_eq!(r["features"]["names"].as_array().unwrap().len(), 4);
}

#[test]
fn sweep_recovers_the_six_planted_groups_of_the_sample() {
    let o = run_ok(&[
        "sweep",
        repo("sample_data/fashion_ga4_events.csv.gz")
            .to_str()
            .unwrap(),
        "--k-min",
        "2",
        "--k-max",
        "9",
        "--json",
    ]);
    let s: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let pts = s["points"].as_array().unwrap();
    assert_eq!(pts.len(), 8);
    let best = pts
        .iter()
        .max_by(|a, b| {
            a["silhouette"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["silhouette"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(s["recommended_k"], best["k"]);
    assert_eq!(s["recommended_k"], 6, "the sample has six planted groups");
    // Inertia falls as k grows.
    let inertia: Vec<f64> = pts.iter().map(|p| p["inertia"].as_f64().unwrap()).collect();
    assert!(inertia.windows(2).all(|w| w[1] < w[0]), "{inertia:?}");
}

#[test]
fn segments_match_the_planted_groups_and_the_rule_set_reassigns_every_user() {
    let dir = tempfile::tempdir().unwrap();
    let assign = dir.path().join("a.csv");
    let ron = dir.path().join("rules.ron");
    let profile = dir.path().join("profile.csv");
    let input = repo("sample_data/fashion_ga4_events.csv.gz");
    run_ok(&[
        "segment",
        arg(&input),
        "--k",
        "6",
        "--seed",
        "3",
        "--out",
        arg(&ron),
        "--assignments",
        arg(&assign),
    ]);
    let rows = read_csv(&assign);
    let truth = planted_groups(&repo("sample_data/fashion_ga4_truth.csv"));
    let ours: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    let planted: Vec<&str> = rows[1..].iter().map(|r| truth[&r[0]].as_str()).collect();
    let ari = adjusted_rand_index(&ours, &planted);
    assert!(ari > 0.6, "adjusted Rand index vs planted groups: {ari}");

    // The rule set alone places every user in the segment the app gave it.
    let rs = RuleSet::read(&ron).unwrap();
    assert_eq!(rs.segments.k, 6);
    assert_eq!(rs.personas.len(), 6);
    let text = std::fs::read_to_string(&ron).unwrap();
    assert!(
        !text.contains(&rows[1][0]),
        "no raw user id in the rule set"
    );
    run_ok(&["features", arg(&input), "--out", arg(&profile)]);
    let prof = read_csv(&profile);
    let header = &prof[0];
    let idx: Vec<usize> = rs
        .features
        .transform
        .features
        .iter()
        .map(|f| header.iter().position(|h| *h == f.id).unwrap())
        .collect();
    let seg_of: std::collections::HashMap<&str, &str> = rows[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    for row in &prof[1..] {
        let raw: Vec<Option<f64>> = idx.iter().map(|&i| row[i].parse().ok()).collect();
        let got = rs.assign(&raw).unwrap();
        assert_eq!(got.to_string(), seg_of[row[0].as_str()], "user {}", row[0]);
    }
}

#[test]
fn bad_parameters_get_clear_errors() {
    let input = users_csv();
    let base = ["segment", input.as_str(), "--shape", "users"];
    let cases: &[(&[&str], &str)] = &[
        (&["--k", "1"], "k must be at least 2"),
        (&["--k", "401"], "more than the 400 distinct users"),
        (
            &["--k", "3", "--method", "kmedoids"],
            "unknown clustering method \"kmedoids\"",
        ),
        (&["--k", "3", "--n-init", "0"], "n_init"),
    ];
    for (extra, want) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{extra:?}: {}", stderr(&o));
    }
}

#[test]
fn degenerate_tables_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let one = common::write(dir.path(), "one.csv", "user_id,a,b\nu1,1,2\n");
    let same = common::write(
        dir.path(),
        "same.csv",
        "user_id,a,b\nu1,1,2\nu2,1,2\nu3,1,2\n",
    );
    let two = common::write(dir.path(), "two.csv", "user_id,a\nu1,1\nu2,2\nu3,1\nu4,2\n");
    for (file, k, want) in [
        (&one, "2", "at least 2 users"),
        (&same, "2", "no usable features"),
        (&two, "3", "more than the 2 distinct users"),
    ] {
        let o = run(&["segment", arg(file), "--shape", "users", "--k", k]);
        refused_in(&o, file);
        assert!(
            stderr(&o).contains(want),
            "{}: {}",
            file.display(),
            stderr(&o)
        );
        let o = run(&["sweep", arg(file), "--shape", "users", "--k-max", "3"]);
        refused_in(&o, file);
    }
}

#[test]
fn nan_in_the_matrix_is_named_by_row_user_and_column() {
    let data = [0.0, 1.0, 2.0, f64::NAN, 4.0, 5.0];
    let p = Points::new(&data, 3, 2);
    let users = ["a".to_string(), "b".into(), "c".into()];
    let cols = ["clicks".to_string(), "scroll".into()];
    let e = points::validate(&p, Some(&users), Some(&cols)).unwrap_err();
    assert!(matches!(e, ClusterError::NonFinite { row: 2, .. }));
    assert_eq!(
        e.to_string(),
        "row 2 (user \"b\"), column \"scroll\": value NaN is not a finite number"
    );
    // And identical rows are rejected before any algorithm runs.
    let same = [1.0, 1.0, 1.0, 1.0];
    let p = Points::new(&same, 2, 2);
    let e = persona_lab::cluster::KMeans::new(2)
        .fit(&p, &persona_lab::job::Job::silent())
        .unwrap_err();
    assert!(matches!(e, ClusterError::AllIdentical), "{e}");
}

#[test]
fn ari_equals_sklearn() {
    let e = expected();
    let l = |k: &str| -> Vec<u64> {
        e["kmeans"][k]["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    let ours = adjusted_rand_index(&l("3"), &l("5"));
    assert!((ours - e["ari_k3_k5"].as_f64().unwrap()).abs() < 1e-12);
}

/// The stability comparison against scikit-learn's ARI and a numpy count of the best Jaccard overlaps
/// (tests/oracle/stability_oracle.py), on the same labellings; one resample has a different k.
#[test]
fn stability_figures_equal_the_python_computation() {
    use persona_lab::cluster::stability::{compare_resample, summarise};
    let e: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/cluster/stability.json")).unwrap(),
    )
    .unwrap();
    let ints = |v: &Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    };
    let floats = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let k = e["k"].as_u64().unwrap() as usize;
    let reference = ints(&e["reference"]);
    let mut runs = Vec::new();
    for r in e["resamples"].as_array().unwrap() {
        let (ari, jaccard) =
            compare_resample(&reference, k, &ints(&r["rows"]), &ints(&r["labels"]));
        assert!((ari - r["ari"].as_f64().unwrap()).abs() < 1e-12, "{ari}");
        for (a, b) in jaccard.iter().zip(floats(&r["jaccard"])) {
            assert!((a - b).abs() < 1e-12, "{jaccard:?}");
        }
        runs.push((ari, jaccard));
    }
    let s = summarise(k, &runs, 0);
    assert!((s.ari - e["mean_ari"].as_f64().unwrap()).abs() < 1e-12);
    for (a, b) in s.per_segment.iter().zip(floats(&e["per_segment"])) {
        assert!((a - b).abs() < 1e-12);
    }
    // Not trivially 1: one segment does not come back whole.
    assert!(
        s.per_segment.iter().any(|&j| j < 0.95),
        "{:?}",
        s.per_segment
    );
}

/// Run settings are checked once (`SegmentParams::check`), before any work, with the flag's name:
/// the same rule a project file's `params` meets when it is read.
#[test]
fn out_of_range_run_settings_are_refused_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rs.ron");
    let input = repo("tests/fixtures/ga4_small.csv.gz");
    for (flag, value, said) in [
        ("--n-init", "0", "n_init: 0 is outside 1..=1000 (--n-init)"),
        (
            "--max-iter",
            "0",
            "max_iter: 0 is outside 1..=1000000 (--max-iter)",
        ),
        ("--fit-sample", "1", "fit_sample: 1 is outside"),
        ("--k", "1001", "k: 1001 is outside 2..=1000 (--k)"),
    ] {
        let mut args = vec!["segment", arg(&input), "--out", arg(&out)];
        if flag != "--k" {
            args.extend(["--k", "3"]);
        }
        args.extend([flag, value]);
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{flag}: {err}");
        assert!(err.contains(said), "{flag}: {err}");
        assert!(!out.exists());
    }
}

/// As many segments as users cannot be judged by silhouettes: refused before the run, with the k to
/// choose (one fewer than the users, or the distinct users when fewer), for segment and sweep alike.
#[test]
fn k_at_or_above_the_users_is_refused_with_the_k_to_choose() {
    let dir = tempfile::tempdir().unwrap();
    let three = common::write(dir.path(), "three.csv", "user_id,a\nu1,1\nu2,2\nu3,4\n");
    let pair = common::write(dir.path(), "pair.csv", "user_id,a\nu1,1\nu2,2\n");
    for (args, want) in [
        (
            vec!["segment", arg(&three), "--k", "3"],
            "k = 3 is not below the 3 users",
        ),
        (
            vec!["segment", arg(&three), "--k", "4"],
            "k = 4 is more than the 3 distinct users in the data; choose k <= 2",
        ),
        (
            vec!["sweep", arg(&three), "--k-max", "3"],
            "k = 3 is not below the 3 users",
        ),
        (
            vec!["segment", arg(&pair), "--k", "2"],
            "segmenting needs at least 3 users",
        ),
    ] {
        let args = [&args[..], &["--shape", "users"]].concat();
        let o = run(&args);
        let file = if args[1] == arg(&pair) { &pair } else { &three };
        refused_in(&o, file);
        common::says(&stderr(&o), &[want]);
    }
    let o = run_ok(&["segment", arg(&three), "--shape", "users", "--k", "2"]);
    common::says(&stdout(&o), &["k = 2"]);
}

/// `segment` says what each segment is worth (its revenue, orders and buyers against everyone's):
/// in the report, the figures of the profile table `features` writes summed over the segment's
/// users in `--assignments`; in the text, a `value` line per segment.
#[test]
fn segment_reports_each_segments_value_from_the_profile_and_its_users() {
    let dir = tempfile::tempdir().unwrap();
    let (report, assign, feats) = (
        dir.path().join("r.json"),
        dir.path().join("a.csv"),
        dir.path().join("f.csv"),
    );
    let sample = repo("sample_data/fashion_ga4_events.csv.gz");
    run_ok(&["features", arg(&sample), "--out", arg(&feats)]);
    let o = run_ok(&[
        "segment",
        arg(&sample),
        "--k",
        "6",
        "--report",
        arg(&report),
        "--assignments",
        arg(&assign),
    ]);
    let text = stdout(&o);
    assert_eq!(text.matches("\nvalue ").count(), 6, "{text}");
    assert!(text.contains("of the revenue from"), "{text}");
    let profile = read_csv(&feats);
    let col = |name: &str| profile[0].iter().position(|c| c == name).unwrap();
    let (uid, rev, pur) = (col("user_id"), col("revenue"), col("purchases"));
    let num = |s: &str| s.parse::<f64>().unwrap_or(0.0);
    let by_user: std::collections::HashMap<&str, (f64, f64)> = profile[1..]
        .iter()
        .map(|r| (r[uid].as_str(), (num(&r[rev]), num(&r[pur]))))
        .collect();
    let rows = read_csv(&assign);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let mut all_revenue = 0.0;
    for c in r["clusters"].as_array().unwrap() {
        let id = c["id"].as_u64().unwrap().to_string();
        let (mut users, mut buyers, mut revenue, mut orders) = (0u64, 0u64, 0.0, 0.0);
        for row in rows[1..].iter().filter(|row| row[1] == id) {
            let (rv, o) = by_user[row[0].as_str()];
            users += 1;
            buyers += u64::from(o > 0.0);
            revenue += rv;
            orders += o;
        }
        let v = &c["value"];
        assert_eq!(v["users"].as_u64(), Some(users), "segment {id}");
        assert_eq!(v["buyers"].as_u64(), Some(buyers), "segment {id}");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(
            close(v["revenue"].as_f64().unwrap(), revenue),
            "segment {id}"
        );
        assert!(close(v["orders"].as_f64().unwrap(), orders), "segment {id}");
        all_revenue += revenue;
    }
    assert_eq!(r["value"]["users"].as_u64(), Some(1967));
    let total = r["value"]["revenue"].as_f64().unwrap();
    assert!(
        (total - all_revenue).abs() <= 1e-9 * total,
        "{total} vs {all_revenue}"
    );
}
