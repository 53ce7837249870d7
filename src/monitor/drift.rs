//! Segment drift: the deployed segmentation (a rule set) applied to a new export, against a newer
//! one (a second rule set, or a fresh clustering of the new export with the deployed settings).
//! Reports the transition matrix (users of old segment a now in new segment b), where each old
//! segment's users mostly went, the share of users who left it, the centroid shift per feature in raw
//! units and in the deployed scale's units, the deployed model's mean silhouette on the new data, and
//! a recommendation.

use serde::Serialize;

use crate::cluster::{self, Points, SegmentParams, SilhouetteOptions};
use crate::data::Loaded;
use crate::error::MonitorError;
use crate::features::{FeatureChoice, TransformSpec};
use crate::job::Job;
use crate::pipeline::{self, RunSettings};
use crate::ruleset::{self, RuleSet};

/// Below this mean silhouette the deployed segments no longer separate the users (Kaufman and
/// Rousseeuw: under 0.25 there is no substantial structure).
pub const SILHOUETTE_FLOOR: f64 = 0.25;
/// More users than this leaving their segment's majority destination calls for a re-clustering.
pub const CHANGED_CEILING: f64 = 0.2;

#[derive(Debug, Clone, Serialize)]
pub struct Shift {
    pub feature: String,
    /// Old segment's centroid, new segment's centroid, both in raw units.
    pub old: f64,
    pub new: f64,
    /// (new − old) divided by the deployed transform's scale of the feature.
    pub in_scale_units: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentFlow {
    pub old_segment: usize,
    pub old_persona: String,
    pub users: usize,
    /// The new segment holding most of its users, and its persona.
    pub to: Option<usize>,
    pub to_persona: String,
    pub stayed_share: f64,
    pub shifts: Vec<Shift>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub users: usize,
    pub old_k: usize,
    pub new_k: usize,
    /// What the new segmentation is: "rule set NAME" or "re-clustered with the deployed settings".
    pub new_source: String,
    /// counts[a][b]: users in old segment a and new segment b.
    pub transitions: Vec<Vec<usize>>,
    pub flows: Vec<SegmentFlow>,
    /// Users not in the new segment where most of their old segment went.
    pub changed_share: f64,
    /// Mean silhouette of the deployed assignment on the new data, in the deployed clustering space.
    pub deployed_silhouette: f64,
    pub recommendation: String,
}

/// The newer segmentation: labels, segment count, each segment's raw centroid by feature id, where it
/// came from, and its persona names.
struct NewSide {
    labels: Vec<usize>,
    k: usize,
    raw: Vec<Vec<(String, f64)>>,
    source: String,
    names: Vec<String>,
}

/// The deployed feature settings as a spec to refit on new data (same features, transforms, weights).
fn spec_of(rs: &RuleSet) -> TransformSpec {
    TransformSpec {
        features: rs
            .features
            .transform
            .features
            .iter()
            .map(|f| FeatureChoice {
                id: f.id.clone(),
                weight: f.weight,
                log1p: Some(f.log1p),
                missing: Some(f.missing),
            })
            .collect(),
        scaler: rs.features.transform.scaler,
    }
}

/// Each centroid in raw units, by feature id.
fn raw_centroids<'a>(
    features: &[crate::features::FittedFeature],
    centroids: impl Iterator<Item = &'a [f64]>,
) -> Vec<Vec<(String, f64)>> {
    centroids
        .map(|c| {
            features
                .iter()
                .zip(c)
                .map(|(f, v)| (f.id.clone(), f.raw_of(*v)))
                .collect()
        })
        .collect()
}

pub fn drift(
    old: &RuleSet,
    new: Option<&RuleSet>,
    loaded: &Loaded,
    job: &Job,
) -> Result<Drift, MonitorError> {
    let applied = ruleset::apply(old, loaded).map_err(|e| MonitorError::Invalid(e.to_string()))?;
    let n = applied.labels.len();
    if n < 2 {
        return Err(MonitorError::Invalid(format!(
            "drift needs at least 2 users, the export has {n}"
        )));
    }
    let old_k = old.segments.k;
    // The new labels, and each new segment's raw centroid per feature id.
    let NewSide {
        labels: new_labels,
        k: new_k,
        raw: new_raw,
        source: new_source,
        names: new_names,
    } = match new {
        Some(rs) => {
            let a = ruleset::apply(rs, loaded).map_err(|e| MonitorError::Invalid(e.to_string()))?;
            if a.profile.user_ids() != applied.profile.user_ids() {
                return Err(MonitorError::Invalid(
                    "the two rule sets see different users in this export".into(),
                ));
            }
            let raw = raw_centroids(
                &rs.features.transform.features,
                rs.segments.centroids.iter().map(Vec::as_slice),
            );
            let names = (0..rs.segments.k).map(|s| rs.segment_name(s)).collect();
            NewSide {
                labels: a.labels,
                k: rs.segments.k,
                raw,
                source: "the second rule set".into(),
                names,
            }
        }
        None => {
            let mut params = SegmentParams::new(old.segments.method, old_k);
            params.seed = old.segments.seed;
            let settings = RunSettings {
                params,
                silhouette: SilhouetteOptions::default(),
            };
            let run = pipeline::cluster_profile(&applied.profile, &spec_of(old), &settings, job)
                .map_err(|e| MonitorError::Invalid(e.to_string()))?;
            let raw = raw_centroids(
                &run.fitted.features,
                (0..run.segmentation.k).map(|s| run.segmentation.centroid(s)),
            );
            let names = run.suggested.iter().map(|p| p.name.clone()).collect();
            NewSide {
                labels: run.segmentation.labels.clone(),
                k: run.segmentation.k,
                raw,
                source: "re-clustered with the deployed settings".into(),
                names,
            }
        }
    };
    let mut transitions = vec![vec![0usize; new_k]; old_k];
    for (&a, &b) in applied.labels.iter().zip(&new_labels) {
        transitions[a][b] += 1;
    }
    let flow = pipeline::segment_flow(&applied.labels, old_k, &new_labels, new_k);
    let changed = applied
        .labels
        .iter()
        .zip(&new_labels)
        .filter(|(a, b)| flow[**a] != Some(**b))
        .count();
    let flows = (0..old_k)
        .map(|a| {
            let users: usize = transitions[a].iter().sum();
            let to = flow[a];
            let shifts = match to {
                Some(b) => old
                    .features
                    .transform
                    .features
                    .iter()
                    .zip(&old.segments.centroids[a])
                    .filter_map(|(f, v)| {
                        let new = new_raw[b].iter().find(|(id, _)| *id == f.id)?.1;
                        let o = f.raw_of(*v);
                        let t = |x: f64| if f.log1p { x.max(0.0).ln_1p() } else { x };
                        Some(Shift {
                            feature: f.id.clone(),
                            old: o,
                            new,
                            in_scale_units: (t(new) - t(o)) / f.scale,
                        })
                    })
                    .collect(),
                None => vec![],
            };
            SegmentFlow {
                old_segment: a,
                old_persona: old.segment_name(a),
                users,
                to,
                to_persona: to.map(|b| new_names[b].clone()).unwrap_or_default(),
                stayed_share: match to {
                    Some(b) if users > 0 => transitions[a][b] as f64 / users as f64,
                    _ => 0.0,
                },
                shifts,
            }
        })
        .collect();
    let sil = cluster::silhouette(
        &Points::of(&applied.matrix),
        &applied.labels,
        old_k,
        &SilhouetteOptions::default(),
        job,
    )
    .map_err(|e| MonitorError::Invalid(e.to_string()))?;
    let changed_share = changed as f64 / n as f64;
    let mut why = Vec::new();
    if sil.mean < SILHOUETTE_FLOOR {
        why.push(format!(
            "the deployed segments' mean silhouette on this data is {:.3}, under {SILHOUETTE_FLOOR}",
            sil.mean
        ));
    }
    if changed_share > CHANGED_CEILING {
        why.push(format!(
            "{:.1}% of users are no longer with most of their segment (over {:.0}%)",
            100.0 * changed_share,
            100.0 * CHANGED_CEILING
        ));
    }
    let recommendation = if why.is_empty() {
        format!(
            "keep the deployed model: mean silhouette {:.3}, {:.1}% of users changed segment",
            sil.mean,
            100.0 * changed_share
        )
    } else {
        format!("re-cluster and redeploy: {}", why.join("; "))
    };
    Ok(Drift {
        users: n,
        old_k,
        new_k,
        new_source,
        transitions,
        flows,
        changed_share,
        deployed_silhouette: sil.mean,
        recommendation,
    })
}
