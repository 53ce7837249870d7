//! The k sweep behind the elbow and silhouette-by-k charts: inertia and mean silhouette for each k in a
//! range, the k with the best silhouette (recommended), and the elbow of the inertia curve beside it.
//! Hierarchical methods build the tree once and cut it at every k.

use serde::{Deserialize, Serialize};

use super::points::{Points, centroids_of, check_k, inertia, validate};
use super::segment::{SegmentParams, segment};
use super::silhouette::{SilhouetteOptions, silhouette};
use crate::error::ClusterError;
use crate::job::Job;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub k: usize,
    pub inertia: f64,
    pub silhouette: f64,
}

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
}

pub fn sweep(
    p: &Points,
    base: &SegmentParams,
    k_min: usize,
    k_max: usize,
    sil: &SilhouetteOptions,
    job: &Job,
) -> Result<Sweep, ClusterError> {
    validate(p, None, None)?;
    if k_min > k_max {
        return Err(ClusterError::InvalidParameter {
            parameter: "k range",
            message: format!("k-min {k_min} is larger than k-max {k_max}"),
        });
    }
    check_k(p, k_min)?;
    check_k(p, k_max)?;
    let mut points = Vec::new();
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
        points.push(SweepPoint {
            k,
            inertia,
            silhouette: s.mean,
        });
    }
    let recommended_k = points
        .iter()
        .fold(None::<&SweepPoint>, |best, pt| match best {
            Some(b) if b.silhouette >= pt.silhouette => Some(b),
            _ => Some(pt),
        })
        .map(|p| p.k)
        .unwrap_or(k_min);
    Ok(Sweep {
        elbow_k: elbow(&points),
        points,
        recommended_k,
        silhouette_sample_size: sample_size,
    })
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
