//! The k sweep behind the elbow and silhouette-by-k charts: inertia, mean silhouette, smallest segment
//! and stability over resamples for each k in a range, the elbow of the inertia curve, and a
//! recommended k that weighs them all (see [`recommend`]). Hierarchical methods build the tree once and
//! cut it at every k.

use serde::{Deserialize, Serialize};

use super::points::{Points, centroids_of, check_k_scored, inertia, validate};
use super::segment::{SegmentParams, segment};
use super::silhouette::{SilhouetteOptions, silhouette};
use crate::error::ClusterError;
use crate::job::Job;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub k: usize,
    pub inertia: f64,
    pub silhouette: f64,
    /// The smallest segment's share of the users.
    #[serde(default)]
    pub min_share: f64,
    /// Mean adjusted Rand index against re-clusterings of 80% subsamples (None: not measured).
    #[serde(default)]
    pub stability: Option<f64>,
}

/// The smallest share of a segment the recommendation accepts: a persona of under 3% of the users is
/// rarely worth its own content.
pub const MIN_SEGMENT_SHARE: f64 = 0.03;
/// Mean silhouettes this close to the best count as equally good (their differences are noise).
pub const SILHOUETTE_TIE: f64 = 0.02;
/// Below this best mean silhouette the data has weak cluster structure.
pub const WEAK_STRUCTURE: f64 = 0.25;
/// What weak structure means for the analyst (CLI and app).
pub const WEAK_STRUCTURE_NOTE: &str = "weak structure: the best mean silhouette is under 0.25, so the \
    users do not fall into well-separated groups. Segments are then regions of a continuum: useful to \
    target content, but their borders are arbitrary; check their stability before naming personas.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub points: Vec<SweepPoint>,
    /// The k with the highest mean silhouette (the smaller k on a tie).
    pub recommended_k: usize,
    /// The k at the elbow of the inertia curve (largest distance below the chord), if the range has
    /// at least three values.
    pub elbow_k: Option<usize>,
    /// Users the silhouette was computed on (all users when exact).
    pub silhouette_sample_size: usize,
    /// Why the recommended k, in plain words (one sentence per consideration).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The best mean silhouette is under [`WEAK_STRUCTURE`]: segments are regions of a continuum.
    #[serde(default)]
    pub weak_structure: bool,
    /// Resamples behind `stability` (0: not measured), with their seed.
    #[serde(default)]
    pub resamples: usize,
}

pub fn sweep(
    p: &Points,
    base: &SegmentParams,
    k_min: usize,
    k_max: usize,
    sil: &SilhouetteOptions,
    resamples: usize,
    job: &Job,
) -> Result<Sweep, ClusterError> {
    validate(p, None, None)?;
    if k_min > k_max {
        return Err(ClusterError::InvalidParameter {
            parameter: "k range",
            message: format!("k-min {k_min} is larger than k-max {k_max}"),
        });
    }
    check_k_scored(p, k_min)?;
    check_k_scored(p, k_max)?;
    let mut points = Vec::new();
    let mut all_labels: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut sample_size = p.n;
    let total = (k_max - k_min + 1) as f32;
    // Hierarchical: one tree, cut at every k.
    let tree = match base.method.linkage() {
        Some(_) => Some(segment(
            p,
            &SegmentParams {
                k: k_min,
                ..base.clone()
            },
            job,
        )?),
        None => None,
    };
    for (step, k) in (k_min..=k_max).enumerate() {
        job.check()?;
        job.progress("sweep", step as f32 / total);
        let (labels, inertia) = match &tree {
            Some(seg) if seg.fitted_on.is_none() => {
                let d = seg
                    .dendrogram
                    .as_ref()
                    .expect("hierarchical result has a tree");
                let labels = d.cut_k(k);
                let (c, _) = centroids_of(p, &labels, k);
                let i = inertia(p, &labels, &c);
                (labels, i)
            }
            _ => {
                let seg = segment(p, &SegmentParams { k, ..base.clone() }, job)?;
                (seg.labels, seg.inertia)
            }
        };
        let s = silhouette(p, &labels, k, sil, job)?;
        sample_size = s.sample_size;
        let mut sizes = vec![0usize; k];
        for &l in &labels {
            sizes[l] += 1;
        }
        points.push(SweepPoint {
            k,
            inertia,
            silhouette: s.mean,
            min_share: sizes.iter().copied().min().unwrap_or(0) as f64 / p.n.max(1) as f64,
            stability: None,
        });
        all_labels.push((k, labels));
    }
    if resamples > 0 {
        job.progress("stability", 0.0);
        let refs: Vec<(usize, &[usize])> =
            all_labels.iter().map(|(k, l)| (*k, l.as_slice())).collect();
        let st = super::stability::stability(p, base, &refs, resamples, job)?;
        for (pt, s) in points.iter_mut().zip(st) {
            pt.stability = (s.resamples > 0).then_some(s.ari);
        }
    }
    let elbow_k = elbow(&points);
    let (recommended_k, reasons) = recommend(&points, elbow_k);
    let best = points.iter().map(|p| p.silhouette).fold(f64::MIN, f64::max);
    Ok(Sweep {
        elbow_k,
        recommended_k: recommended_k.unwrap_or(k_min),
        points,
        silhouette_sample_size: sample_size,
        reasons,
        weak_structure: best < WEAK_STRUCTURE,
        resamples,
    })
}

/// The point with the highest mean silhouette (ties: the first, the smaller k).
fn best_silhouette<'a>(pts: impl Iterator<Item = &'a SweepPoint>) -> Option<&'a SweepPoint> {
    pts.fold(None, |b: Option<&SweepPoint>, p| match b {
        Some(b) if b.silhouette >= p.silhouette => Some(b),
        _ => Some(p),
    })
}

/// The recommended k and why. Not the best silhouette alone (on a planted six-group sample, Ward's
/// k = 2 once scored 0.428 against 0.425 at k = 7; the silhouette is known to favour two groups):
/// 1. only k whose smallest segment holds at least 3% of the users, and (when measured) whose
///    stability is at least 0.6, are candidates (all k when none is);
/// 2. the candidate with the best mean silhouette (ties: the smaller k);
/// 3. but when that is k = 2 and a larger candidate is within 0.02 of its silhouette (a difference
///    that is noise), the best of those larger ones: two segments only split the users in two.
pub fn recommend(points: &[SweepPoint], elbow_k: Option<usize>) -> (Option<usize>, Vec<String>) {
    let mut reasons = Vec::new();
    let ok = |p: &&SweepPoint| {
        p.min_share >= MIN_SEGMENT_SHARE
            && p.stability
                .is_none_or(|s| s >= super::stability::STABLE_ENOUGH)
    };
    let mut candidates: Vec<&SweepPoint> = points.iter().filter(ok).collect();
    let dropped: Vec<String> = points
        .iter()
        .filter(|p| !ok(p))
        .map(|p| p.k.to_string())
        .collect();
    if candidates.is_empty() {
        candidates = points.iter().collect();
        reasons.push(
            "every k has a segment under 3% of the users or an unstable segmentation: all are \
             considered"
                .into(),
        );
    } else if !dropped.is_empty() {
        reasons.push(format!(
            "k = {} left out: a segment under 3% of the users, or unstable over resamples \
             (adjusted Rand index under 0.6)",
            dropped.join(", ")
        ));
    }
    let Some(best) = best_silhouette(candidates.iter().copied()) else {
        return (None, reasons);
    };
    let larger = best_silhouette(
        candidates
            .iter()
            .copied()
            .filter(|p| p.k > 2 && p.silhouette >= best.silhouette - SILHOUETTE_TIE),
    );
    let chosen = match larger {
        Some(l) if best.k == 2 => {
            reasons.push(format!(
                "k = 2 has the best mean silhouette ({:.3}) but only splits the users in two; \
                 k = {} is within {SILHOUETTE_TIE} of it",
                best.silhouette, l.k
            ));
            l
        }
        _ => best,
    };
    reasons.push(format!(
        "k = {}: mean silhouette {:.3}{}",
        chosen.k,
        chosen.silhouette,
        if chosen.k == best.k {
            " (the best)".to_string()
        } else {
            format!(
                ", within {SILHOUETTE_TIE} of the best ({:.3} at k = {})",
                best.silhouette, best.k
            )
        }
    ));
    if let Some(e) = elbow_k {
        reasons.push(if e == chosen.k {
            "it is at the elbow of the inertia curve".to_string()
        } else {
            format!("the elbow of the inertia curve is at k = {e}")
        });
    }
    if let Some(s) = chosen.stability {
        reasons.push(format!(
            "stable over resamples: adjusted Rand index {s:.2} (1 = the same segments every time)"
        ));
    }
    reasons.push(format!(
        "its smallest segment holds {:.1}% of the users",
        chosen.min_share * 100.0
    ));
    (Some(chosen.k), reasons)
}

/// The elbow: after scaling k and inertia to 0..1, the point farthest below the straight line from the
/// first point to the last (the "kneedle" idea).
pub fn elbow(points: &[SweepPoint]) -> Option<usize> {
    if points.len() < 3 {
        return None;
    }
    let (k0, k1) = (points[0].k as f64, points[points.len() - 1].k as f64);
    let (i0, i1) = (points[0].inertia, points[points.len() - 1].inertia);
    if i0 <= i1 {
        return None;
    }
    points
        .iter()
        .map(|pt| {
            let x = (pt.k as f64 - k0) / (k1 - k0);
            let y = (pt.inertia - i1) / (i0 - i1);
            // The chord runs from (0, 1) to (1, 0): distance below it is 1 - x - y.
            (pt.k, 1.0 - x - y)
        })
        .filter(|(_, gap)| *gap > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(k: usize, silhouette: f64, min_share: f64, stability: Option<f64>) -> SweepPoint {
        SweepPoint {
            k,
            inertia: 100.0 / k as f64,
            silhouette,
            min_share,
            stability,
        }
    }

    #[test]
    fn the_recommendation_weighs_share_stability_and_the_two_group_bias() {
        // k = 2 best by a hair: a larger k within 0.02 wins, and the reasons say so.
        let pts = [
            pt(2, 0.428, 0.3, Some(0.97)),
            pt(3, 0.30, 0.2, Some(0.9)),
            pt(7, 0.425, 0.08, Some(0.95)),
        ];
        let (k, why) = recommend(&pts, Some(3));
        assert_eq!(k, Some(7));
        assert!(
            why.iter()
                .any(|r| r.contains("only splits the users in two")),
            "{why:?}"
        );
        // A clear k = 2 stays.
        let pts = [
            pt(2, 0.6, 0.4, None),
            pt(3, 0.4, 0.2, None),
            pt(4, 0.45, 0.1, None),
        ];
        assert_eq!(recommend(&pts, None).0, Some(2));
        // A tiny segment or an unstable partition is left out, however good its silhouette.
        let pts = [
            pt(3, 0.35, 0.2, Some(0.9)),
            pt(4, 0.50, 0.01, Some(0.9)),
            pt(5, 0.55, 0.1, Some(0.4)),
        ];
        let (k, why) = recommend(&pts, None);
        assert_eq!(k, Some(3));
        assert!(why[0].contains("k = 4, 5 left out"), "{why:?}");
        // Nothing passes: all are considered rather than none recommended.
        let pts = [pt(3, 0.35, 0.01, None), pt(4, 0.5, 0.02, None)];
        assert_eq!(recommend(&pts, None).0, Some(4));
    }
}
