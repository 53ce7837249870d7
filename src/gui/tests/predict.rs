//! The Predict view: training a model, scores per persona, order logs.

use super::*;

/// Predict: train a churn model from the view, see its metrics and per-persona risk (equal to the
/// core's), then find its score in the rule set, in the rule editor's counts, and in Simulate.
#[test]
fn a_churn_model_is_trained_shown_per_persona_and_used_by_rules() {
    use persona_lab::features::FeatureConfig;
    use persona_lab::job::Job;
    use persona_lab::predict::{self, PredictParams};
    use persona_lab::rules::{Cmp, Condition, Rule, population};

    let mut h = sample_clustered();
    click(&mut h, "Predict");
    h.get_by_label("Choose what to predict and press Train model.");
    h.get_by_label("Train model").click();
    wait_for(&mut h, "the model", |a| {
        a.analysis.prediction.is_some() && idle(a)
    });
    let p = h.state().analysis.prediction.clone().unwrap();
    // The same as the core computes directly with the same settings.
    let loaded = h.state().analysis.loaded.clone().unwrap();
    let prep = predict::prepare(
        &loaded,
        &FeatureConfig::default(),
        &PredictParams::default(),
    )
    .unwrap();
    let direct = predict::train(&prep, None, &PredictParams::default(), &Job::silent()).unwrap();
    assert_eq!(p.scores, direct.scores);
    assert!(p.metrics.roc_auc >= 0.85, "{}", p.metrics.roc_auc);
    h.get_by_label_contains(&format!("Class balance: {} churned", p.positives));
    h.get_by_label(&format!("{:.4}", p.metrics.roc_auc));
    h.get_by_label("ROC curve (held out; grey: chance)");
    // Collinear coefficients are said under them, in the features' display names.
    let c = p
        .collinearity
        .clone()
        .expect("the sample's counts move together");
    assert!(c.inflated.iter().any(|(f, v)| f == "events" && *v > 10.0));
    h.get_by_label(&c.describe(&persona_lab::features::display::name));
    // The curves are drawn from the model's own points, thinned with it: every drawn point is one
    // of them, from the first to the last.
    let drawn = h.state().caches.curves(&h.state().analysis).unwrap();
    for (pts, of) in [(&drawn.roc, &p.metrics.roc), (&drawn.pr, &p.metrics.pr)] {
        assert!(pts.len() >= 2 && pts.len() <= of.len());
        let as_pair = |q: &egui_plot::PlotPoint| (q.x, q.y);
        assert_eq!(as_pair(&pts[0]), of[0]);
        assert_eq!(as_pair(pts.last().unwrap()), *of.last().unwrap());
        assert!(pts.iter().all(|q| of.contains(&as_pair(q))));
    }
    h.get_by_label("churn_risk by persona");
    let run = h.state().analysis.run.clone().unwrap();
    let seg = predict::by_segment(
        &p.users,
        &p.scores,
        p.params.bands,
        &run.matrix.users,
        &run.segmentation.labels,
        run.segmentation.k,
    );
    let scored: usize = seg.iter().map(|s| s.users).sum();
    assert_eq!(
        scored,
        p.users.len(),
        "every scored user is in the clustering"
    );
    for s in &seg {
        h.get_by_label(&format!("{:.3}", s.mean));
    }

    // Persona cards show the risk.
    click(&mut h, "Personas");
    let s0 = &seg[h.state().analysis.personas[0].segment];
    h.get_by_label_contains(&format!(
        "churn_risk: mean {:.2}, {:.0}% in the high band ({} users scored)",
        s0.mean,
        100.0 * s0.high_share,
        s0.users
    ));

    // The rule set carries the model; a rule on the score is valid and counted for today's users.
    let rs = h.state().rule_set().unwrap();
    assert_eq!(rs.models.len(), 1);
    let mut r = Rule::new("winback", 1);
    r.when = Condition::Score("churn_risk".into(), Cmp::Gt(0.7));
    h.state_mut().analysis.rules.push(r.clone());
    click(&mut h, "Rules");
    h.state_mut().ui_state.rules.selected = Some(0);
    wait_for(&mut h, "the rule previews with scores", |a| {
        idle(a) && a.caches.population.is_some()
    });
    let pop = h.state_mut().population().unwrap();
    assert!(pop.scores.contains_key("churn_risk"));
    let n = population::count(&r.when, &pop);
    assert!(n > 0 && n < pop.n);
    assert!(
        h.get_all_by_label_contains(&format!("matches {n} users"))
            .count()
            >= 1
    );
    let rs = h.state().rule_set().unwrap();
    assert!(rs.validate().is_empty(), "{:?}", rs.validate());

    // The re-engagement template uses the trained score's high band instead of recency.
    click(&mut h, "Add from template");
    click(&mut h, "Re-engagement offer for lapsing users");
    wait_for(&mut h, "the rule", |a| {
        idle(a) && a.analysis.rules.len() == 2
    });
    assert_eq!(
        h.state().analysis.rules[1].when,
        Condition::Score("churn_risk".into(), Cmp::Ge(p.model.bands.1))
    );
    h.get_by_label_contains(
        "churn_risk >= 0.7 (the trained model's high band) in place of recency_days",
    );
}

/// Predict on an order log where most customers buy once: accuracy is shown beside the baseline of
/// always answering the larger class, the imbalance is named, and the window the gaps between orders
/// suggest is one click away (and, once used, no longer proposed).
#[test]
fn predict_on_an_order_log_shows_the_baseline_the_imbalance_and_a_window_to_use() {
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/predict/order_log.csv");
    let mut h = loaded(PersonaApp::new(Some(log)));
    click(&mut h, "Predict");
    h.get_by_label("Train model").click();
    wait_for(&mut h, "the model", |a| {
        a.analysis.prediction.is_some() && idle(a)
    });
    let p = h.state().analysis.prediction.clone().unwrap();
    assert_eq!(p.params.horizon_days, 30);
    h.get_by_label("a model that always answers the larger class");
    // Here the model is no better than the baseline: both figures show (the same text twice).
    for x in [p.metrics.accuracy, p.metrics.baseline_accuracy] {
        assert!(h.query_all_by_label(&format!("{x:.4}")).count() >= 1, "{x}");
    }
    assert!(p.metrics.baseline_accuracy > 0.9, "{:?}", p.metrics);
    h.get_by_label_contains("Class imbalance: only");
    // The ROC and PR curves have vertical runs: drawn as lines, never as filled bands.
    let shapes = drawn_shapes(&h);
    assert!(
        !shapes.iter().any(|s| matches!(s, egui::Shape::Band(_))),
        "a curve was drawn as a filled band"
    );
    // Features by their display names.
    h.get_by_label("Days since last visit");
    // The curves' numbers, as the chart's CSV.
    let dir = tempfile::tempdir().unwrap();
    let curves = dir.path().join("curves.csv");
    h.get_by_label("Save curves (CSV)…");
    h.state_mut()
        .file_chosen(crate::gui::files::FilePurpose::ChartCsv, curves.clone());
    let text = std::fs::read_to_string(&curves).unwrap();
    let m = &p.metrics;
    assert_eq!(text.lines().next(), Some("curve,x,y"));
    assert_eq!(
        text.lines().count(),
        1 + m.roc.len() + m.pr.len() + m.calibration.len()
    );
    let (x, y) = m.roc[1];
    assert!(text.contains(&format!("roc,{x},{y}\n")));
    let suggested = p.horizon.clone().expect("a window is proposed").days;
    assert_ne!(suggested, 30);
    click(&mut h, &format!("Use {suggested} days and retrain"));
    wait_for(&mut h, "the retrained model", |a| {
        idle(a)
            && a.analysis
                .prediction
                .as_ref()
                .is_some_and(|p| p.params.horizon_days == suggested)
    });
    h.run_ok();
    assert!(
        h.query_by_label_contains("days and retrain").is_none(),
        "the window in use is not proposed again"
    );
}

/// Frame time of the Predict view with ROC and PR curves of a quarter of a million points each (a
/// model held out on a million users has a point per distinct score), drawn whole and thinned as the
/// app draws them (`cargo test --release --bin persona-lab -- --ignored predict_curve_frames
/// --nocapture`): the egui pass plus tessellation, 30 frames each, the two alternated three times.
#[test]
#[ignore]
fn predict_curve_frames() {
    use crate::gui::cache::Same;
    use crate::gui::charts::DrawnCurves;
    let mut h = sample_clustered();
    click(&mut h, "Predict");
    h.get_by_label("Train model").click();
    wait_for(&mut h, "the model", |a| {
        a.analysis.prediction.is_some() && idle(a)
    });
    let mut p = (*h.state().analysis.prediction.clone().unwrap()).clone();
    let n = 250_000;
    p.metrics.roc = (0..=n)
        .map(|i| {
            let t = i as f64 / n as f64;
            (t, t.powf(0.3))
        })
        .collect();
    p.metrics.pr = (1..=n)
        .map(|i| {
            let r = i as f64 / n as f64;
            (r, 1.0 - 0.6 * r * r)
        })
        .collect();
    let p = Arc::new(p);
    let whole = |pts: &[(f64, f64)]| -> Vec<egui_plot::PlotPoint> {
        pts.iter()
            .map(|&(x, y)| egui_plot::PlotPoint::new(x, y))
            .collect()
    };
    let variants = [
        (
            "drawn whole",
            Arc::new(DrawnCurves {
                roc: whole(&p.metrics.roc),
                pr: whole(&p.metrics.pr),
            }),
        ),
        ("thinned", Arc::new(DrawnCurves::of(&p.metrics))),
    ];
    for round in 0..3 {
        for (label, curves) in &variants {
            h.state_mut().analysis.prediction = Some(p.clone());
            h.state_mut().caches.curves = Some((Same(p.clone()), curves.clone()));
            h.step();
            wait_for(&mut h, "the view", idle);
            let times = frame_times(&mut h, 30);
            println!(
                "round {round}: {label:<12} ({:>6} + {:>6} points) median {:7.2} ms  worst {:7.2} ms",
                curves.roc.len(),
                curves.pr.len(),
                times[15],
                times[29]
            );
        }
    }
}

/// A churn model's revenue at risk per persona: the revenue of each persona's users in the high
/// band, from the export's per-user revenue (summed here from the profile and the segments by
/// hand), in the Predict table, its TSV, and on the persona cards.
#[test]
fn the_revenue_at_risk_is_shown_per_persona() {
    let mut h = sample_clustered();
    click(&mut h, "Predict");
    h.get_by_label("Train model").click();
    wait_for(&mut h, "the model and its risk per persona", |a| {
        a.analysis.prediction.is_some() && a.caches.risk(&a.analysis).is_some() && idle(a)
    });
    let a = &h.state().analysis;
    let (p, run, profile) = (
        a.prediction.clone().unwrap(),
        a.run.clone().unwrap(),
        a.profile.clone().unwrap(),
    );
    // By hand: every clustered user with a score in the high band adds their revenue.
    let score: std::collections::HashMap<&str, f64> = p
        .users
        .iter()
        .map(String::as_str)
        .zip(p.scores.iter().copied())
        .collect();
    let revenue = profile.column("revenue").unwrap();
    let mut want = vec![(0.0f64, 0.0f64); run.segmentation.k];
    for ((u, &l), r) in run
        .matrix
        .users
        .iter()
        .zip(&run.segmentation.labels)
        .zip(&revenue)
    {
        if let Some(&s) = score.get(u.as_str()) {
            let r = r.unwrap_or(0.0);
            want[l].0 += r;
            if s >= p.params.bands.1 {
                want[l].1 += r;
            }
        }
    }
    let risk = h.state().caches.risk(&h.state().analysis).unwrap();
    let got = risk.at_risk.clone().expect("the sample has revenue");
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g.revenue - w.0).abs() < 1e-6 && (g.high - w.1).abs() < 1e-6,
            "{g:?} vs {w:?}"
        );
    }
    // Somebody at risk has spent: the column is not all zeros.
    assert!(got.iter().any(|a| a.high > 0.0), "{got:?}");
    h.get_by_label("revenue at risk");
    for a in &got {
        assert!(
            h.query_all_by_label(&a.amount()).count() >= 1,
            "{}",
            a.amount()
        );
    }
    h.get_by_label(&format!(
        "{} users in the high band (score >= 0.7)",
        risk.high_users
    ));
    click(&mut h, "Personas");
    let seg = h.state().analysis.personas[0].segment;
    h.get_by_label_contains(&format!("; revenue at risk: {}", got[seg].amount()));
}
