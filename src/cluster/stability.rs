//! Is a segmentation real, or an accident of this sample? Cluster seeded subsamples of the users again
//! (80% each, drawn without replacement) and compare with the segmentation on the users they share:
//! the adjusted Rand index per resample (the whole partition), and per segment the best Jaccard
//! overlap with any resampled cluster (Hennig's `clusterboot` measure: how often its users stay
//! together). Values near 1 mean the same segments come back; under about 0.6 a segment is not to be
//! trusted.

use serde::{Deserialize, Serialize};

use super::compare::adjusted_rand_index;
use super::points::{Points, sample_rows};
use super::segment::{SegmentParams, segment};
use crate::error::ClusterError;
use crate::job::Job;

/// Resamples by default: enough to tell stable from unstable, five times one clustering's cost.
pub const DEFAULT_RESAMPLES: usize = 5;
/// Share of the users in each resample.
pub const RESAMPLE_FRACTION: f64 = 0.8;
/// Below this a partition or a segment is called unstable.
pub const STABLE_ENOUGH: f64 = 0.6;

/// How stable one segmentation (one k) is over the resamples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    pub k: usize,
    /// Mean adjusted Rand index between the segmentation and each resample's, on the shared users.
    pub ari: f64,
    /// Per resample, in order.
    pub ari_per_resample: Vec<f64>,
    /// Per segment (by id): the mean over resamples of its best Jaccard overlap with a resampled
    /// cluster (0 for a segment with no user in a resample).
    pub per_segment: Vec<f64>,
    pub resamples: usize,
    pub seed: u64,
}

/// One resample against the reference: the ARI on the shared users, and each reference segment's best
/// Jaccard overlap with a resampled cluster. `rows[i]` is the reference user of resampled user `i`.
pub fn compare_resample(
    reference: &[usize],
    k: usize,
    rows: &[usize],
    resampled: &[usize],
) -> (f64, Vec<f64>) {
    let shared: Vec<usize> = rows.iter().map(|&r| reference[r]).collect();
    let ari = adjusted_rand_index(&shared, resampled);
    let k_new = resampled.iter().max().map_or(0, |m| m + 1);
    // Contingency counts: reference segment x resampled cluster, and the sizes on the shared users.
    let mut both = vec![0usize; k * k_new];
    let mut ref_size = vec![0usize; k];
    let mut new_size = vec![0usize; k_new];
    for (&a, &b) in shared.iter().zip(resampled) {
        both[a * k_new + b] += 1;
        ref_size[a] += 1;
        new_size[b] += 1;
    }
    let jaccard = (0..k)
        .map(|a| {
            (0..k_new)
                .map(|b| {
                    let inter = both[a * k_new + b];
                    let union = ref_size[a] + new_size[b] - inter;
                    if union == 0 {
                        0.0
                    } else {
                        inter as f64 / union as f64
                    }
                })
                .fold(0.0, f64::max)
        })
        .collect();
    (ari, jaccard)
}

/// Summarise the resamples of one k (means in resample order: the same on every run).
pub fn summarise(k: usize, per_resample: &[(f64, Vec<f64>)], seed: u64) -> Stability {
    let r = per_resample.len().max(1) as f64;
    let ari_per_resample: Vec<f64> = per_resample.iter().map(|(a, _)| *a).collect();
    let mut per_segment = vec![0.0; k];
    for (_, j) in per_resample {
        for (s, v) in per_segment.iter_mut().zip(j) {
            *s += v;
        }
    }
    Stability {
        k,
        ari: ari_per_resample.iter().sum::<f64>() / r,
        ari_per_resample,
        per_segment: per_segment.into_iter().map(|s| s / r).collect(),
        resamples: per_resample.len(),
        seed,
    }
}

/// The seed of resample `r`: apart from the clustering's own seed, so a resample never repeats the
/// reference's random choices.
fn resample_seed(seed: u64, r: usize) -> u64 {
    seed ^ 0x5EED_57AB_1E00_0000 ^ (r as u64 + 1)
}

/// Stability of the reference labellings `references` (one per k, over all users of `p`), each
/// compared with `resamples` re-clusterings of seeded 80% subsamples by `base`'s method. Hierarchical
/// methods build one tree per resample and cut it at every k.
pub fn stability(
    p: &Points,
    base: &SegmentParams,
    references: &[(usize, &[usize])],
    resamples: usize,
    job: &Job,
) -> Result<Vec<Stability>, ClusterError> {
    let size = ((p.n as f64 * RESAMPLE_FRACTION).round() as usize).max(2);
    let mut per_k: Vec<Vec<(f64, Vec<f64>)>> = vec![Vec::new(); references.len()];
    for r in 0..resamples {
        job.check()?;
        let seed = resample_seed(base.seed, r);
        let rows = sample_rows(p.n, size, seed);
        let data = p.gather(&rows);
        let sub = Points::new(&data, rows.len(), p.d);
        let params = |k: usize| SegmentParams {
            k,
            seed,
            ..base.clone()
        };
        // One tree per resample when the method builds one and it covers every sampled user.
        let tree = match base.method.linkage() {
            Some(_) => {
                let k0 = references.iter().map(|(k, _)| *k).min().unwrap_or(2);
                let s = segment(&sub, &params(k0.min(sub.n)), job)?;
                s.dendrogram.filter(|_| s.fitted_on.is_none())
            }
            None => None,
        };
        for (i, &(k, reference)) in references.iter().enumerate() {
            if k > sub.n {
                continue;
            }
            let labels = match &tree {
                Some(d) => d.cut_k(k),
                None => segment(&sub, &params(k), job)?.labels,
            };
            per_k[i].push(compare_resample(reference, k, &rows, &labels));
        }
    }
    Ok(references
        .iter()
        .zip(per_k)
        .map(|(&(k, _), runs)| summarise(k, &runs, base.seed))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Method;

    /// Three tight, far-apart blobs: k = 3 comes back every time; k = 5 cuts blobs arbitrarily.
    fn blobs() -> (Vec<f64>, usize) {
        let mut data = Vec::new();
        let mut state = 7u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        for c in 0..3 {
            for _ in 0..60 {
                data.push(c as f64 * 20.0 + noise());
                data.push(-(c as f64) * 20.0 + noise());
            }
        }
        (data, 180)
    }

    #[test]
    fn planted_groups_are_stable_and_arbitrary_cuts_are_not() {
        let (data, n) = blobs();
        let p = Points::new(&data, n, 2);
        for method in [Method::KMeans, Method::Ward] {
            let base = SegmentParams::new(method, 3);
            let job = Job::silent();
            let l3 = segment(
                &p,
                &SegmentParams {
                    k: 3,
                    ..base.clone()
                },
                &job,
            )
            .unwrap()
            .labels;
            let l5 = segment(
                &p,
                &SegmentParams {
                    k: 5,
                    ..base.clone()
                },
                &job,
            )
            .unwrap()
            .labels;
            let s = stability(&p, &base, &[(3, &l3), (5, &l5)], 5, &job).unwrap();
            assert_eq!(s[0].resamples, 5);
            assert!(s[0].ari > 0.99, "{method:?}: {:?}", s[0]);
            assert!(s[0].per_segment.iter().all(|&j| j > 0.99), "{:?}", s[0]);
            assert!(s[1].ari < s[0].ari - 0.05, "{method:?}: {:?}", s[1]);
            // Seeded: the same figures again.
            let again = stability(&p, &base, &[(3, &l3), (5, &l5)], 5, &job).unwrap();
            assert_eq!(s, again);
        }
    }
}
