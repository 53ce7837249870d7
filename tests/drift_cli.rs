//! `persona-lab drift`: the deployed segmentation against a fresh clustering or a second rule set on
//! an export. Unchanged data keeps the model; data whose structure dissolved asks for a re-clustering;
//! transitions count every user once and match the labels each rule set gives.

mod common;

use std::fmt::Write as _;

use common::{load, run, stderr, stdout, write};
use persona_lab::ruleset::{self, RuleSet};

/// 300 users in three tight groups (around (0,0), (10,0), (0,10)); `mixed`: spread evenly instead.
fn users(mixed: bool) -> String {
    let mut s = String::from("user_id,x,y\n");
    for i in 0..300u32 {
        let j = ((i * 37) % 100) as f64 / 100.0;
        let k = ((i * 61) % 100) as f64 / 100.0;
        let (x, y) = if mixed {
            (12.0 * j, 12.0 * k)
        } else {
            match i % 3 {
                0 => (j, k),
                1 => (10.0 + j, k),
                _ => (j, 10.0 + k),
            }
        };
        let _ = writeln!(s, "u{i},{x:.4},{y:.4}");
    }
    s
}

#[test]
fn drift_keeps_a_model_that_fits_and_flags_one_that_no_longer_does() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.csv", users(false));
    let new = write(dir.path(), "new.csv", users(true));
    let rules = dir.path().join("old.ron");
    let o = run(&[
        "segment",
        old.to_str().unwrap(),
        "--k",
        "3",
        "--out",
        rules.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = rules.to_str().unwrap();
    let o = run(&["drift", "--from", r, old.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("verdict    keep the deployed model"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("changed    0.0% of users"),
        "{}",
        stdout(&o)
    );

    let o = run(&["drift", "--from", r, new.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let sil = d["deployed_silhouette"].as_f64().unwrap();
    assert!(sil < 0.45, "no tight groups any more: {sil}");
    // Spread evenly, the deployed segments cut a blob: users scatter away from their segments.
    assert!(
        d["recommendation"]
            .as_str()
            .unwrap()
            .starts_with("re-cluster and redeploy"),
        "{}",
        d["recommendation"]
    );
    assert!(d["changed_share"].as_f64().unwrap() > 0.2);
    let total: u64 = d["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 300);
}

#[test]
fn transitions_between_two_rule_sets_match_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", users(false));
    let (a, b) = (dir.path().join("a.ron"), dir.path().join("b.ron"));
    for (k, out) in [("3", &a), ("2", &b)] {
        let o = run(&[
            "segment",
            data.to_str().unwrap(),
            "--k",
            k,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = run(&[
        "drift",
        "--from",
        a.to_str().unwrap(),
        "--to",
        b.to_str().unwrap(),
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The same counts from the two files' own labels.
    let loaded = load(&data).unwrap();
    let la = ruleset::apply(&RuleSet::read(&a).unwrap(), &loaded)
        .unwrap()
        .labels;
    let lb = ruleset::apply(&RuleSet::read(&b).unwrap(), &loaded)
        .unwrap()
        .labels;
    let mut t = vec![vec![0u64; 2]; 3];
    for (x, y) in la.iter().zip(&lb) {
        t[*x][*y] += 1;
    }
    assert_eq!(d["transitions"], serde_json::json!(t));
    assert_eq!(d["new_k"], 2);
    // Two of three groups stay whole; the third joins one of them: a third of users "changed".
    let changed = d["changed_share"].as_f64().unwrap();
    assert!(
        (changed - 0.0).abs() < 1e-12 || (changed - 1.0 / 3.0).abs() < 0.02,
        "{changed}"
    );
    let o = run(&["drift", "--from", "missing.ron", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.ron"), "{}", stderr(&o));
}
