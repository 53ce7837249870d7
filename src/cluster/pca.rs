//! Principal component analysis, exact: the d x d covariance matrix (accumulated in parallel over fixed
//! chunks of users) and its eigendecomposition by cyclic Jacobi rotations. Linear in the number of users,
//! so it runs on everyone. Component signs follow scikit-learn (the largest |loading| of each component is
//! positive), so projections can be compared with `sklearn.decomposition.PCA`.
//!
//! linfa-reduction 0.8.1's PCA is not used: it can panic with "NaN values in array" on ordinary data.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::points::{Points, validate};
use crate::error::ClusterError;
use crate::job::Job;

const CHUNK: usize = 4096;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    pub d: usize,
    pub mean: Vec<f64>,
    /// Row-major n_components x d, unit length.
    pub components: Vec<f64>,
    pub n_components: usize,
    /// Variance along every component (all d, descending; sample variance with n - 1).
    pub explained_variance: Vec<f64>,
    /// Share of the total variance per component (all d; sums to 1).
    pub explained_variance_ratio: Vec<f64>,
}

impl Pca {
    pub fn fit(p: &Points, n_components: usize, job: &Job) -> Result<Pca, ClusterError> {
        validate(p, None, None)?;
        let d = p.d;
        let n_components = n_components.clamp(1, d);
        let parts: Vec<Vec<f64>> = p
            .data
            .par_chunks(CHUNK * d)
            .map(|c| {
                let mut s = vec![0.0; d];
                for row in c.chunks_exact(d) {
                    for (a, v) in s.iter_mut().zip(row) {
                        *a += v;
                    }
                }
                s
            })
            .collect();
        let mut mean = vec![0.0; d];
        for s in &parts {
            for (m, v) in mean.iter_mut().zip(s) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= p.n as f64);
        job.check()?;
        let parts: Vec<Vec<f64>> = p
            .data
            .par_chunks(CHUNK * d)
            .map(|c| {
                let mut cov = vec![0.0; d * d];
                let mut x = vec![0.0; d];
                for row in c.chunks_exact(d) {
                    for j in 0..d {
                        x[j] = row[j] - mean[j];
                    }
                    for a in 0..d {
                        for b in a..d {
                            cov[a * d + b] += x[a] * x[b];
                        }
                    }
                }
                cov
            })
            .collect();
        let mut cov = vec![0.0; d * d];
        for c in &parts {
            for (a, v) in cov.iter_mut().zip(c) {
                *a += v;
            }
        }
        for a in 0..d {
            for b in a..d {
                let v = cov[a * d + b] / (p.n - 1) as f64;
                cov[a * d + b] = v;
                cov[b * d + a] = v;
            }
        }
        job.check()?;
        let (values, vectors) = jacobi_eigen(&cov, d);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let explained_variance: Vec<f64> = order.iter().map(|&i| values[i].max(0.0)).collect();
        let total: f64 = explained_variance.iter().sum();
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        let mut components = Vec::with_capacity(n_components * d);
        for &i in order.iter().take(n_components) {
            // Eigenvector i is column i of `vectors`.
            let mut v: Vec<f64> = (0..d).map(|r| vectors[r * d + i]).collect();
            let big = v
                .iter()
                .copied()
                .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if big < 0.0 {
                v.iter_mut().for_each(|x| *x = -*x);
            }
            components.extend(v);
        }
        Ok(Pca {
            d,
            mean,
            components,
            n_components,
            explained_variance,
            explained_variance_ratio,
        })
    }

    /// Coordinates of one row on the components.
    pub fn transform_row(&self, row: &[f64]) -> Vec<f64> {
        self.components
            .chunks_exact(self.d)
            .map(|c| {
                c.iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(w, (x, m))| w * (x - m))
                    .sum()
            })
            .collect()
    }

    /// Coordinates of all rows, row-major n x n_components.
    pub fn transform(&self, p: &Points) -> Vec<f64> {
        let rows: Vec<Vec<f64>> = (0..p.n)
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(|i| self.transform_row(p.row(i)))
            .collect();
        rows.concat()
    }
}

/// Eigenvalues and eigenvectors (columns of the returned row-major matrix) of a symmetric matrix by
/// cyclic Jacobi rotations: simple, and accurate to machine precision for the small d of a feature set.
pub fn jacobi_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum();
        let diag: f64 = (0..d).map(|i| a[i * d + i] * a[i * d + i]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let akp = a[k * d + p];
                    let akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let apk = a[p * d + k];
                    let aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let vkp = v[k * d + p];
                    let vkq = v[k * d + q];
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_reconstructs_the_matrix() {
        let m = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0];
        let (vals, vecs) = jacobi_eigen(&m, 3);
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3)
                    .map(|k| vecs[i * 3 + k] * vals[k] * vecs[j * 3 + k])
                    .sum();
                assert!((r - m[i * 3 + j]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn a_line_has_one_component() {
        let data: Vec<f64> = (0..50).flat_map(|i| [i as f64, 2.0 * i as f64]).collect();
        let p = Points::new(&data, 50, 2);
        let pca = Pca::fit(&p, 2, &Job::silent()).unwrap();
        assert!((pca.explained_variance_ratio[0] - 1.0).abs() < 1e-12);
        let c = &pca.components[..2];
        assert!(
            (c[0] - 1.0 / 5f64.sqrt()).abs() < 1e-12 && (c[1] - 2.0 / 5f64.sqrt()).abs() < 1e-12
        );
    }
}
