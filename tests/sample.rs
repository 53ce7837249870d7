//! The sample generator: deterministic, planted groups as documented, every output format loads.

mod common;

use common::*;
use persona_lab::features::{self, FeatureConfig};

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let d = tempfile::tempdir().unwrap();
    let path = |n: &str| arg(&d.path().join(n)).to_string();
    for (name, seed) in [("a.csv", "3"), ("b.csv", "3"), ("c.csv", "4")] {
        run_ok(&[
            "sample",
            "--users",
            "150",
            "--seed",
            seed,
            "--out",
            &path(name),
        ]);
    }
    let a = std::fs::read(path("a.csv")).unwrap();
    assert_eq!(a, std::fs::read(path("b.csv")).unwrap());
    assert_ne!(a, std::fs::read(path("c.csv")).unwrap());
}

#[test]
fn planted_groups_behave_as_documented() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s.parquet");
    let truth = d.path().join("t.csv");
    run_ok(&[
        "sample",
        "--users",
        "3000",
        "--seed",
        "9",
        "--out",
        arg(&out),
        "--truth",
        arg(&truth),
    ]);
    let groups = planted_groups(&truth);
    let share = |g: &str| groups.values().filter(|v| *v == g).count() as f64 / 3000.0;
    for (g, s) in [
        ("casual_browser", 0.30),
        ("frequent_browser", 0.20),
        ("high_value_engager", 0.10),
        ("deal_seeker", 0.15),
        ("lapsing", 0.15),
        ("inspiration_seeker", 0.10),
    ] {
        assert!((share(g) - s).abs() < 0.03, "{g}: {}", share(g));
    }
    let l = load(&out).unwrap();
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let mean_by_group = |feature: &str, g: &str| {
        let v = by_user(&prof.table, feature);
        let xs: Vec<f64> = v
            .iter()
            .filter(|(u, _)| groups[*u] == g)
            .filter_map(|(_, x)| *x)
            .collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    // Lapsing users stopped after the first 36 of 90 days.
    let v = by_user(&prof.table, "recency_days");
    for (u, r) in v {
        if groups[&u] == "lapsing" {
            assert!(r.unwrap() > 50.0, "{u}: {r:?}");
        }
    }
    assert!(
        mean_by_group("sessions", "frequent_browser")
            > 2.0 * mean_by_group("sessions", "casual_browser")
    );
    assert!(
        mean_by_group("revenue", "high_value_engager")
            > 2.0 * mean_by_group("revenue", "deal_seeker")
    );
    assert!(
        mean_by_group("searches_per_session", "deal_seeker")
            > 2.0 * mean_by_group("searches_per_session", "frequent_browser")
    );
    assert!(
        mean_by_group("video_plays_per_session", "inspiration_seeker")
            > 4.0 * mean_by_group("video_plays_per_session", "casual_browser")
    );
    assert!(
        mean_by_group("scroll_mean", "high_value_engager")
            > mean_by_group("scroll_mean", "casual_browser") + 20.0
    );
}

#[test]
fn wrong_output_names_fail_before_generating() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&[
        "sample",
        "--style",
        "segment",
        "--out",
        arg(&d.path().join("s.csv")),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(".ndjson"), "{}", stderr(&o));
    let o = run(&["sample", "--out", arg(&d.path().join("s.xlsx"))]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown output format"),
        "{}",
        stderr(&o)
    );
    let o = run(&["sample", "--out", arg(&d.path().join("no/such/dir/s.csv"))]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}
