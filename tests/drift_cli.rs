//! `persona-lab drift`: the deployed segmentation against a fresh clustering or a second rule set on
//! an export. Unchanged data keeps the model; data whose structure dissolved asks for a re-clustering;
//! transitions count every user once and match the labels each rule set gives.

mod common;

use std::fmt::Write as _;

use common::{arg, load, run, run_ok, stderr, stdout, temp_file, write};
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
    let (dir, old) = temp_file("old.csv", users(false));
    let new = write(dir.path(), "new.csv", users(true));
    let rules = dir.path().join("old.ron");
    run_ok(&["segment", arg(&old), "--k", "3", "--out", arg(&rules)]);
    let r = arg(&rules);
    let o = run_ok(&["drift", "--from", r, arg(&old)]);
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

    let o = run_ok(&["drift", "--from", r, arg(&new), "--json"]);
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
    let (dir, data) = temp_file("d.csv", users(false));
    let (a, b) = (dir.path().join("a.ron"), dir.path().join("b.ron"));
    for (k, out) in [("3", &a), ("2", &b)] {
        run_ok(&["segment", arg(&data), "--k", k, "--out", arg(out)]);
    }
    let o = run_ok(&[
        "drift",
        "--from",
        arg(&a),
        "--to",
        arg(&b),
        arg(&data),
        "--json",
    ]);
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
    let o = run(&["drift", "--from", "missing.ron", arg(&data)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.ron"), "{}", stderr(&o));
}

/// Time-decay weighting does what it should: users whose activity came back recently ("returners")
/// and users who lapsed ("dormant") have the same event totals, so on raw counts they share a persona;
/// on time-decayed counts (half-life 14 days) the returners join the steadily active users.
#[test]
fn recent_behaviour_moves_users_to_the_right_persona_with_time_decay() {
    use persona_lab::cluster::{Method, SegmentParams, SilhouetteOptions};
    use persona_lab::features::{
        FeatureChoice, FeatureConfig, Scaler, TransformSpec, compute_profile,
    };
    use persona_lab::job::Job;
    use persona_lab::pipeline::{RunSettings, cluster_profile};

    // 90 days; every active day one session of 3 events.
    let mut s = String::from("user_id,event,time\n");
    let day = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 9, 1).unwrap() + chrono::Days::new(u64::from(d))
    };
    for (group, days) in [
        ("active", 0..90u32),
        ("dormant", 0..45),
        ("returner", 45..90),
    ] {
        for u in 0..30 {
            for d in days.clone() {
                for m in [0, 5, 10] {
                    let _ = writeln!(s, "{group}{u},page_view,{}T10:{m:02}:00Z", day(d));
                }
            }
        }
    }
    let (_dir, f) = temp_file("events.csv", s);
    let loaded = load(&f).unwrap();
    let profile = compute_profile(&loaded, &FeatureConfig::default()).unwrap();
    let group_of = |id: &str| id.trim_end_matches(char::is_numeric).to_string();
    let segments = |feature: &str| {
        let spec = TransformSpec {
            features: vec![FeatureChoice::new(feature)],
            scaler: Scaler::Standard,
        };
        let run = cluster_profile(
            &profile,
            &spec,
            &RunSettings {
                params: SegmentParams::new(Method::KMeans, 2),
                silhouette: SilhouetteOptions::default(),
            },
            &Job::silent(),
        )
        .unwrap();
        // The segment of each group (every user of a group lands in one segment).
        let mut of = std::collections::BTreeMap::new();
        for (u, &l) in run.matrix.users.iter().zip(&run.segmentation.labels) {
            let prev = of.insert(group_of(u), l);
            assert!(
                prev.is_none_or(|p| p == l),
                "{feature}: group {} split",
                group_of(u)
            );
        }
        of
    };
    let raw = segments("events");
    assert_eq!(raw["dormant"], raw["returner"], "equal totals: one persona");
    assert_ne!(raw["active"], raw["returner"]);
    let decayed = segments("decayed_events");
    assert_eq!(
        decayed["returner"], decayed["active"],
        "recent activity: the returners join the active users"
    );
    assert_ne!(decayed["dormant"], decayed["returner"]);
}
