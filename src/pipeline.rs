//! One analysis run from a profile to everything the cluster views show: the fitted transform and
//! matrix, the segmentation, silhouette, cluster profiles, starting personas and the PCA projection.
//! The GUI runs this on a worker thread; tests call it directly.

use serde::{Deserialize, Serialize};

use crate::cluster::{
    self, ClusterProfile, Pca, Points, SegmentParams, Segmentation, Silhouette, SilhouetteOptions,
};
use crate::error::{ClusterError, PipelineError};
use crate::features::{FittedTransform, Matrix, Profile, TransformSpec, transform};
use crate::job::Job;
use crate::ruleset::{self, Persona};

#[derive(Debug, Clone)]
pub struct ClusterRun {
    pub fitted: FittedTransform,
    pub matrix: Matrix,
    pub segmentation: Segmentation,
    pub silhouette: Silhouette,
    pub profiles: Vec<ClusterProfile>,
    pub suggested: Vec<Persona>,
    pub pca: Pca,
    /// Row-major n x 2 PCA coordinates of every user.
    pub coords: Vec<f64>,
}

/// Settings of a run besides the feature spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub params: SegmentParams,
    pub silhouette: SilhouetteOptions,
}

/// The fitted transform and the clustering matrix of a profile, checked for values no algorithm can take
/// (named by row, user and column).
pub fn clustering_matrix(
    profile: &Profile,
    spec: &TransformSpec,
) -> Result<(FittedTransform, Matrix), PipelineError> {
    let fitted = transform::fit(profile, spec)?;
    let matrix = fitted.matrix(profile)?;
    cluster::points::validate(
        &Points::of(&matrix),
        Some(&matrix.users),
        Some(&matrix.columns),
    )?;
    Ok((fitted, matrix))
}

pub fn cluster_profile(
    profile: &Profile,
    spec: &TransformSpec,
    settings: &RunSettings,
    job: &Job,
) -> Result<ClusterRun, PipelineError> {
    if profile.n_users() < 2 {
        return Err(ClusterError::TooFewUsers(profile.n_users()).into());
    }
    job.progress("features", 0.0);
    let (fitted, matrix) = clustering_matrix(profile, spec)?;
    let p = Points::of(&matrix);
    job.check()?;
    let segmentation = cluster::segment(&p, &settings.params, job)?;
    let silhouette = cluster::silhouette(
        &p,
        &segmentation.labels,
        segmentation.k,
        &settings.silhouette,
        job,
    )?;
    let profiles = cluster::profiles(profile, &fitted, &segmentation.labels, segmentation.k)?;
    let suggested = ruleset::default_personas(&profiles);
    job.progress("projection", 0.0);
    let pca = Pca::fit(&p, 2, job)?;
    let coords = pca.transform(&p);
    Ok(ClusterRun {
        fitted,
        matrix,
        segmentation,
        silhouette,
        profiles,
        suggested,
        pca,
        coords,
    })
}

/// A run rebuilt around edited labels (segments merged or split): centroids, inertia, silhouette,
/// profiles and suggestions are recomputed; the transform, matrix and projection are kept. Segments are
/// renumbered by size.
pub fn relabel(
    run: &ClusterRun,
    profile: &Profile,
    labels: &[usize],
    note: String,
    silhouette: &SilhouetteOptions,
    job: &Job,
) -> Result<ClusterRun, PipelineError> {
    let p = Points::of(&run.matrix);
    let k = labels.iter().max().map(|m| m + 1).unwrap_or(0);
    let (labels, _) = cluster::segment::by_size(labels, k);
    let (centroids, sizes) = cluster::points::centroids_of(&p, &labels, k);
    let k = sizes.iter().filter(|&&s| s > 0).count();
    if k < 2 {
        return Err(ClusterError::KTooSmall(k).into());
    }
    let inertia = cluster::points::inertia(&p, &labels, &centroids);
    let mut segmentation = run.segmentation.clone();
    segmentation.params.k = k;
    segmentation.k = k;
    segmentation.labels = labels;
    segmentation.centroids = centroids;
    segmentation.sizes = sizes;
    segmentation.inertia = inertia;
    segmentation.notes.push(note);
    let sil = cluster::silhouette(&p, &segmentation.labels, k, silhouette, job)?;
    let profiles = cluster::profiles(profile, &run.fitted, &segmentation.labels, k)?;
    let suggested = ruleset::default_personas(&profiles);
    Ok(ClusterRun {
        fitted: run.fitted.clone(),
        matrix: run.matrix.clone(),
        segmentation,
        silhouette: sil,
        profiles,
        suggested,
        pca: run.pca.clone(),
        coords: run.coords.clone(),
    })
}

/// Labels with segment `b` merged into segment `a`.
pub fn merged_labels(labels: &[usize], a: usize, b: usize) -> Vec<usize> {
    let (lo, hi) = (a.min(b), a.max(b));
    labels
        .iter()
        .map(|&l| match l {
            l if l == hi => lo,
            l if l > hi => l - 1,
            l => l,
        })
        .collect()
}

/// Labels with segment `c` split in two by k-means (seeded) on its members.
pub fn split_labels(
    run: &ClusterRun,
    c: usize,
    seed: u64,
    job: &Job,
) -> Result<Vec<usize>, PipelineError> {
    let p = Points::of(&run.matrix);
    let members: Vec<usize> = (0..p.n)
        .filter(|&i| run.segmentation.labels[i] == c)
        .collect();
    let data = p.gather(&members);
    let sub = Points::new(&data, members.len(), p.d);
    let fit = cluster::KMeans::new(2).seed(seed).fit(&sub, job)?;
    let new = run.segmentation.k;
    let mut labels = run.segmentation.labels.clone();
    for (&i, &l) in members.iter().zip(&fit.labels) {
        if l == 1 {
            labels[i] = new;
        }
    }
    Ok(labels)
}
