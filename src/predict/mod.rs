//! Churn risk and conversion prediction: labels from an outcome window after a cutoff (no leakage),
//! a logistic regression or a random forest on the scaled profile features, held-out and
//! cross-validated metrics with scikit-learn's definitions, a score and risk band for every user, and
//! the fitted model in a form the rule set carries so production computes the same score.

pub mod forest;
pub mod honesty;
pub mod labels;
pub mod logistic;
pub mod metrics;

use crate::features::ProfileTransform as _;

use polars::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use crate::error::PredictError;
pub use forest::{Forest, ForestParams};
pub use honesty::HorizonSuggestion;
pub use labels::Target;
pub use logistic::Logistic;
pub use metrics::Metrics;

use crate::data::{Loaded, Shape};
use crate::features::{self, FeatureConfig, FittedTransform, Profile, TransformSpec, transform};
use crate::job::Job;

/// Fewest users of each class that a model may learn from.
pub const MIN_CLASS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Logistic,
    Forest,
}

impl ModelKind {
    pub fn parse(s: &str) -> Result<ModelKind, PredictError> {
        match s {
            "logistic" => Ok(ModelKind::Logistic),
            "forest" => Ok(ModelKind::Forest),
            _ => Err(PredictError::Invalid(format!(
                "unknown model {s:?}; use logistic or forest"
            ))),
        }
    }
}

pub use persona_lab_runtime::scores::{Fitted, ScoreModel, band};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictParams {
    pub target: Target,
    /// µs since epoch, UTC; None: the last event minus the horizon.
    pub cutoff: Option<i64>,
    pub horizon_days: u32,
    /// Convert target: revenue in the window above this (None: any purchase).
    pub revenue_threshold: Option<f64>,
    /// Users tables: the label column (1 / true = positive).
    pub label_col: Option<String>,
    pub model: ModelKind,
    /// Logistic regression: inverse regularisation strength (scikit-learn's C).
    pub c: f64,
    pub forest: ForestParams,
    /// Share of users held out for the metrics.
    pub test_share: f64,
    /// Also cross-validate with this many folds.
    pub folds: Option<usize>,
    pub seed: u64,
    /// Decision threshold for accuracy, precision, recall and the confusion matrix.
    pub threshold: f64,
    pub bands: (f64, f64),
}

impl Default for PredictParams {
    fn default() -> Self {
        PredictParams {
            target: Target::Churn,
            cutoff: None,
            horizon_days: 30,
            revenue_threshold: None,
            label_col: None,
            model: ModelKind::Logistic,
            c: 1.0,
            forest: ForestParams::default(),
            test_share: 0.25,
            folds: None,
            seed: 0,
            threshold: 0.5,
            bands: (0.3, 0.7),
        }
    }
}

/// Profile before the cutoff and the labels of its users.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub profile: Profile,
    pub labels: Vec<bool>,
    pub cutoff: Option<i64>,
    /// Features the model may use (the label column of a users table is not one).
    pub candidates: Vec<String>,
    /// An outcome window proposed from how often users come back (event logs only).
    pub horizon: Option<HorizonSuggestion>,
}

pub fn prepare(
    loaded: &Loaded,
    cfg: &FeatureConfig,
    params: &PredictParams,
) -> Result<Prepared, PredictError> {
    match loaded.shape {
        Shape::Events => {
            let span = labels::span(loaded)?;
            let cutoff = labels::cutoff(span, params.cutoff, params.horizon_days)?;
            let cfg = FeatureConfig {
                as_of: Some(cutoff),
                ..cfg.clone()
            };
            let profile = features::compute_profile(loaded, &cfg)?;
            let users = profile.user_ids();
            let y = labels::outcome_labels(
                loaded,
                &users,
                params.target,
                cutoff,
                params.horizon_days,
                params.revenue_threshold,
            )?;
            Ok(Prepared {
                candidates: profile.features.clone(),
                profile,
                labels: y,
                cutoff: Some(cutoff),
                horizon: honesty::suggest_horizon(loaded)?,
            })
        }
        Shape::Users => {
            let Some(label) = &params.label_col else {
                return Err(PredictError::Invalid(format!(
                    "{}: a per-user table needs its label column named (--label-col)",
                    loaded.path.display()
                )));
            };
            let profile = features::compute_profile(loaded, cfg)?;
            let col = profile.column(label).map_err(|_| {
                PredictError::Invalid(format!(
                    "{}: no numeric column {label:?} to use as the label; numeric columns are [{}]",
                    loaded.path.display(),
                    profile.features.join(", ")
                ))
            })?;
            let mut y = Vec::with_capacity(col.len());
            for (row, v) in col.iter().enumerate() {
                match v {
                    Some(x) if *x == 0.0 || *x == 1.0 => y.push(*x == 1.0),
                    other => {
                        return Err(PredictError::Invalid(format!(
                            "{}: row {}: label {label:?} must be 0 or 1, got {}",
                            loaded.path.display(),
                            row + 1,
                            other.map_or("nothing".to_string(), |x| x.to_string())
                        )));
                    }
                }
            }
            Ok(Prepared {
                candidates: profile
                    .features
                    .iter()
                    .filter(|f| *f != label)
                    .cloned()
                    .collect(),
                profile,
                labels: y,
                cutoff: None,
                horizon: None,
            })
        }
    }
}

/// A trained model with its evaluation and every user's score.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub params: PredictParams,
    pub cutoff: Option<i64>,
    pub positives: usize,
    pub negatives: usize,
    /// Held-out metrics (the model was fitted on the other users).
    pub metrics: Metrics,
    /// Out-of-fold metrics over every user, when cross-validated.
    pub cv: Option<Metrics>,
    pub users: Vec<String>,
    pub labels: Vec<bool>,
    pub in_test: Vec<bool>,
    /// Probability of the target for every user, from the final model.
    pub scores: Vec<f64>,
    pub model: ScoreModel,
    /// Logistic: the coefficient per scaled feature; forest: the impurity decrease (sums to 1).
    pub importance: Vec<(String, f64)>,
    /// Logistic: the features the others largely explain, whose coefficients share one effect.
    pub collinearity: Option<honesty::Collinearity>,
    pub notes: Vec<String>,
    /// Set when one class is under 10% of the users: accuracy then says little.
    pub balance_warning: Option<String>,
    /// An outcome window proposed from the data (event logs only).
    pub horizon: Option<HorizonSuggestion>,
}

impl Prediction {
    pub fn train_size(&self) -> usize {
        self.in_test.iter().filter(|&&t| !t).count()
    }
}

/// The features of the model (spec features the profile has, weights 1; default: the default set).
fn model_spec(prep: &Prepared, spec: Option<&TransformSpec>) -> TransformSpec {
    let mut spec = match spec {
        Some(s) => s.clone(),
        None => {
            let mut s = TransformSpec::default_for(&prep.profile);
            if prep.cutoff.is_some() {
                s.features = features::catalogue::predict_set()
                    .filter(|id| prep.candidates.iter().any(|c| c == id))
                    .map(features::FeatureChoice::new)
                    .collect();
            }
            s
        }
    };
    spec.features.retain(|f| prep.candidates.contains(&f.id));
    if spec.features.is_empty() {
        spec.features = prep
            .candidates
            .iter()
            .map(features::FeatureChoice::new)
            .collect();
    }
    for f in &mut spec.features {
        f.weight = 1.0;
    }
    spec
}

fn subset(profile: &Profile, keep: &[bool]) -> Result<Profile, PredictError> {
    let mask: BooleanChunked = keep.iter().copied().collect();
    let table = profile
        .table
        .filter(&mask)
        .map_err(|e| PredictError::Invalid(e.to_string()))?;
    Ok(Profile {
        table,
        attributes: profile.attributes.iter().map(|a| a.subset(keep)).collect(),
        ..profile.clone()
    })
}

/// Fit the transform and the model on the users where `train` holds.
fn fit(
    prep: &Prepared,
    spec: &TransformSpec,
    train: &[bool],
    params: &PredictParams,
    job: &Job,
) -> Result<(FittedTransform, Fitted), PredictError> {
    let sub = subset(&prep.profile, train)?;
    let fitted = transform::fit(&sub, spec)?;
    if fitted.features.is_empty() {
        return Err(PredictError::Invalid(
            "every model feature is constant on the training users; nothing to learn from".into(),
        ));
    }
    let m = fitted.matrix(&sub)?;
    let y: Vec<bool> = prep
        .labels
        .iter()
        .zip(train)
        .filter(|(_, t)| **t)
        .map(|(y, _)| *y)
        .collect();
    let data = Labelled {
        x: &m.data,
        d: m.n_cols,
        y: &y,
    };
    let model = match params.model {
        ModelKind::Logistic => {
            Fitted::Logistic(logistic::LogisticParams { c: params.c }.fit(&data, job)?)
        }
        ModelKind::Forest => Fitted::Forest(
            ForestParams {
                seed: params.seed,
                ..params.forest.clone()
            }
            .fit(&data, job)?,
        ),
    };
    Ok((fitted, model))
}

/// Labelled rows for a classifier: `x` row-major with `d` columns, `y` (true = the target) per row.
#[derive(Debug, Clone, Copy)]
pub struct Labelled<'a> {
    pub x: &'a [f64],
    pub d: usize,
    pub y: &'a [bool],
}

/// Stratified, seeded assignment of users to `parts` groups (round robin over each shuffled class).
fn stratified(labels: &[bool], parts: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut group = vec![0; labels.len()];
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        for (k, i) in idx.into_iter().enumerate() {
            group[i] = k % parts;
        }
    }
    group
}

/// A seeded, stratified held-out set: about `share` of each class.
pub fn split(labels: &[bool], share: f64, seed: u64) -> Vec<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut test = vec![false; labels.len()];
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        let k = ((idx.len() as f64 * share).round() as usize).clamp(1, idx.len().saturating_sub(1));
        for &i in &idx[..k] {
            test[i] = true;
        }
    }
    test
}

pub fn train(
    prep: &Prepared,
    spec: Option<&TransformSpec>,
    params: &PredictParams,
    job: &Job,
) -> Result<Prediction, PredictError> {
    if !(params.test_share > 0.0 && params.test_share < 1.0) {
        return Err(PredictError::Invalid(format!(
            "the held-out share must be between 0 and 1, got {}",
            params.test_share
        )));
    }
    if params.bands.0.partial_cmp(&params.bands.1) != Some(std::cmp::Ordering::Less)
        && params.bands.0 != params.bands.1
    {
        return Err(PredictError::Invalid(format!(
            "risk bands must be increasing, got {:?}",
            params.bands
        )));
    }
    let y = &prep.labels;
    let positives = y.iter().filter(|&&v| v).count();
    let negatives = y.len() - positives;
    for (class, count) in [("positive", positives), ("negative", negatives)] {
        if count < MIN_CLASS {
            return Err(PredictError::TooFewInClass {
                class: format!(
                    "{class} ({})",
                    match (params.target, class) {
                        (Target::Churn, "positive") => "churned",
                        (Target::Churn, _) => "retained",
                        (Target::Convert, "positive") => "converted",
                        (Target::Convert, _) => "not converted",
                    }
                ),
                count,
                min: MIN_CLASS,
                positives,
                negatives,
            });
        }
    }
    let spec = model_spec(prep, spec);
    let in_test = split(y, params.test_share, params.seed);
    let train_mask: Vec<bool> = in_test.iter().map(|t| !t).collect();
    job.progress("fitting", 0.0);
    let (fitted, model) = fit(prep, &spec, &train_mask, params, job)?;
    let m = fitted.matrix(&prep.profile)?;
    let scores: Vec<f64> = (0..m.n_rows).map(|i| model.prob(m.row(i))).collect();
    let (ty, tp): (Vec<bool>, Vec<f64>) = (0..y.len())
        .filter(|&i| in_test[i])
        .map(|i| (y[i], scores[i]))
        .unzip();
    let held_out = metrics::metrics(&ty, &tp, params.threshold, 10);
    let cv = match params.folds {
        Some(k) if k >= 2 => {
            let group = stratified(y, k, params.seed);
            let mut oof = vec![0.0; y.len()];
            for fold in 0..k {
                if job.is_cancelled() {
                    return Err(PredictError::Cancelled);
                }
                job.progress("cross-validation", fold as f32 / k as f32);
                let train: Vec<bool> = group.iter().map(|&g| g != fold).collect();
                let (ft, fm) = fit(prep, &spec, &train, params, job)?;
                let mm = ft.matrix(&prep.profile)?;
                for i in (0..y.len()).filter(|&i| group[i] == fold) {
                    oof[i] = fm.prob(mm.row(i));
                }
            }
            Some(metrics::metrics(y, &oof, params.threshold, 10))
        }
        Some(k) => {
            return Err(PredictError::Invalid(format!(
                "cross-validation needs at least 2 folds, got {k}"
            )));
        }
        None => None,
    };
    let names: Vec<String> = fitted.features.iter().map(|f| f.id.clone()).collect();
    let importance = match &model {
        Fitted::Logistic(l) => names.iter().cloned().zip(l.coef.iter().copied()).collect(),
        Fitted::Forest(f) => names
            .iter()
            .cloned()
            .zip(f.importance.iter().copied())
            .collect(),
    };
    let mut notes: Vec<String> = fitted
        .excluded
        .iter()
        .map(|(f, why)| format!("{f} left out: {why}"))
        .collect();
    notes.extend(fitted.notes.iter().cloned());
    // Coefficients share a collinear effect; impurity importances do not have signs to mislead.
    let collinearity = match model {
        Fitted::Logistic(_) => honesty::Collinearity::of(&names, &m.correlation()),
        Fitted::Forest(_) => None,
    };
    let (pos_name, neg_name) = params.target.class_names();
    Ok(Prediction {
        balance_warning: honesty::balance_warning(positives, negatives, pos_name, neg_name),
        horizon: prep.horizon.clone(),
        params: params.clone(),
        cutoff: prep.cutoff,
        positives,
        negatives,
        metrics: held_out,
        cv,
        users: m.users.clone(),
        labels: y.clone(),
        in_test,
        scores,
        model: ScoreModel {
            name: params.target.score_name().into(),
            target: params.target,
            transform: fitted,
            model,
            bands: params.bands,
        },
        importance,
        collinearity,
        notes,
    })
}

/// A model's scores seen per segment: each scored user's segment, the per-segment summary, and a
/// 20-bin histogram of scores over [0, 1] per segment (what the app's per-persona charts draw).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRisk {
    /// Segment of each scored user (None: not in the segmentation).
    pub segment_of: Vec<Option<usize>>,
    pub by_segment: Vec<SegmentScore>,
    pub hists: Vec<Vec<usize>>,
    /// Per segment, the revenue its scored users brought and the part of it in the high band, when
    /// the segmentation's users have revenue: what a churn model puts at risk.
    pub at_risk: Option<Vec<AtRisk>>,
    /// Scored users in the high band, in the segmentation or not.
    pub high_users: usize,
}

/// The revenue of a segment's scored users, and of those in the high band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AtRisk {
    pub revenue: f64,
    pub high: f64,
}

impl AtRisk {
    /// The high band's share of the revenue (None without revenue).
    pub fn share(&self) -> Option<f64> {
        (self.revenue > 0.0).then(|| self.high / self.revenue)
    }

    /// What the high band's revenue means for a model of `target`.
    pub fn heading(target: Target) -> &'static str {
        match target {
            Target::Churn => "revenue at risk",
            Target::Convert => "revenue of the high band",
        }
    }

    /// "1234 (12% of their revenue)": the high band's revenue and its share of the scored users'.
    pub fn amount(&self) -> String {
        let amount = crate::features::display::value("revenue", self.high);
        match self.share() {
            Some(s) => format!("{amount} ({:.0}% of their revenue)", 100.0 * s),
            None => amount,
        }
    }
}

/// The scores of `p` per segment of a segmentation (`seg_users` with their `seg_labels`, 0..k),
/// matched by user id; with `seg_revenue` (each segmentation user's revenue), the revenue at risk.
pub fn segment_risk(
    p: &Prediction,
    seg_users: &[String],
    seg_labels: &[usize],
    k: usize,
    seg_revenue: Option<&[f64]>,
) -> SegmentRisk {
    let index: std::collections::HashMap<&str, usize> = seg_users
        .iter()
        .map(String::as_str)
        .zip(seg_labels.iter().copied())
        .collect();
    let segment_of: Vec<Option<usize>> = p
        .users
        .iter()
        .map(|u| index.get(u.as_str()).copied())
        .collect();
    let mut hists = vec![vec![0usize; 20]; k];
    for (s, &x) in segment_of.iter().zip(&p.scores) {
        if let Some(h) = s.and_then(|s| hists.get_mut(s)) {
            h[((x * 20.0) as usize).min(19)] += 1;
        }
    }
    SegmentRisk {
        by_segment: by_segment(
            &p.users,
            &p.scores,
            p.params.bands,
            seg_users,
            seg_labels,
            k,
        ),
        at_risk: seg_revenue.map(|r| {
            revenue_at_risk(
                &p.users,
                &p.scores,
                p.params.bands,
                seg_users,
                seg_labels,
                r,
                k,
            )
        }),
        high_users: p
            .scores
            .iter()
            .filter(|&&x| band(x, p.params.bands) == "high")
            .count(),
        segment_of,
        hists,
    }
}

/// [`segment_risk`] over the users of a profile in segments (`labels`, in the profile's user
/// order), with the revenue at risk when the profile has revenue.
pub fn profile_risk(
    p: &Prediction,
    profile: &crate::features::Profile,
    labels: &[usize],
    k: usize,
) -> SegmentRisk {
    let revenue: Option<Vec<f64>> = profile
        .column("revenue")
        .ok()
        .map(|c| c.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect());
    segment_risk(p, &profile.user_ids(), labels, k, revenue.as_deref())
}

/// The users in the high band as a table (user_id, score, band, persona), in the model's user order:
/// what the app's "Export high-risk users" writes. `segment_of` is each scored user's segment (see
/// `segment_risk`); `names` the personas by segment. A user outside the segmentation gets no persona.
pub fn high_band_table(
    users: &[String],
    scores: &[f64],
    bands: (f64, f64),
    segment_of: Option<&[Option<usize>]>,
    names: &[String],
) -> PolarsResult<DataFrame> {
    let rows: Vec<usize> = (0..users.len().min(scores.len()))
        .filter(|&i| band(scores[i], bands) == "high")
        .collect();
    let persona: Vec<String> = rows
        .iter()
        .map(|&i| {
            segment_of
                .and_then(|s| s.get(i).copied().flatten())
                .and_then(|s| names.get(s).cloned())
                .unwrap_or_default()
        })
        .collect();
    df!(
        "user_id" => rows.iter().map(|&i| users[i].as_str()).collect::<Vec<_>>(),
        "score" => rows.iter().map(|&i| scores[i]).collect::<Vec<_>>(),
        "band" => vec!["high"; rows.len()],
        "persona" => persona,
    )
}

/// Scores summarised per segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentScore {
    pub segment: usize,
    /// Users of the segment that have a score (known before the cutoff).
    pub users: usize,
    pub mean: f64,
    /// Share of those users in the high band.
    pub high_share: f64,
}

/// Mean score and share of high-band users per segment, matching scored users to the segmentation's
/// users by id (users first seen after the cutoff have no score and are not counted).
pub fn by_segment(
    users: &[String],
    scores: &[f64],
    bands: (f64, f64),
    seg_users: &[String],
    seg_labels: &[usize],
    k: usize,
) -> Vec<SegmentScore> {
    let mut acc = vec![(0usize, 0.0f64, 0usize); k];
    for (_, s, x) in scored_members(users, scores, seg_users, seg_labels) {
        if let Some(a) = acc.get_mut(s) {
            a.0 += 1;
            a.1 += x;
            a.2 += usize::from(band(x, bands) == "high");
        }
    }
    acc.into_iter()
        .enumerate()
        .map(|(segment, (n, sum, high))| SegmentScore {
            segment,
            users: n,
            mean: if n > 0 { sum / n as f64 } else { f64::NAN },
            high_share: if n > 0 { high as f64 / n as f64 } else { 0.0 },
        })
        .collect()
}

/// The segmentation's users that have a score, in the segmentation's order: (index among
/// `seg_users`, segment, score), matched by user id.
fn scored_members<'a>(
    users: &'a [String],
    scores: &'a [f64],
    seg_users: &'a [String],
    seg_labels: &'a [usize],
) -> impl Iterator<Item = (usize, usize, f64)> + 'a {
    let score_of: std::collections::HashMap<&str, f64> = users
        .iter()
        .map(String::as_str)
        .zip(scores.iter().copied())
        .collect();
    seg_users
        .iter()
        .zip(seg_labels)
        .enumerate()
        .filter_map(move |(i, (u, &s))| Some((i, s, *score_of.get(u.as_str())?)))
}

/// Per segment, the revenue of its scored users and of those in the high band (`seg_revenue` is
/// each segmentation user's revenue, a missing one as NaN: counted as 0). Sums in the
/// segmentation's user order.
pub fn revenue_at_risk(
    users: &[String],
    scores: &[f64],
    bands: (f64, f64),
    seg_users: &[String],
    seg_labels: &[usize],
    seg_revenue: &[f64],
    k: usize,
) -> Vec<AtRisk> {
    let mut out = vec![
        AtRisk {
            revenue: 0.0,
            high: 0.0
        };
        k
    ];
    for (i, s, x) in scored_members(users, scores, seg_users, seg_labels) {
        let r = seg_revenue
            .get(i)
            .copied()
            .filter(|r| r.is_finite())
            .unwrap_or(0.0);
        if let Some(a) = out.get_mut(s) {
            a.revenue += r;
            if band(x, bands) == "high" {
                a.high += r;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revenue_at_risk_sums_the_high_bands_revenue_per_segment() {
        let users: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let seg_users: Vec<String> = ["d", "c", "x", "a", "b"].map(String::from).to_vec();
        let r = revenue_at_risk(
            &users,
            &[0.9, 0.2, 0.7, 0.4],
            (0.3, 0.7),
            &seg_users,
            &[0, 1, 1, 1, 0],
            &[5.0, 30.0, 1000.0, 100.0, f64::NAN],
            2,
        );
        // Segment 0: d (0.4, 5) and b (0.2, no revenue): nothing high.
        assert_eq!(
            r[0],
            AtRisk {
                revenue: 5.0,
                high: 0.0
            }
        );
        // Segment 1: c (0.7, high from its threshold, 30) and a (0.9, 100); x has no score.
        assert_eq!(
            r[1],
            AtRisk {
                revenue: 130.0,
                high: 130.0
            }
        );
        assert_eq!(r[1].share(), Some(1.0));
        assert_eq!(
            AtRisk {
                revenue: 0.0,
                high: 0.0
            }
            .share(),
            None
        );
    }

    #[test]
    fn the_high_band_table_keeps_order_ids_and_personas() {
        let users: Vec<String> = ["007", "b", "=c", "d"].map(String::from).to_vec();
        let names = vec!["Loyal".to_string(), "Lapsed".to_string()];
        let seg = [Some(1), Some(0), None, Some(0)];
        let t = high_band_table(
            &users,
            &[0.9, 0.2, 0.7, 0.75],
            (0.3, 0.7),
            Some(&seg),
            &names,
        )
        .unwrap();
        let col = |c: &str| -> Vec<String> {
            let s = t.column(c).unwrap().cast(&DataType::String).unwrap();
            s.str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap_or("").to_string())
                .collect()
        };
        // The band starts at its threshold (0.7 is high); ids stay text ("007").
        assert_eq!(col("user_id"), ["007", "=c", "d"]);
        assert_eq!(col("persona"), ["Lapsed", "", "Loyal"]);
        assert_eq!(col("band"), ["high", "high", "high"]);
        let s: Vec<f64> = t
            .column("score")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(s, [0.9, 0.7, 0.75]);
        let none = high_band_table(&users, &[0.1; 4], (0.3, 0.7), None, &names).unwrap();
        assert_eq!(none.height(), 0);
    }

    #[test]
    fn scores_are_summarised_per_segment_by_user_id() {
        let users: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let seg_users: Vec<String> = ["c", "x", "a", "b"].map(String::from).to_vec();
        let s = by_segment(
            &users,
            &[0.9, 0.2, 0.5],
            (0.3, 0.7),
            &seg_users,
            &[1, 1, 0, 1],
            2,
        );
        assert_eq!(s[0].users, 1);
        assert_eq!(s[0].mean, 0.9);
        assert_eq!(s[0].high_share, 1.0);
        // Segment 1: c (0.5) and b (0.2); x has no score.
        assert_eq!(s[1].users, 2);
        assert!((s[1].mean - 0.35).abs() < 1e-12);
        assert_eq!(s[1].high_share, 0.0);
    }

    #[test]
    fn splits_are_stratified_and_seeded() {
        let y: Vec<bool> = (0..100).map(|i| i % 5 == 0).collect();
        let t = split(&y, 0.25, 3);
        assert_eq!(t.iter().filter(|&&v| v).count(), 25);
        assert_eq!((0..100).filter(|&i| t[i] && y[i]).count(), 5);
        assert_eq!(t, split(&y, 0.25, 3));
        assert_ne!(t, split(&y, 0.25, 4));
        let g = stratified(&y, 4, 0);
        for k in 0..4 {
            assert_eq!((0..100).filter(|&i| g[i] == k && y[i]).count(), 5);
        }
        assert_eq!(band(0.2, (0.3, 0.7)), "low");
        assert_eq!(band(0.3, (0.3, 0.7)), "medium");
        assert_eq!(band(0.7, (0.3, 0.7)), "high");
    }
}
