//! One analysis run from a profile to everything the cluster views show: the fitted transform and
//! matrix, the segmentation, silhouette, cluster profiles, starting personas and the PCA projection.
//! The GUI runs this on a worker thread; tests call it directly.

use crate::features::ProfileTransform as _;
use polars::prelude::{Column, DataFrame, PolarsResult};
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
    // Said before the run, not by the silhouette after it.
    cluster::check_k_scored(&p, settings.params.k)?;
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

impl ClusterRun {
    /// The rule set of this run (`ruleset::build` on its transform, segmentation and profiles): one
    /// builder for `segment --out` and the app's export, which then set personas, rules and model.
    pub fn rule_set(
        &self,
        source: crate::ruleset::Source,
        config: &crate::features::FeatureConfig,
        profile: &Profile,
    ) -> crate::ruleset::RuleSet {
        crate::ruleset::build(
            source,
            config,
            profile,
            &self.fitted,
            &self.segmentation,
            &self.profiles,
        )
    }

    /// The assignments table of this run (`output::write_assignments`) with these persona names per
    /// segment: the same file from `segment --assignments` and the app's export.
    pub fn write_assignments(
        &self,
        path: &std::path::Path,
        names: &[String],
    ) -> Result<crate::spreadsheet::Defused, crate::error::WriteError> {
        let m = &self.matrix;
        let dist = self.segmentation.distances(&Points::of(m));
        crate::output::write_assignments(
            path,
            &m.users,
            &self.segmentation.labels,
            names,
            &self.silhouette.values,
            &dist,
        )
    }

    /// The first two PCA coordinates of row `i` (the second 0 when the data has one dimension).
    pub fn pca_xy(&self, i: usize) -> [f64; 2] {
        let dims = self.pca.n_components;
        let y = if dims > 1 {
            self.coords[i * dims + 1]
        } else {
            0.0
        };
        [self.coords[i * dims], y]
    }

    /// Selected users (row positions of the run) as a table: user_id, segment, silhouette and each
    /// clustering feature in its own units (the scaling undone), in the order given. What the
    /// Clusters view exports for a lasso selection.
    pub fn selection_table(&self, sel: &[usize]) -> PolarsResult<DataFrame> {
        let m = &self.matrix;
        let sel: Vec<usize> = sel.iter().copied().filter(|&i| i < m.n_rows).collect();
        let mut cols = vec![
            Column::new(
                "user_id".into(),
                sel.iter().map(|&i| m.users[i].clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "segment".into(),
                sel.iter()
                    .map(|&i| self.segmentation.labels[i] as u32)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "silhouette".into(),
                sel.iter()
                    .map(|&i| self.silhouette.values[i])
                    .collect::<Vec<_>>(),
            ),
        ];
        for (j, f) in self.fitted.features.iter().enumerate() {
            cols.push(Column::new(
                f.id.as_str().into(),
                sel.iter()
                    .map(|&i| f.raw_of(m.data[i * m.n_cols + j]))
                    .collect::<Vec<_>>(),
            ));
        }
        DataFrame::new(sel.len(), cols)
    }
}

/// Users the persona cards' stability is measured on at most: above, a seeded sample (five
/// re-clusterings of a million users, or of a Ward tree over 50,000, would hold a core for minutes
/// after every run; the overlaps of a 20,000-user sample estimate them closely).
pub const STABILITY_USERS: usize = 20_000;

/// How stable a run's segments are: its users (a seeded sample of `max_users` when there are more)
/// re-clustered on `resamples` seeded 80% subsamples with the run's own method, k and seed; per
/// segment the mean best Jaccard overlap (how often its users come back together), and the adjusted
/// Rand index of the whole partition. What the persona cards show.
pub fn run_stability(
    run: &ClusterRun,
    resamples: usize,
    max_users: usize,
    job: &Job,
) -> Result<cluster::Stability, PipelineError> {
    let all = Points::of(&run.matrix);
    let s = &run.segmentation;
    let params = SegmentParams {
        k: s.k,
        ..s.params.clone()
    };
    // Declared here so the sample outlives the points borrowed from it.
    let (data, sampled_labels);
    let (p, labels) = if all.n > max_users.max(2) {
        let rows = cluster::points::sample_rows(all.n, max_users.max(2), s.params.seed ^ 0x5ab1);
        data = all.gather(&rows);
        sampled_labels = rows.iter().map(|&r| s.labels[r]).collect::<Vec<_>>();
        (
            Points::new(&data, rows.len(), all.d),
            sampled_labels.as_slice(),
        )
    } else {
        (all, s.labels.as_slice())
    };
    cluster::stability(&p, &params, &[(s.k, labels)], resamples, job)?
        .pop()
        .ok_or_else(|| ClusterError::KTooSmall(s.k).into())
}

/// Where each old segment's users went: for every old segment, the new segment holding most of them
/// (None for an empty old segment or when the two runs are over different users). Ties go to the
/// lower new segment, so the answer is deterministic.
pub fn segment_flow(
    old: &[usize],
    old_k: usize,
    new: &[usize],
    new_k: usize,
) -> Vec<Option<usize>> {
    if old.len() != new.len() {
        return vec![None; old_k];
    }
    let overlap = overlap(old, old_k, new, new_k);
    (0..old_k)
        .map(|a| {
            let row = &overlap[a * new_k..(a + 1) * new_k];
            let best = (0..new_k).rev().max_by_key(|&b| row[b])?;
            (row[best] > 0).then_some(best)
        })
        .collect()
}

/// How many users each (old segment, new segment) pair shares, row-major by old segment (labels
/// outside 0..k are not counted).
fn overlap(old: &[usize], old_k: usize, new: &[usize], new_k: usize) -> Vec<usize> {
    let mut overlap = vec![0usize; old_k * new_k];
    for (&a, &b) in old.iter().zip(new) {
        if a < old_k && b < new_k {
            overlap[a * new_k + b] += 1;
        }
    }
    overlap
}

/// Rules name personas by id (`segment_N`); when segments are recomputed, each old persona's id is
/// replaced by the id of the new segment holding most of its users, so a rule for "High-Value
/// Engagers" keeps targeting those users rather than whatever segment now has the old number.
pub fn retarget_rules(
    rules: &mut [crate::rules::Rule],
    old_run: &ClusterRun,
    old: &[Persona],
    new_run: &ClusterRun,
    new: &[Persona],
) {
    let flow = segment_flow(
        &old_run.segmentation.labels,
        old_run.segmentation.k,
        &new_run.segmentation.labels,
        new_run.segmentation.k,
    );
    let rename = |id: &str| {
        let seg = old.iter().find(|p| p.id == id)?.segment;
        let to = (*flow.get(seg)?)?;
        new.iter().find(|p| p.segment == to).map(|p| p.id.clone())
    };
    for r in rules {
        r.when.rename_personas(&rename);
    }
}

/// Persona texts the strategist edited follow their users into a new run: each new segment takes the
/// edited persona of the old segment it overlaps most (each old persona used once, by the new segment
/// holding most of its users). Unedited personas take the new suggestions.
pub fn carry_personas(
    old_run: Option<&ClusterRun>,
    old: &[Persona],
    new_run: &ClusterRun,
) -> Vec<Persona> {
    let mut out = new_run.suggested.clone();
    let Some(old_run) = old_run else {
        return out;
    };
    let (ol, nl) = (&old_run.segmentation.labels, &new_run.segmentation.labels);
    if ol.len() != nl.len() {
        return out;
    }
    let (ok, nk) = (old_run.segmentation.k, new_run.segmentation.k);
    let overlap = overlap(ol, ok, nl, nk);
    let mut taken = vec![false; nk];
    for p in old {
        let o = p.segment;
        if o >= ok
            || old_run.suggested.get(o).is_some_and(|s| {
                s.name == p.name
                    && s.description == p.description
                    && s.preferred_content == p.preferred_content
            })
        {
            continue; // not edited
        }
        if let Some(b) = (0..nk)
            .filter(|&b| !taken[b])
            .max_by_key(|&b| overlap[o * nk + b])
            && overlap[o * nk + b] > 0
        {
            taken[b] = true;
            out[b].name = p.name.clone();
            out[b].description = p.description.clone();
            out[b].preferred_content = p.preferred_content.clone();
        }
    }
    out
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
    split_of(
        &run.matrix,
        &run.segmentation.labels,
        run.segmentation.k,
        c,
        seed,
        job,
    )
}

/// [`split_labels`] on a matrix and its `k` segments' labels.
fn split_of(
    matrix: &Matrix,
    labels: &[usize],
    k: usize,
    c: usize,
    seed: u64,
    job: &Job,
) -> Result<Vec<usize>, PipelineError> {
    let p = Points::of(matrix);
    let members: Vec<usize> = (0..p.n).filter(|&i| labels[i] == c).collect();
    let data = p.gather(&members);
    let sub = Points::new(&data, members.len(), p.d);
    // Said in the split's terms before the work: k-means' own checks would speak of "k = 2" and the
    // silhouette's of a k the analyst never typed.
    let distinct = sub.distinct_rows(2);
    if distinct < 2 || k + 1 > cluster::most_segments(p.n) {
        return Err(ClusterError::CannotSplit {
            segment: c,
            users: members.len(),
            distinct,
            k,
            total: p.n,
        }
        .into());
    }
    let fit = cluster::KMeans::new(2).seed(seed).fit(&sub, job)?;
    let mut labels = labels.to_vec();
    for (&i, &l) in members.iter().zip(&fit.labels) {
        if l == 1 {
            labels[i] = k;
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_that_cannot_be_judged_is_refused_in_its_own_terms() {
        use crate::features::Matrix;
        // Four users in two segments; segment 1's two users are identical.
        let matrix = Matrix {
            users: ["a", "b", "c", "d"].map(String::from).to_vec(),
            columns: vec!["x".into()],
            data: vec![0.0, 1.0, 5.0, 5.0],
            n_rows: 4,
            n_cols: 1,
        };
        let split = |labels: &[usize], c: usize| {
            let k = labels.iter().max().map_or(0, |m| m + 1);
            split_of(&matrix, labels, k, c, 0, &Job::silent()).map_err(|e| e.to_string())
        };
        let err = |labels: &[usize], c: usize| split(labels, c).unwrap_err();
        assert_eq!(
            err(&[0, 0, 1, 1], 1),
            "segment 1 cannot be split: its 2 users have the same feature values"
        );
        // Segment 0 splits: three segments for four users, one of its users in the new one.
        let l = split(&[0, 0, 1, 1], 0).unwrap();
        assert_eq!(&l[2..], [1, 1]);
        assert_eq!((l[0].min(l[1]), l[0].max(l[1])), (0, 2));
        assert_eq!(
            err(&[0, 1, 2, 2], 2),
            "segment 2 cannot be split: its 2 users have the same feature values"
        );
        // Three segments of four users: a fourth would leave no user to compare.
        assert_eq!(
            err(&[0, 0, 1, 2], 0),
            "segment 0 cannot be split: one more segment would make 4 for 4 users, and a \
             silhouette needs fewer segments than users"
        );
    }

    #[test]
    fn segment_flow_follows_the_majority_of_each_old_segment() {
        // Old 0 -> mostly new 1; old 1 -> new 0; old 2 split evenly between 0 and 2 -> lower (0);
        // old 3 empty.
        let old = [0, 0, 0, 1, 1, 2, 2];
        let new = [1, 1, 2, 0, 0, 0, 2];
        assert_eq!(
            segment_flow(&old, 4, &new, 3),
            vec![Some(1), Some(0), Some(0), None]
        );
        // Merging 1 into 0: both old segments flow into the merged one.
        let merged = merged_labels(&old, 0, 1);
        assert_eq!(
            segment_flow(&old, 3, &merged, 2),
            vec![Some(0), Some(0), Some(1)]
        );
        assert_eq!(segment_flow(&old, 3, &new[..3], 3), vec![None; 3]);
    }
}
