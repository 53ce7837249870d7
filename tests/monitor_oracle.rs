//! The monitoring statistics against statsmodels (fixture from tests/oracle/monitor_oracle.py): Wilson
//! intervals, Newcombe difference and log ratio intervals, the pooled z-test and Holm's adjustment to
//! 1e-9; users needed per arm to 1e-6 relative (statsmodels solves with a root finder).

mod common;

use common::repo;
use persona_lab::monitor::stats;
use serde_json::Value;

fn pair(v: &Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: ours {a}, statsmodels {b}");
}

#[test]
fn intervals_tests_and_sample_sizes_equal_statsmodels() {
    let f: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/monitor/stats.json")).unwrap(),
    )
    .unwrap();
    let mut ps = Vec::new();
    for c in f["cases"].as_array().unwrap() {
        let g = |k: &str| c[k].as_u64().unwrap();
        let (k1, n1, k2, n2) = (g("k1"), g("n1"), g("k2"), g("n2"));
        let what = format!("{k1}/{n1} vs {k2}/{n2}");
        for (ours, key) in [
            (stats::wilson(k1, n1, 0.05), "wilson1"),
            (stats::wilson(k2, n2, 0.05), "wilson2"),
            (stats::newcombe_diff(k1, n1, k2, n2, 0.05), "diff"),
        ] {
            let theirs = pair(&c[key]);
            close(ours.0, theirs.0, 1e-9, &format!("{what} {key} low"));
            close(ours.1, theirs.1, 1e-9, &format!("{what} {key} high"));
        }
        if c.get("ratio").is_some() {
            let (ours, theirs) = (stats::ratio_log(k1, n1, k2, n2, 0.05), pair(&c["ratio"]));
            close(ours.0, theirs.0, 1e-9, &format!("{what} ratio low"));
            close(ours.1, theirs.1, 1e-9, &format!("{what} ratio high"));
        }
        let (z, p) = stats::two_prop_ztest(k1, n1, k2, n2);
        close(z, c["z"].as_f64().unwrap(), 1e-9, &format!("{what} z"));
        close(p, c["p"].as_f64().unwrap(), 1e-9, &format!("{what} p"));
        ps.push(p);
        let h = stats::cohens_h(k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
        close(h, c["h"].as_f64().unwrap(), 1e-12, &format!("{what} h"));
        if let Some(n) = c.get("needed_n1") {
            let n = n.as_f64().unwrap();
            let ours = stats::needed_n1(h, n2 as f64 / n1 as f64, 0.05, 0.8).unwrap();
            close(ours / n, 1.0, 1e-6, &format!("{what} users needed"));
        }
    }
    let holm: Vec<f64> = f["holm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (a, b) in stats::holm(&ps).iter().zip(&holm) {
        close(*a, *b, 1e-9, "holm");
    }
}
