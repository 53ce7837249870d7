//! Prediction checked against scikit-learn (fixtures from tests/oracle/predict_oracle.py):
//! every metric on the same predictions to 1e-9, and our logistic regression and random forest against
//! scikit-learn's on the same design matrix and split (coefficients, held-out ROC AUC within 0.01).

mod common;

use std::io::Read;

use common::{floats, repo};
use persona_lab::job::Job;
use persona_lab::predict::{ForestParams, metrics};
use serde_json::Value;

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(repo(&format!("tests/fixtures/predict/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: ours {a}, scikit-learn {b}");
}

#[test]
fn metrics_equal_scikit_learn_on_the_same_predictions() {
    let f = json("metrics.json");
    let y: Vec<bool> = f["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let p = floats(&f["p"]);
    let m = metrics::metrics(&y, &p, 0.5, 10);
    for key in ["roc_auc", "pr_auc", "accuracy", "precision", "recall"] {
        let ours = match key {
            "roc_auc" => m.roc_auc,
            "pr_auc" => m.pr_auc,
            "accuracy" => m.accuracy,
            "precision" => m.precision,
            _ => m.recall,
        };
        close(ours, f[key].as_f64().unwrap(), 1e-9, key);
    }
    let cm: Vec<Vec<usize>> = serde_json::from_value(f["confusion"].clone()).unwrap();
    assert_eq!(m.confusion.map(|r| r.to_vec()).to_vec(), cm);
    let (fpr, tpr) = (floats(&f["roc_fpr"]), floats(&f["roc_tpr"]));
    assert_eq!(m.roc.len(), fpr.len());
    for (i, (x, y)) in m.roc.iter().enumerate() {
        close(*x, fpr[i], 1e-12, "roc fpr");
        close(*y, tpr[i], 1e-12, "roc tpr");
    }
    let (obs, pred) = (
        floats(&f["calibration_observed"]),
        floats(&f["calibration_predicted"]),
    );
    assert_eq!(m.calibration.len(), obs.len());
    for (b, (o, q)) in m.calibration.iter().zip(obs.iter().zip(&pred)) {
        close(b.observed, *o, 1e-9, "calibration observed");
        close(b.mean_predicted, *q, 1e-9, "calibration predicted");
    }
}

/// The design matrix: feature names, rows, labels, held-out flags.
fn design() -> (Vec<String>, Vec<Vec<f64>>, Vec<bool>, Vec<bool>) {
    let mut text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(repo("tests/fixtures/predict/churn_design.csv.gz")).unwrap(),
    )
    .read_to_string(&mut text)
    .unwrap();
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let d = head.len() - 3;
    let (mut rows, mut y, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        rows.push(
            cells[1..=d]
                .iter()
                .map(|c| c.parse::<f64>().unwrap())
                .collect(),
        );
        y.push(cells[d + 1] == "1");
        test.push(cells[d + 2] == "1");
    }
    (head[1..=d].to_vec(), rows, y, test)
}

fn fit_data(rows: &[Vec<f64>], y: &[bool], test: &[bool]) -> (Vec<f64>, Vec<bool>) {
    let mut x = Vec::new();
    let mut yy = Vec::new();
    for i in (0..rows.len()).filter(|&i| !test[i]) {
        x.extend(&rows[i]);
        yy.push(y[i]);
    }
    (x, yy)
}

fn held_out_auc(
    rows: &[Vec<f64>],
    y: &[bool],
    test: &[bool],
    score: impl Fn(&[f64]) -> f64,
) -> f64 {
    let (ty, tp): (Vec<bool>, Vec<f64>) = (0..rows.len())
        .filter(|&i| test[i])
        .map(|i| (y[i], score(&rows[i])))
        .unzip();
    metrics::roc_auc(&ty, &tp)
}

#[test]
fn logistic_regression_matches_scikit_learn_on_the_same_design_and_split() {
    let f = json("churn_models.json");
    let (names, rows, y, test) = design();
    let expected_names: Vec<String> = serde_json::from_value(f["features"].clone()).unwrap();
    assert_eq!(names, expected_names);
    let (x, yy) = fit_data(&rows, &y, &test);
    let data = persona_lab::predict::Labelled {
        x: &x,
        d: names.len(),
        y: &yy,
    };
    let m = persona_lab::predict::logistic::LogisticParams { c: 1.0 }
        .fit(&data, &Job::silent())
        .unwrap();
    // The same optimum: signs always, values to 1e-3 (two L-BFGS implementations, both converged).
    let coef = floats(&f["logistic_coef"]);
    for (j, (a, b)) in m.coef.iter().zip(&coef).enumerate() {
        assert_eq!(a.signum(), b.signum(), "sign of {}", names[j]);
        close(*a, *b, 1e-3, &names[j]);
    }
    close(
        m.intercept,
        f["logistic_intercept"].as_f64().unwrap(),
        1e-3,
        "intercept",
    );
    let auc = held_out_auc(&rows, &y, &test, |r| m.prob(r));
    close(
        auc,
        f["logistic_auc"].as_f64().unwrap(),
        0.01,
        "held-out ROC AUC",
    );
    assert!(auc >= 0.85, "churn ROC AUC {auc}");
}

#[test]
fn random_forest_matches_scikit_learn_on_the_same_design_and_split() {
    let f = json("churn_models.json");
    let (names, rows, y, test) = design();
    let (x, yy) = fit_data(&rows, &y, &test);
    let params = ForestParams {
        n_trees: 100,
        max_depth: Some(8),
        min_samples_leaf: 5,
        max_features: None,
        seed: 0,
    };
    let m = params
        .fit(
            &persona_lab::predict::Labelled {
                x: &x,
                d: names.len(),
                y: &yy,
            },
            &Job::silent(),
        )
        .unwrap();
    let auc = held_out_auc(&rows, &y, &test, |r| m.prob(r));
    close(
        auc,
        f["forest_auc"].as_f64().unwrap(),
        0.01,
        "held-out ROC AUC",
    );
    assert!(auc >= 0.85, "churn ROC AUC {auc}");
    // The same feature matters most.
    let theirs = floats(&f["forest_importance"]);
    let top = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    assert_eq!(
        names[top(&m.importance)],
        names[top(&theirs)],
        "ours {:?} theirs {:?}",
        m.importance,
        theirs
    );
}

/// The collinearity note's variance inflation factors are statsmodels' (tests/oracle/vif_oracle.py,
/// with a constant) on the sample's design matrix, to 1e-6 relative; the sample's note names the
/// features above 10, highest first.
#[test]
fn variance_inflation_equals_statsmodels_on_the_sample_design() {
    use persona_lab::features::transform::Matrix;
    use persona_lab::predict::honesty;
    let (names, rows, _, _) = design();
    let f = json("vif.json");
    let want = floats(&f["vif"]);
    let want_names: Vec<&str> = f["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, want_names);
    let m = Matrix {
        users: (0..rows.len()).map(|i| i.to_string()).collect(),
        columns: names.clone(),
        n_rows: rows.len(),
        n_cols: names.len(),
        data: rows.concat(),
    };
    let corr = m.correlation();
    let ours = honesty::variance_inflation(&corr, names.len()).unwrap();
    for ((n, a), b) in names.iter().zip(&ours).zip(&want) {
        assert!((a - b).abs() <= 1e-6 * b, "{n}: ours {a}, statsmodels {b}");
    }
    let high: Vec<String> = {
        let mut h: Vec<(f64, &String)> = want
            .iter()
            .zip(&names)
            .filter(|(v, _)| **v > 10.0)
            .map(|(v, n)| (*v, n))
            .collect();
        h.sort_by(|a, b| b.0.total_cmp(&a.0));
        h.iter().map(|(v, n)| format!("{n} {v:.0}")).collect()
    };
    assert!(high.len() >= 2, "{high:?}");
    let note = honesty::Collinearity::of(&names, &corr)
        .unwrap()
        .describe(&|f| f.to_string());
    assert!(note.contains(&high.join(", ")), "{note}\nwant {high:?}");
}
