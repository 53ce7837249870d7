//! Features and transforms checked against an independent pandas + scikit-learn implementation
//! (tests/oracle/features_oracle.py; fixtures in tests/fixtures/). Tolerance: 1e-9 relative.

mod common;

use persona_lab::features::ProfileTransform as _;
use std::collections::HashMap;

use common::*;
use persona_lab::features::{self, FeatureConfig, Scaler, TransformSpec, transform};

const TOL: f64 = 1e-9;

/// user -> column -> value (None for an empty cell).
type Rows = HashMap<String, HashMap<String, Option<f64>>>;

fn read_fixture(name: &str) -> (Vec<String>, Rows) {
    let text = std::fs::read_to_string(repo(&format!("tests/fixtures/{name}"))).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut rows = HashMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let mut row = HashMap::new();
        for (h, c) in header.iter().zip(&cells).skip(1) {
            row.insert(
                h.clone(),
                if c.is_empty() {
                    None
                } else {
                    Some(c.parse::<f64>().unwrap())
                },
            );
        }
        rows.insert(cells[0].to_string(), row);
    }
    (header[1..].to_vec(), rows)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOL * b.abs().max(1.0)
}

fn profile() -> features::Profile {
    let l = load(&repo("tests/fixtures/ga4_small.csv.gz")).unwrap();
    features::compute_profile(&l, &FeatureConfig::default()).unwrap()
}

#[test]
fn every_feature_matches_pandas() {
    let (columns, expected) = read_fixture("ga4_small_features.csv");
    let prof = profile();
    assert_eq!(prof.n_users(), expected.len());
    let mut ours = prof.features.clone();
    ours.sort();
    let mut theirs = columns.clone();
    theirs.sort();
    assert_eq!(ours, theirs, "feature sets differ");
    let mut checked = 0;
    for col in &columns {
        for (user, got) in by_user(&prof.table, col) {
            let want = expected[&user][col];
            match (got, want) {
                (Some(a), Some(b)) => assert!(close(a, b), "{col} of {user}: {a} vs pandas {b}"),
                (None, None) => {}
                _ => panic!("{col} of {user}: {got:?} vs pandas {want:?}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 294 * columns.len());
}

#[test]
fn scalers_match_scikit_learn() {
    let prof = profile();
    for (scaler, file) in [
        (Scaler::Standard, "ga4_small_scaled_standard.csv"),
        (Scaler::Robust, "ga4_small_scaled_robust.csv"),
        (Scaler::MinMax, "ga4_small_scaled_minmax.csv"),
    ] {
        let (columns, expected) = read_fixture(file);
        let mut spec = TransformSpec::default_for(&prof);
        spec.scaler = scaler;
        let fitted = transform::fit(&prof, &spec).unwrap();
        assert!(fitted.excluded.is_empty(), "{:?}", fitted.excluded);
        let m = fitted.matrix(&prof).unwrap();
        let scores = fitted.scores(&m);
        assert_eq!(m.columns, columns[..columns.len() - 1].to_vec());
        for i in 0..m.n_rows {
            let want = &expected[&m.users[i]];
            for (j, c) in m.columns.iter().enumerate() {
                let b = want[c].unwrap();
                assert!(
                    close(m.row(i)[j], b),
                    "{scaler:?} {c} of {}: {} vs {b}",
                    m.users[i],
                    m.row(i)[j]
                );
            }
            let b = want["engagement_score"].unwrap();
            assert!(close(scores[i], b), "{scaler:?} score of {}", m.users[i]);
        }
    }
}

#[test]
fn weights_multiply_scaled_columns_and_the_score() {
    let prof = profile();
    let mut spec = TransformSpec::default_for(&prof);
    let base = transform::fit(&prof, &spec).unwrap();
    let m0 = base.matrix(&prof).unwrap();
    for c in spec.features.iter_mut() {
        c.weight = match c.id.as_str() {
            "sessions" => 1.0,
            "scroll_mean" => 2.0,
            "time_per_session" => 3.0,
            _ => 0.5,
        };
    }
    let fitted = transform::fit(&prof, &spec).unwrap();
    let m = fitted.matrix(&prof).unwrap();
    let scores = fitted.scores(&m);
    for (i, score) in scores.iter().enumerate() {
        let mut s = 0.0;
        for (j, f) in fitted.features.iter().enumerate() {
            assert!(close(m.row(i)[j], f.weight * m0.row(i)[j]));
            // Days since the last visit count against engagement.
            let sign = if f.id == "recency_days" { -1.0 } else { 1.0 };
            s += sign * f.weight * m0.row(i)[j];
        }
        assert!(close(*score, s));
    }
    // A single new user's raw values give the same score through the exported parameters.
    let raw: Vec<Option<f64>> = fitted
        .features
        .iter()
        .map(|f| by_user(&prof.table, &f.id)[&m.users[7]])
        .collect();
    assert!(close(fitted.score_raw(&raw), scores[7]));
}

#[test]
fn zero_variance_is_reported_never_divided() {
    let (_d, p) = temp_file(
        "z.csv",
        "user_id,sessions,constant,spend\na,1,5,10\nb,3,5,\nc,7,5,30\n",
    );
    let l = load(&p).unwrap();
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let fitted = transform::fit(&prof, &TransformSpec::all(&prof)).unwrap();
    assert_eq!(fitted.excluded.len(), 1);
    assert_eq!(fitted.excluded[0].0, "constant");
    assert!(fitted.excluded[0].1.contains("zero variance"));
    // Missing spend filled with the median of 10 and 30.
    let spend = fitted.features.iter().find(|f| f.id == "spend").unwrap();
    assert_eq!(spend.fill, 20.0);
    assert_eq!(
        fitted.filled,
        vec![(
            "spend".to_string(),
            1,
            features::MissingPolicy::Median,
            20.0
        )]
    );
    let m = fitted.matrix(&prof).unwrap();
    assert!(m.data.iter().all(|v| v.is_finite()));
}

/// The value per segment (users, buyers, revenue, orders) against pandas, with the sample's planted
/// groups as the segments (tests/oracle/value_oracle.py; groups numbered in name order).
#[test]
fn value_per_segment_matches_pandas() {
    let p = profile();
    let group_of = planted_groups(&repo("tests/fixtures/ga4_small_truth.csv"));
    let mut groups: Vec<&String> = group_of.values().collect();
    groups.sort();
    groups.dedup();
    let labels: Vec<usize> = p
        .user_ids()
        .iter()
        .map(|u| groups.iter().position(|g| *g == &group_of[u]).unwrap())
        .collect();
    let values = persona_lab::cluster::value::by_segment(&p, &labels, groups.len()).unwrap();
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/cluster/value_by_group.json")).unwrap(),
    )
    .unwrap();
    let check = |got: &persona_lab::cluster::Value, w: &serde_json::Value, what: &str| {
        assert_eq!(
            got.users as u64,
            w["users"].as_u64().unwrap(),
            "{what} users"
        );
        assert_eq!(
            got.buyers as u64,
            w["buyers"].as_u64().unwrap(),
            "{what} buyers"
        );
        for (g, key) in [(got.revenue, "revenue"), (got.orders, "orders")] {
            let (g, w) = (g.unwrap(), w[key].as_f64().unwrap());
            assert!(close(g, w), "{what} {key}: {g} vs pandas {w}");
        }
    };
    let want_groups = want["groups"].as_array().unwrap();
    assert_eq!(values.len(), want_groups.len());
    for ((v, w), g) in values.iter().zip(want_groups).zip(&groups) {
        assert_eq!(w["group"].as_str().unwrap(), g.as_str());
        check(v, w, g);
    }
    let everyone = persona_lab::cluster::value::total(&values).unwrap();
    check(&everyone, &want["everyone"], "everyone");
    // The planted high-value group brings most of the revenue (what the persona card says first).
    let hv = groups
        .iter()
        .position(|g| g.as_str() == "high_value_engager")
        .unwrap();
    assert!(values[hv].revenue_share(&everyone).unwrap() > 0.5);
}
