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
    let fitted = transform::fit(profile, spec)?;
    let matrix = fitted.matrix(profile)?;
    let p = Points::of(&matrix);
    cluster::points::validate(&p, Some(&matrix.users), Some(&matrix.columns))?;
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
