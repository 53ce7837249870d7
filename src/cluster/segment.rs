//! One entry point for every method: cluster a matrix into k segments and describe the result the same
//! way (labels, centroids, sizes, inertia), whether it came from k-means or from cutting a dendrogram.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::hierarchical::{Dendrogram, Hierarchical, Linkage};
use super::kmeans::KMeans;
use super::points::{Points, centroids_of, check_k, inertia, nearest, validate};
use crate::error::ClusterError;
use crate::job::Job;

pub use persona_lab_runtime::segments::Method;

impl From<persona_lab_runtime::segments::UnknownMethod> for ClusterError {
    fn from(e: persona_lab_runtime::segments::UnknownMethod) -> Self {
        ClusterError::UnknownMethod(e.0)
    }
}

/// Everything that decides a segmentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentParams {
    pub method: Method,
    pub k: usize,
    pub seed: u64,
    /// k-means restarts.
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    /// k-means: fit on a seeded sample of this many users, then assign everyone.
    pub fit_sample: Option<usize>,
    /// Hierarchical: cluster everyone up to this many users (default per linkage), else a seeded sample.
    pub exact_limit: Option<usize>,
}

/// The largest k any analysis asks for (the app's slider stops far below; a file may say more).
pub const MAX_K: usize = 1000;

impl SegmentParams {
    /// Settings no analysis asks for, refused in one place whoever sets them (the CLI's flags, a
    /// project file, the app), in the spirit of linfa's `ParamGuard`: a hand-edited file must not
    /// set the app grinding through a billion restarts. What depends on the data (k against the
    /// number of users) is checked when the algorithm runs.
    pub fn check(&self) -> Result<(), ClusterError> {
        let within = |parameter: &'static str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(ClusterError::InvalidParameter {
                    parameter,
                    message: format!("{v} is outside {lo}..={hi}"),
                })
            }
        };
        if self.k < 2 {
            return Err(ClusterError::InvalidParameter {
                parameter: "k",
                message: format!("k must be at least 2, got {}", self.k),
            });
        }
        within("k", self.k, 2, MAX_K)?;
        within("n_init", self.n_init, 1, 1000)?;
        within("max_iter", self.max_iter, 1, 1_000_000)?;
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(ClusterError::InvalidParameter {
                parameter: "tol",
                message: format!("{} is not a tolerance", self.tol),
            });
        }
        if let Some(s) = self.fit_sample {
            within("fit_sample", s, 2, usize::MAX)?;
        }
        if let Some(s) = self.exact_limit {
            within("exact_limit", s, 2, usize::MAX)?;
        }
        Ok(())
    }

    pub fn new(method: Method, k: usize) -> Self {
        SegmentParams {
            method,
            k,
            seed: 0,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            fit_sample: None,
            exact_limit: None,
        }
    }

    fn kmeans(&self, k: usize) -> KMeans {
        KMeans {
            k,
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
            seed: self.seed,
            fit_sample: self.fit_sample,
        }
    }

    fn hierarchical(&self, linkage: Linkage) -> Hierarchical {
        Hierarchical {
            linkage,
            exact_limit: self.exact_limit,
            seed: self.seed,
        }
    }
}

/// A segmentation of every user. Segments are numbered by size, largest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segmentation {
    pub params: SegmentParams,
    pub k: usize,
    pub d: usize,
    pub labels: Vec<usize>,
    /// Row-major k x d, in the clustering space (means of the members).
    pub centroids: Vec<f64>,
    pub sizes: Vec<usize>,
    /// Sum of squared distances of every user to its segment's centroid.
    pub inertia: f64,
    /// k-means: iterations and convergence of the winning restart.
    pub n_iter: Option<usize>,
    pub converged: Option<bool>,
    /// Hierarchical: the merge history (over the sample when sampled).
    pub dendrogram: Option<Dendrogram>,
    /// Users the model was fitted on, when fewer than all (the rest were assigned to the nearest centroid).
    pub fitted_on: Option<usize>,
    /// Plain-language notes about how the result was obtained.
    pub notes: Vec<String>,
}

impl Segmentation {
    pub fn centroid(&self, c: usize) -> &[f64] {
        &self.centroids[c * self.d..(c + 1) * self.d]
    }

    /// Distance of each user to its segment's centroid.
    pub fn distances(&self, p: &Points) -> Vec<f64> {
        (0..p.n)
            .into_par_iter()
            .with_min_len(4096)
            .map(|i| super::points::sq_dist(p.row(i), self.centroid(self.labels[i])).sqrt())
            .collect()
    }
}

/// Cluster `p` into `params.k` segments.
pub fn segment(
    p: &Points,
    params: &SegmentParams,
    job: &Job,
) -> Result<Segmentation, ClusterError> {
    validate(p, None, None)?;
    check_k(p, params.k)?;
    let k = params.k;
    let mut notes = Vec::new();
    // k-means keeps its own centroids: its labels are exactly the nearest centroid, which is what a
    // deployed rule set computes. Hierarchical centroids are the means of the tree's segments.
    let mut kmeans_centroids = None;
    let (labels, n_iter, converged, dendrogram, fitted_on) = match params.method.linkage() {
        None => {
            let fit = params.kmeans(k).fit(p, job)?;
            kmeans_centroids = Some(fit.centroids.clone());
            let fitted_on = (fit.fitted_on < p.n).then_some(fit.fitted_on);
            if let Some(s) = fitted_on {
                notes.push(format!(
                    "k-means was fitted on a seeded sample of {s} of {} users; every user was then assigned to the nearest centroid",
                    p.n
                ));
            }
            if !fit.converged {
                notes.push(format!(
                    "k-means stopped at the iteration limit ({}) before converging",
                    params.max_iter
                ));
            }
            (
                fit.labels,
                Some(fit.n_iter),
                Some(fit.converged),
                None,
                fitted_on,
            )
        }
        Some(linkage) => {
            let fit = params.hierarchical(linkage).fit(p, job)?;
            let tree_labels = fit.dendrogram.cut_k(k);
            match &fit.sample {
                None => (tree_labels, None, None, Some(fit.dendrogram), None),
                Some(rows) => {
                    let data = p.gather(rows);
                    let sp = Points::new(&data, rows.len(), p.d);
                    let (cents, _) = centroids_of(&sp, &tree_labels, k);
                    let mut labels: Vec<usize> = (0..p.n)
                        .into_par_iter()
                        .with_min_len(4096)
                        .map(|i| nearest(p.row(i), &cents, p.d).0)
                        .collect();
                    for (&r, &l) in rows.iter().zip(&tree_labels) {
                        labels[r] = l;
                    }
                    notes.push(format!(
                        "{} linkage was computed on a seeded sample of {} of {} users (exact limit); the other users were assigned to the nearest segment centroid",
                        linkage.name(),
                        rows.len(),
                        p.n
                    ));
                    (labels, None, None, Some(fit.dendrogram), Some(rows.len()))
                }
            }
        }
    };
    job.check()?;
    let (labels, new_of) = by_size(&labels, k);
    let (mut centroids, sizes) = centroids_of(p, &labels, k);
    if let Some(kc) = kmeans_centroids {
        for (old, &new) in new_of.iter().enumerate() {
            centroids[new * p.d..(new + 1) * p.d].copy_from_slice(&kc[old * p.d..(old + 1) * p.d]);
        }
    } else {
        let off = (0..p.n)
            .into_par_iter()
            .with_min_len(4096)
            .filter(|&i| nearest(p.row(i), &centroids, p.d).0 != labels[i])
            .count();
        if off > 0 {
            notes.push(format!(
                "{off} users ({:.1}%) are closer to another segment's centroid than to their own; a rule set assigns new users to the nearest centroid",
                100.0 * off as f64 / p.n as f64
            ));
        }
    }
    let inertia = inertia(p, &labels, &centroids);
    Ok(Segmentation {
        params: params.clone(),
        k,
        d: p.d,
        labels,
        centroids,
        sizes,
        inertia,
        n_iter,
        converged,
        dendrogram,
        fitted_on,
        notes,
    })
}

/// Renumber labels by segment size, largest first (ties: first appearance), so "segment 0" always means
/// the biggest one. Returns the new labels and, for each old label, its new one.
pub fn by_size(labels: &[usize], k: usize) -> (Vec<usize>, Vec<usize>) {
    let mut sizes = vec![0usize; k];
    let mut first = vec![usize::MAX; k];
    for (i, &l) in labels.iter().enumerate() {
        sizes[l] += 1;
        first[l] = first[l].min(i);
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(first[a].cmp(&first[b])));
    let mut new_of = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new;
    }
    (labels.iter().map(|&l| new_of[l]).collect(), new_of)
}
