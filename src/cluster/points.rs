//! A read-only view of a dense row-major matrix, its validation, and the small numeric helpers the
//! algorithms share.

use std::collections::HashSet;

use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

use crate::error::ClusterError;
use crate::features::Matrix;

/// Rows of `d` values each, row-major: the clustering input.
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    pub data: &'a [f64],
    pub n: usize,
    pub d: usize,
}

impl<'a> Points<'a> {
    pub fn new(data: &'a [f64], n: usize, d: usize) -> Self {
        assert_eq!(data.len(), n * d, "data length must be n * d");
        Points { data, n, d }
    }

    pub fn of(m: &'a Matrix) -> Self {
        Points::new(&m.data, m.n_rows, m.n_cols)
    }

    #[inline]
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Copy the given rows into a new owned buffer (for samples).
    pub fn gather(&self, rows: &[usize]) -> Vec<f64> {
        let mut out = Vec::with_capacity(rows.len() * self.d);
        for &i in rows {
            out.extend_from_slice(self.row(i));
        }
        out
    }

    /// Number of distinct rows (bit-exact), stopping early once `enough` are found.
    pub fn distinct_rows(&self, enough: usize) -> usize {
        let mut seen: HashSet<Vec<u64>> = HashSet::new();
        for i in 0..self.n {
            // +0.0 and -0.0 are the same point.
            seen.insert(self.row(i).iter().map(|v| (v + 0.0).to_bits()).collect());
            if seen.len() >= enough {
                break;
            }
        }
        seen.len()
    }

    /// Mean over columns of the per-column variance: scikit-learn's scale for the k-means tolerance.
    pub fn mean_variance(&self) -> f64 {
        if self.n == 0 || self.d == 0 {
            return 0.0;
        }
        let mut total = 0.0;
        for j in 0..self.d {
            let mean = (0..self.n).map(|i| self.data[i * self.d + j]).sum::<f64>() / self.n as f64;
            let var = (0..self.n)
                .map(|i| (self.data[i * self.d + j] - mean).powi(2))
                .sum::<f64>()
                / self.n as f64;
            total += var;
        }
        total / self.d as f64
    }
}

/// Reject what no algorithm can work with: no columns, no rows, NaN or infinity (named by row and
/// column; `users` and `columns` give the names, when known).
pub fn validate(
    p: &Points,
    users: Option<&[String]>,
    columns: Option<&[String]>,
) -> Result<(), ClusterError> {
    if p.d == 0 {
        return Err(ClusterError::NoColumns);
    }
    if p.n < 2 {
        return Err(ClusterError::TooFewUsers(p.n));
    }
    if let Some(pos) = p.data.iter().position(|v| !v.is_finite()) {
        let (row, col) = (pos / p.d, pos % p.d);
        return Err(ClusterError::NonFinite {
            row: row + 1,
            user: users
                .and_then(|u| u.get(row).cloned())
                .unwrap_or_else(|| format!("#{}", row + 1)),
            column: columns
                .and_then(|c| c.get(col).cloned())
                .unwrap_or_else(|| format!("#{}", col + 1)),
            value: p.data[pos],
        });
    }
    Ok(())
}

/// Check k against the data: 2 <= k <= distinct rows.
pub fn check_k(p: &Points, k: usize) -> Result<(), ClusterError> {
    if k < 2 {
        return Err(ClusterError::KTooSmall(k));
    }
    let distinct = p.distinct_rows(k.max(2));
    if distinct < 2 {
        return Err(ClusterError::AllIdentical);
    }
    if distinct < k {
        return Err(ClusterError::KTooLarge {
            k,
            distinct,
            users: p.n,
        });
    }
    Ok(())
}

/// The most segments `users` users can be split into and still be judged by silhouettes: one fewer
/// than the users (each user is compared with another segment). The one place this rule lives: the
/// checks below, their advice, and the app's k.
pub fn most_segments(users: usize) -> usize {
    users.saturating_sub(1)
}

/// Check k for a run judged by silhouettes (a segmentation, a sweep): as `check_k`, and fewer
/// segments than users, said before the run rather than by the silhouette after it.
pub fn check_k_scored(p: &Points, k: usize) -> Result<(), ClusterError> {
    check_k(p, k)?;
    if k > most_segments(p.n) {
        return Err(ClusterError::KNotBelowUsers { k, users: p.n });
    }
    Ok(())
}

/// Squared Euclidean distance: the runtime's, so clustering and a deployed assignment add in one order.
pub use persona_lab_runtime::ruleset::sq_dist;

/// A seeded sample of `size` distinct row indices out of `n`, sorted.
pub fn sample_rows(n: usize, size: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = index::sample(&mut rng, n, size.min(n)).into_vec();
    rows.sort_unstable();
    rows
}

/// Index of the nearest centroid (centroids row-major, `d` columns) and the squared distance to it.
#[inline]
pub fn nearest(row: &[f64], centroids: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, cen) in centroids.chunks_exact(d).enumerate() {
        let dist = sq_dist(row, cen);
        if dist < best.1 {
            best = (c, dist);
        }
    }
    best
}

/// Per-cluster means of the rows (row-major k x d) and sizes.
pub fn centroids_of(p: &Points, labels: &[usize], k: usize) -> (Vec<f64>, Vec<usize>) {
    let mut sums = vec![0.0; k * p.d];
    let mut sizes = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        sizes[l] += 1;
        for (s, v) in sums[l * p.d..(l + 1) * p.d].iter_mut().zip(p.row(i)) {
            *s += v;
        }
    }
    for (c, &size) in sizes.iter().enumerate() {
        if size > 0 {
            for s in &mut sums[c * p.d..(c + 1) * p.d] {
                *s /= size as f64;
            }
        }
    }
    (sums, sizes)
}

/// Sum of squared distances of each row to its cluster's centroid.
pub fn inertia(p: &Points, labels: &[usize], centroids: &[f64]) -> f64 {
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| sq_dist(p.row(i), &centroids[l * p.d..(l + 1) * p.d]))
        .sum()
}
