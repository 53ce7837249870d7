//! Silhouette values per user and their mean, Euclidean, defined as scikit-learn's
//! `silhouette_samples`: a = mean distance to the other members of the own cluster, b = the smallest
//! mean distance to another cluster, s = (b - a) / max(a, b), and 0 for a user alone in its cluster.
//!
//! Exact up to `exact_limit` users: the rows are sorted by cluster and stored column-wise, so the distance
//! sums to each cluster are tight vectorisable loops over contiguous memory; users are split across threads
//! and memory stays linear. Above the limit, the values are those of a stratified sample per cluster
//! (every cluster keeps its share, and at least a few members), computed within the sample.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::points::{Points, sample_rows};
use crate::error::ClusterError;
use crate::job::Job;

/// Users scored exactly by default; above this, a stratified sample of this size.
pub const DEFAULT_EXACT_LIMIT: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilhouetteOptions {
    pub exact_limit: usize,
    /// Sample size when above the limit (default: the limit).
    pub sample_size: Option<usize>,
    pub seed: u64,
}

impl Default for SilhouetteOptions {
    fn default() -> Self {
        SilhouetteOptions {
            exact_limit: DEFAULT_EXACT_LIMIT,
            sample_size: None,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silhouette {
    /// One value per user; `None` for users outside the sample.
    pub values: Vec<Option<f64>>,
    pub mean: f64,
    /// Mean per cluster (over the scored users), NaN for a cluster with no scored user.
    pub cluster_means: Vec<f64>,
    /// Users scored: the user count when exact.
    pub sample_size: usize,
    pub exact: bool,
}

/// Silhouette of a labelling (labels in 0..k).
pub fn silhouette(
    p: &Points,
    labels: &[usize],
    k: usize,
    opts: &SilhouetteOptions,
    job: &Job,
) -> Result<Silhouette, ClusterError> {
    assert_eq!(labels.len(), p.n);
    let present = {
        let mut seen = vec![false; k];
        labels.iter().for_each(|&l| seen[l] = true);
        seen.iter().filter(|&&s| s).count()
    };
    if present < 2 || present >= p.n {
        return Err(ClusterError::SilhouetteLabels {
            clusters: present,
            users: p.n,
        });
    }
    let rows: Vec<usize> = if p.n <= opts.exact_limit {
        (0..p.n).collect()
    } else {
        stratified(
            labels,
            k,
            opts.sample_size.unwrap_or(opts.exact_limit),
            opts.seed,
        )
    };
    let exact = rows.len() == p.n;
    let scored = samples(p, labels, k, &rows, job)?;
    let mut values = vec![None; p.n];
    for (&r, &s) in rows.iter().zip(&scored) {
        values[r] = Some(s);
    }
    let mean = scored.iter().sum::<f64>() / scored.len() as f64;
    let mut sums = vec![0.0; k];
    let mut counts = vec![0usize; k];
    for (&r, &s) in rows.iter().zip(&scored) {
        sums[labels[r]] += s;
        counts[labels[r]] += 1;
    }
    let cluster_means = sums
        .iter()
        .zip(&counts)
        .map(|(&s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    Ok(Silhouette {
        values,
        mean,
        cluster_means,
        sample_size: rows.len(),
        exact,
    })
}

/// A per-cluster stratified sample of about `size` rows: each cluster its proportional share, at least
/// `min(size of cluster, 10)`.
fn stratified(labels: &[usize], k: usize, size: usize, seed: u64) -> Vec<usize> {
    let n = labels.len();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        members[l].push(i);
    }
    let mut rows = Vec::with_capacity(size + 10 * k);
    for (c, m) in members.iter().enumerate() {
        let share = ((size as f64 * m.len() as f64 / n as f64).round() as usize)
            .max(m.len().min(10))
            .min(m.len());
        for j in sample_rows(m.len(), share, seed.wrapping_add(c as u64)) {
            rows.push(m[j]);
        }
    }
    rows.sort_unstable();
    rows
}

/// Silhouette values of `rows`, computed among `rows` only.
fn samples(
    p: &Points,
    labels: &[usize],
    k: usize,
    rows: &[usize],
    job: &Job,
) -> Result<Vec<f64>, ClusterError> {
    let m = rows.len();
    let d = p.d;
    // Order the scored rows by cluster; store columns contiguously.
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by_key(|&o| labels[rows[o]]);
    let mut start = vec![0usize; k + 1];
    for &o in &order {
        start[labels[rows[o]] + 1] += 1;
    }
    for c in 0..k {
        start[c + 1] += start[c];
    }
    let mut cols = vec![0.0; d * m];
    for (pos, &o) in order.iter().enumerate() {
        for (j, v) in p.row(rows[o]).iter().enumerate() {
            cols[j * m + pos] = *v;
        }
    }
    const BLOCK: usize = 256;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let sorted: Vec<f64> = (0..m)
        .into_par_iter()
        .with_min_len(16)
        .map(|pos| {
            if job.is_cancelled() {
                return 0.0;
            }
            let own = labels[rows[order[pos]]];
            let x: Vec<f64> = (0..d).map(|j| cols[j * m + pos]).collect();
            let mut tmp = [0.0f64; BLOCK];
            let mut a = 0.0;
            let mut b = f64::INFINITY;
            for c in 0..k {
                let (lo, hi) = (start[c], start[c + 1]);
                if lo == hi {
                    continue;
                }
                let mut total = 0.0;
                let mut s = lo;
                while s < hi {
                    let e = (s + BLOCK).min(hi);
                    let t = &mut tmp[..e - s];
                    t.fill(0.0);
                    for (j, &xv) in x.iter().enumerate() {
                        let col = &cols[j * m + s..j * m + e];
                        for (acc, &v) in t.iter_mut().zip(col) {
                            let diff = xv - v;
                            *acc += diff * diff;
                        }
                    }
                    total += t.iter().map(|v| v.sqrt()).sum::<f64>();
                    s = e;
                }
                let size = hi - lo;
                if c == own {
                    if size == 1 {
                        // Alone in its cluster: scikit-learn defines the silhouette as 0.
                        a = f64::NAN;
                    } else {
                        a = total / (size - 1) as f64;
                    }
                } else {
                    b = b.min(total / size as f64);
                }
            }
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_multiple_of(1024) {
                job.progress("silhouette", n as f32 / m as f32);
            }
            if a.is_nan() {
                0.0
            } else {
                let denom = a.max(b);
                if denom > 0.0 { (b - a) / denom } else { 0.0 }
            }
        })
        .collect();
    job.check()?;
    let mut out = vec![0.0; m];
    for (pos, &o) in order.iter().enumerate() {
        out[o] = sorted[pos];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force from the definition.
    fn naive(p: &Points, labels: &[usize]) -> Vec<f64> {
        (0..p.n)
            .map(|i| {
                let own = labels[i];
                let size = labels.iter().filter(|&&l| l == own).count();
                if size == 1 {
                    return 0.0;
                }
                let k = labels.iter().max().unwrap() + 1;
                let mut sums = vec![0.0; k];
                let mut counts = vec![0usize; k];
                for j in 0..p.n {
                    if j != i {
                        sums[labels[j]] += super::super::points::sq_dist(p.row(i), p.row(j)).sqrt();
                        counts[labels[j]] += 1;
                    }
                }
                let a = sums[own] / counts[own] as f64;
                let b = (0..k)
                    .filter(|&c| c != own && counts[c] > 0)
                    .map(|c| sums[c] / counts[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                (b - a) / a.max(b)
            })
            .collect()
    }

    #[test]
    fn matches_the_definition_including_a_singleton() {
        let data: Vec<f64> = (0..300)
            .map(|i| ((i * 37 % 101) as f64 * 0.13).sin() * (1 + i % 3) as f64)
            .collect();
        let p = Points::new(&data, 100, 3);
        let mut labels: Vec<usize> = (0..100).map(|i| (i * 7 % 4).min(2)).collect();
        labels[5] = 3; // a singleton
        let s = silhouette(
            &p,
            &labels,
            4,
            &SilhouetteOptions::default(),
            &Job::silent(),
        )
        .unwrap();
        let want = naive(&p, &labels);
        for (got, want) in s.values.iter().zip(&want) {
            assert!((got.unwrap() - want).abs() < 1e-12, "{got:?} vs {want}");
        }
        assert_eq!(s.values[5], Some(0.0));
        assert!(s.exact);
    }

    #[test]
    fn sampled_above_the_limit() {
        let data: Vec<f64> = (0..2000).map(|i| (i as f64 * 0.37).sin()).collect();
        let p = Points::new(&data, 1000, 2);
        let labels: Vec<usize> = (0..1000).map(|i| i % 3).collect();
        let opts = SilhouetteOptions {
            exact_limit: 300,
            sample_size: None,
            seed: 1,
        };
        let s = silhouette(&p, &labels, 3, &opts, &Job::silent()).unwrap();
        assert!(!s.exact);
        assert_eq!(
            s.values.iter().filter(|v| v.is_some()).count(),
            s.sample_size
        );
        assert!((290..=310).contains(&s.sample_size), "{}", s.sample_size);
    }

    #[test]
    fn one_cluster_is_an_error() {
        let data = [0.0, 1.0, 2.0];
        let p = Points::new(&data, 3, 1);
        assert!(silhouette(&p, &[0, 0, 0], 1, &Default::default(), &Job::silent()).is_err());
    }
}
