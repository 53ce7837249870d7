//! Random forest for binary classification with probabilities, written here because linfa 0.8.1 has
//! none that fits: linfa-ensemble draws features per tree (not per split), is not seeded and has no
//! `predict_proba`, and linfa-trees gives no probabilities.
//!
//! As scikit-learn's `RandomForestClassifier`: each tree grows on a bootstrap sample (seeded per
//! tree, so results do not depend on the thread count), each split considers a fresh random subset
//! of `max_features` features (and keeps looking past them until a valid split exists), splits
//! minimise the weighted Gini impurity at the midpoint between values, a leaf's value is its share of
//! positives, and the forest's probability is the mean over trees. Importance is the mean decrease in
//! impurity, normalised per tree, averaged.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Labelled, PredictError};
use crate::job::Job;

pub use persona_lab_runtime::scores::{Forest, Node, Tree};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    pub n_trees: usize,
    /// Deepest split level (the root is depth 0); None: unlimited.
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    /// Features tried per split; None: the square root of the feature count.
    pub max_features: Option<usize>,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_trees: 100,
            max_depth: Some(8),
            min_samples_leaf: 5,
            max_features: None,
            seed: 0,
        }
    }
}

impl ForestParams {
    /// Fit a forest on labelled rows (the shape every model here is fitted in: parameters, data,
    /// job; see `KMeans::fit` and `LogisticParams::fit`).
    pub fn fit(&self, data: &Labelled, job: &Job) -> Result<Forest, PredictError> {
        fit(data.x, data.d, data.y, self, job)
    }
}

fn fit(
    x: &[f64],
    d: usize,
    y: &[bool],
    params: &ForestParams,
    job: &Job,
) -> Result<Forest, PredictError> {
    if params.n_trees == 0 {
        return Err(PredictError::Invalid(
            "a forest needs at least one tree (--trees)".into(),
        ));
    }
    if params.min_samples_leaf == 0 {
        return Err(PredictError::Invalid(
            "min_samples_leaf must be at least 1".into(),
        ));
    }
    let n = y.len();
    if n == 0 || d == 0 || x.len() != n * d {
        return Err(PredictError::Invalid("no data to fit the forest on".into()));
    }
    let max_features = params
        .max_features
        .unwrap_or_else(|| (d as f64).sqrt().floor().max(1.0) as usize)
        .clamp(1, d);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let grown: Vec<Option<(Tree, Vec<f64>)>> = (0..params.n_trees)
        .into_par_iter()
        .map(|t| {
            if job.is_cancelled() {
                return None;
            }
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed.wrapping_add(t as u64));
            let mut weight = vec![0.0; n];
            for _ in 0..n {
                weight[rng.random_range(0..n)] += 1.0;
            }
            let mut g = Grower {
                x,
                d,
                y,
                weight: &weight,
                params,
                max_features,
                rng,
                nodes: Vec::new(),
                importance: vec![0.0; d],
            };
            let idx: Vec<usize> = (0..n).filter(|&i| weight[i] > 0.0).collect();
            g.grow(idx, 0);
            let total: f64 = g.importance.iter().sum();
            if total > 0.0 {
                g.importance.iter_mut().for_each(|v| *v /= total);
            }
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("forest", k as f32 / params.n_trees as f32);
            Some((Tree { nodes: g.nodes }, g.importance))
        })
        .collect();
    let mut trees = Vec::with_capacity(params.n_trees);
    let mut importance = vec![0.0; d];
    for g in grown {
        let (tree, imp) = g.ok_or(PredictError::Cancelled)?;
        for (a, b) in importance.iter_mut().zip(imp) {
            *a += b;
        }
        trees.push(tree);
    }
    importance
        .iter_mut()
        .for_each(|v| *v /= params.n_trees as f64);
    Ok(Forest { trees, importance })
}

struct Grower<'a> {
    x: &'a [f64],
    d: usize,
    y: &'a [bool],
    weight: &'a [f64],
    params: &'a ForestParams,
    max_features: usize,
    rng: ChaCha8Rng,
    nodes: Vec<Node>,
    importance: Vec<f64>,
}

fn gini(pos: f64, total: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    let p = pos / total;
    2.0 * p * (1.0 - p)
}

impl Grower<'_> {
    /// Grow the subtree of the samples `idx`; returns its node index.
    fn grow(&mut self, idx: Vec<usize>, depth: usize) -> usize {
        let (w, pos) = idx.iter().fold((0.0, 0.0), |(w, p), &i| {
            (
                w + self.weight[i],
                p + if self.y[i] { self.weight[i] } else { 0.0 },
            )
        });
        let me = self.nodes.len();
        self.nodes
            .push(Node::Leaf(if w > 0.0 { pos / w } else { 0.0 }));
        let pure = pos == 0.0 || pos == w;
        let deep = self.params.max_depth.is_some_and(|m| depth >= m);
        if pure || deep || idx.len() < 2 * self.params.min_samples_leaf {
            return me;
        }
        let Some((f, t, gain)) = self.best_split(&idx, w, pos) else {
            return me;
        };
        self.importance[f] += gain;
        let (left, right): (Vec<usize>, Vec<usize>) =
            idx.into_iter().partition(|&i| self.x[i * self.d + f] <= t);
        let l = self.grow(left, depth + 1);
        let r = self.grow(right, depth + 1);
        self.nodes[me] = Node::Split(f, t, l, r);
        me
    }

    /// The split with the lowest weighted child impurity among the features drawn for this node:
    /// (feature, threshold, weighted impurity decrease).
    fn best_split(&mut self, idx: &[usize], w: f64, pos: f64) -> Option<(usize, f64, f64)> {
        let mut features: Vec<usize> = (0..self.d).collect();
        features.shuffle(&mut self.rng);
        let parent = w * gini(pos, w);
        let min_leaf = self.params.min_samples_leaf;
        let mut best: Option<(usize, f64, f64)> = None;
        let mut sorted = idx.to_vec();
        for (tried, &f) in features.iter().enumerate() {
            if tried >= self.max_features && best.is_some() {
                break;
            }
            let x = |i: usize| self.x[i * self.d + f];
            sorted.sort_by(|&a, &b| x(a).total_cmp(&x(b)));
            let (mut lw, mut lp) = (0.0, 0.0);
            for k in 0..sorted.len() - 1 {
                let i = sorted[k];
                lw += self.weight[i];
                if self.y[i] {
                    lp += self.weight[i];
                }
                let (a, b) = (x(i), x(sorted[k + 1]));
                if a == b || k + 1 < min_leaf || sorted.len() - k - 1 < min_leaf {
                    continue;
                }
                let child = lw * gini(lp, lw) + (w - lw) * gini(pos - lp, w - lw);
                let gain = parent - child;
                if gain > 1e-12 && best.is_none_or(|(_, _, g)| gain > g) {
                    let mut t = a / 2.0 + b / 2.0;
                    if t >= b {
                        t = a;
                    }
                    best = Some((f, t, gain));
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Vec<f64>, Vec<bool>) {
        // Two features: the first decides (x0 > 5), the second is noise.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..400 {
            let a: f64 = rng.random_range(0.0..10.0);
            let b: f64 = rng.random_range(0.0..10.0);
            x.extend([a, b]);
            y.push(a > 5.0);
        }
        (x, y)
    }

    #[test]
    fn learns_a_threshold_is_seeded_and_ranks_the_deciding_feature_first() {
        let (x, y) = data();
        let p = ForestParams {
            n_trees: 20,
            ..Default::default()
        };
        let f = fit(&x, 2, &y, &p, &Job::silent()).unwrap();
        assert!(f.prob(&[9.0, 1.0]) > 0.9 && f.prob(&[1.0, 9.0]) < 0.1);
        assert!(f.importance[0] > 0.8, "{:?}", f.importance);
        assert!((f.importance.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let again = fit(&x, 2, &y, &p, &Job::silent()).unwrap();
        assert_eq!(f, again);
        let other = fit(
            &x,
            2,
            &y,
            &ForestParams {
                seed: 9,
                ..p.clone()
            },
            &Job::silent(),
        )
        .unwrap();
        assert_ne!(f.trees, other.trees);
        let zero = ForestParams {
            n_trees: 0,
            ..Default::default()
        };
        assert!(fit(&x, 2, &y, &zero, &Job::silent()).is_err());
    }
}
