//! `persona-lab predict` end to end on the bundled sample (planted lapsing users): the quality bar,
//! the outputs, the model carried by the rule set scoring exactly as the app did, and bad input.

mod common;

use std::collections::BTreeMap;

use common::{arg, load, repo, run, run_ok, says, stderr, stdout, write};
use persona_lab::features::FeatureConfig;
use persona_lab::job::Job;
use persona_lab::predict::{self, ModelKind, PredictParams, Target};
use persona_lab::rules::{Cmp, Condition, Rule, Session, UserProfile};
use persona_lab::ruleset::RuleSet;

fn sample() -> String {
    repo("sample_data/fashion_ga4_events.csv.gz")
        .display()
        .to_string()
}

#[test]
fn churn_on_the_sample_meets_the_quality_bar_and_writes_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (report, scores, rules) = (
        dir.path().join("report.json"),
        dir.path().join("scores.csv"),
        dir.path().join("rules.ron"),
    );
    let seg = run(&["segment", &sample(), "--k", "6", "--out", arg(&rules)]);
    assert!(seg.status.success(), "{}", stderr(&seg));
    for model in ["logistic", "forest"] {
        let o = run_ok(&[
            "predict",
            &sample(),
            "--target",
            "churn",
            "--horizon-days",
            "30",
            "--model",
            model,
            "--report",
            arg(&report),
            "--scores",
            arg(&scores),
            "--into",
            arg(&rules),
        ]);
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let auc = r["metrics"]["roc_auc"].as_f64().unwrap();
        assert!(auc >= 0.85, "{model}: held-out ROC AUC {auc}");
        assert!(stdout(&o).contains(&format!("ROC AUC {auc:.4}")));
        let (pos, neg) = (
            r["class_balance"]["positive"].as_u64().unwrap(),
            r["class_balance"]["negative"].as_u64().unwrap(),
        );
        // Users known before the cutoff: some of the 1,967 only appear after it.
        assert!(pos > 100 && neg > 100 && pos + neg < 1967, "{pos} {neg}");
        let text = std::fs::read_to_string(&scores).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("user_id,score,band"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len() as u64, pos + neg);
        for row in &rows {
            let s: f64 = row[1].parse().unwrap();
            assert!((0.0..=1.0).contains(&s));
            let band = if s >= 0.7 {
                "high"
            } else if s >= 0.3 {
                "medium"
            } else {
                "low"
            };
            assert_eq!(row[2], band);
        }
    }
    // Both models went into the file under one name: the last one stays.
    let rs = RuleSet::read(&rules).unwrap();
    assert_eq!(rs.models.len(), 1);
    assert_eq!(rs.models[0].name, "churn_risk");
    assert!(matches!(rs.models[0].model, predict::Fitted::Forest(_)));
    assert!(rs.validate().is_empty(), "{:?}", rs.validate());
}

/// The model in the rule set gives every user the app's score (1e-9), and a rule on `churn_risk`
/// fires exactly for the users above its threshold.
#[test]
fn the_rule_set_scores_users_as_the_app_did_and_rules_can_use_the_score() {
    let loaded = load(&repo("sample_data/fashion_ga4_events.csv.gz")).unwrap();
    for model in [ModelKind::Logistic, ModelKind::Forest] {
        let params = PredictParams {
            model,
            forest: predict::ForestParams {
                n_trees: 20,
                ..Default::default()
            },
            ..Default::default()
        };
        let prep = predict::prepare(&loaded, &FeatureConfig::default(), &params).unwrap();
        let p = predict::train(&prep, None, &params, &Job::silent()).unwrap();
        // Through the file's text, as production reads it.
        let dir = tempfile::tempdir().unwrap();
        let seg = run(&[
            "segment",
            &sample(),
            "--k",
            "4",
            "--out",
            arg(&dir.path().join("r.ron")),
        ]);
        assert!(seg.status.success());
        let mut rs = RuleSet::read(&dir.path().join("r.ron")).unwrap();
        rs.set_model(p.model.clone());
        let mut r = Rule::new("winback", 1);
        r.when = Condition::Score("churn_risk".into(), Cmp::Gt(0.7));
        rs.rules.push(r);
        let rs = RuleSet::from_ron(&rs.to_ron().unwrap()).unwrap();
        assert!(rs.validate().is_empty(), "{:?}", rs.validate());
        let cols: Vec<(String, Vec<Option<f64>>)> = prep
            .profile
            .features
            .iter()
            .map(|f| (f.clone(), prep.profile.column(f).unwrap()))
            .collect();
        let session = Session {
            now: Some("2024-11-01T00:00:00Z".into()),
            ..Default::default()
        };
        let mut fired = 0;
        for (i, user) in p.users.iter().enumerate() {
            let features: BTreeMap<String, Option<f64>> =
                cols.iter().map(|(f, c)| (f.clone(), c[i])).collect();
            let s = rs.models[0].score(&features).unwrap();
            assert!(
                (s - p.scores[i]).abs() <= 1e-9,
                "{user}: {s} vs {}",
                p.scores[i]
            );
            let d = rs
                .decide(
                    &UserProfile {
                        user_id: user.clone(),
                        features,
                        // A score given with the profile is replaced by the model's.
                        scores: [("churn_risk".to_string(), 0.99)].into_iter().collect(),
                        ..Default::default()
                    },
                    &session,
                )
                .unwrap();
            assert_eq!(!d.decisions.is_empty(), s > 0.7, "{user}: {s}");
            fired += usize::from(s > 0.7);
        }
        assert!(fired > 0 && fired < p.users.len());
    }
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fail = |args: &[&str], want: &str| {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    };
    let s = sample();
    // The export spans about 90 days: a 100-day outcome window does not fit.
    fail(
        &["predict", &s, "--horizon-days", "100"],
        "no cutoff is possible",
    );
    fail(
        &["predict", &s, "--cutoff", "2024-09-03"],
        "less than 7 days of history",
    );
    // Nobody spends a million in a month: one class only.
    fail(
        &[
            "predict",
            &s,
            "--target",
            "convert",
            "--revenue-threshold",
            "1000000",
        ],
        "the positive (converted) class has 0 users",
    );
    fail(
        &["predict", &s, "--model", "forest", "--trees", "0"],
        "at least one tree",
    );
    fail(&["predict", &s, "--model", "svm"], "unknown model \"svm\"");
    fail(
        &["predict", &s, "--target", "love"],
        "unknown target \"love\"",
    );
    fail(&["predict", &s, "--bands", "0.8,0.2"], "--bands");
    // A users table: the label column must be named, exist and be 0/1; constant features teach nothing.
    let mut text = String::from("user_id,a,b,label\n");
    for i in 0..60 {
        text.push_str(&format!("u{i},1,2,{}\n", i % 2));
    }
    let users = write(dir.path(), "users.csv", &text);
    let u = arg(&users);
    fail(
        &["predict", u],
        "needs its label column named (--label-col)",
    );
    fail(
        &["predict", u, "--label-col", "nope"],
        "no numeric column \"nope\"",
    );
    fail(&["predict", u, "--label-col", "b"], "must be 0 or 1, got 2");
    fail(&["predict", u, "--label-col", "label"], "zero variance");
    // With signal, the same table trains.
    let mut text = String::from("user_id,a,b,label\n");
    for i in 0..60 {
        text.push_str(&format!(
            "u{i},{},{},{}\n",
            i,
            (i * 7) % 11,
            u8::from(i >= 30)
        ));
    }
    let users = write(dir.path(), "users2.csv", &text);
    let o = run_ok(&["predict", arg(&users), "--label-col", "label"]);
    assert!(
        stdout(&o).contains("balance    30 positive, 30 negative"),
        "{}",
        stdout(&o)
    );
    // The same errors from the library, as types.
    let loaded = load(&users).unwrap();
    let params = PredictParams {
        target: Target::Churn,
        ..Default::default()
    };
    assert!(matches!(
        predict::prepare(&loaded, &FeatureConfig::default(), &params),
        Err(predict::PredictError::Invalid(_))
    ));
}

/// An order log where most customers buy once (CDNOW's shape): a 30-day window calls 93.8% of them
/// churned. The summary shows accuracy beside the majority-class baseline, warns about the imbalance,
/// and proposes a window from the gaps between orders; every figure as pandas and numpy computed them
/// (tests/oracle/order_log.py).
#[test]
fn an_order_log_gets_a_baseline_an_imbalance_warning_and_a_window_from_its_gaps() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/predict/order_log_expected.json")).unwrap(),
    )
    .unwrap();
    let f = |k: &str| expected[k].as_f64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let log = repo("tests/fixtures/predict/order_log.csv");
    let o = run_ok(&[
        "predict",
        arg(&log),
        "--horizon-days",
        "30",
        "--report",
        arg(&report),
    ]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["class_balance"]["positive"].as_f64(), Some(f("churned")));
    assert_eq!(r["class_balance"]["negative"].as_f64(), Some(f("retained")));
    // The held-out baseline: the larger class's share of the held-out users.
    let m = &r["metrics"];
    let c = |i: usize, j: usize| m["confusion"][i][j].as_f64().unwrap();
    let (neg, pos) = (c(0, 0) + c(0, 1), c(1, 0) + c(1, 1));
    let baseline = m["baseline_accuracy"].as_f64().unwrap();
    assert_eq!(baseline, pos.max(neg) / (pos + neg));
    assert!(
        (baseline - f("majority_accuracy")).abs() < 0.01,
        "{baseline}"
    );
    let h = &r["suggested_horizon"];
    assert_eq!(h["returns"].as_f64(), Some(f("returns")));
    assert!((h["median_gap_days"].as_f64().unwrap() - f("median_gap_days")).abs() < 1e-9);
    assert!((h["p80_gap_days"].as_f64().unwrap() - f("p80_gap_days")).abs() < 1e-9);
    assert_eq!(h["days"].as_f64(), Some(f("suggested_days")));
    let s = stdout(&o);
    let share = 100.0 * f("retained") / f("users");
    says(
        &s,
        &[
            &format!("(always the larger class: {baseline:.4})"),
            &format!("warning    only {share:.1}% of the users are \"retained\""),
            &format!("the data suggest a {}-day window", f("suggested_days")),
        ],
    );
    // With the proposed window there is nothing left to propose.
    let days = f("suggested_days").to_string();
    let o = run_ok(&["predict", arg(&log), "--horizon-days", &days]);
    assert!(!stdout(&o).contains("the data suggest"), "{}", stdout(&o));
}

/// `predict --into` a rule set shows the score per persona of its segments, and the revenue at risk:
/// equal to a count by hand over the scores written (`--scores`), the segments `segment` gave
/// (`--assignments`) and the revenue `features` computes; in the text and in the report.
#[test]
fn the_score_and_revenue_at_risk_per_persona_match_a_count_over_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    let (rules, assign, feats, scores, report) =
        (f("r.ron"), f("a.csv"), f("f.csv"), f("s.csv"), f("p.json"));
    run_ok(&[
        "segment",
        &sample(),
        "--k",
        "6",
        "--out",
        arg(&rules),
        "--assignments",
        arg(&assign),
    ]);
    run_ok(&["features", &sample(), "--out", arg(&feats)]);
    let o = run_ok(&[
        "predict",
        &sample(),
        "--into",
        arg(&rules),
        "--scores",
        arg(&scores),
        "--report",
        arg(&report),
    ]);
    let csv = |p: &std::path::Path| -> Vec<Vec<String>> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let col = |rows: &[Vec<String>], name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let a = csv(&assign);
    let segment: BTreeMap<String, usize> = a[1..]
        .iter()
        .map(|r| (r[0].clone(), r[col(&a, "segment")].parse().unwrap()))
        .collect();
    let fr = csv(&feats);
    let revenue: BTreeMap<String, f64> = fr[1..]
        .iter()
        .map(|r| (r[0].clone(), r[col(&fr, "revenue")].parse().unwrap_or(0.0)))
        .collect();
    let sr = csv(&scores);
    // Per segment: scored users, sum of scores, high-band users, revenue, high-band revenue.
    let mut want = vec![(0usize, 0.0f64, 0usize, 0.0f64, 0.0f64); 6];
    for r in &sr[1..] {
        let (u, score, band) = (&r[0], r[1].parse::<f64>().unwrap(), &r[2]);
        let w = &mut want[segment[u]];
        w.0 += 1;
        w.1 += score;
        w.3 += revenue[u];
        if band == "high" {
            w.2 += 1;
            w.4 += revenue[u];
        }
    }
    let rj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let got = rj["by_persona"].as_array().unwrap();
    assert_eq!(got.len(), 6);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["users_scored"].as_u64(), Some(w.0 as u64), "{g}");
        assert!(
            close(g["mean_score"].as_f64().unwrap(), w.1 / w.0 as f64),
            "{g}"
        );
        assert!(
            close(g["high_share"].as_f64().unwrap(), w.2 as f64 / w.0 as f64),
            "{g}"
        );
        assert!(close(g["revenue"].as_f64().unwrap(), w.3), "{g}");
        assert!(close(g["revenue_high"].as_f64().unwrap(), w.4), "{g}");
        let name = g["persona"].as_str().unwrap();
        assert!(
            stdout(&o).contains(&format!("persona    {name}: {} scored", w.0)),
            "{}",
            stdout(&o)
        );
    }
    // The planted lapsing users carry revenue at risk; someone is in the high band.
    assert!(want.iter().any(|w| w.4 > 0.0));
    assert!(stdout(&o).contains("; revenue at risk "), "{}", stdout(&o));
}
