//! t-SNE to two dimensions for the scatter plot, Barnes-Hut (theta 0.5) on a seeded sample of users.
//!
//! As scikit-learn does by default: PCA initialisation (scaled to a standard deviation of 1e-4),
//! perplexity 30 on the 3 x perplexity nearest neighbours, early exaggeration 12 for 250 iterations,
//! learning rate max(n / 12 / 4, 50), momentum 0.5 then 0.8, adaptive gains. Inputs with more than 50
//! columns are reduced to 50 by PCA first. Everything is parallel over points, and per-point sums are
//! added in a fixed order, so a seed gives one result.
//!
//! linfa-tsne 0.8.1 is not used: single-threaded, and it panics on non-contiguous arrays.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::pca::Pca;
use super::points::{Points, sample_rows, sq_dist, validate};
use crate::error::ClusterError;
use crate::job::Job;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TsneParams {
    /// Users embedded (a seeded sample when there are more).
    pub sample_size: usize,
    pub perplexity: f64,
    pub iterations: usize,
    pub theta: f64,
    pub seed: u64,
}

impl Default for TsneParams {
    fn default() -> Self {
        TsneParams {
            sample_size: 5_000,
            perplexity: 30.0,
            iterations: 1_000,
            theta: 0.5,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tsne {
    /// Row indices of the embedded users, ascending.
    pub rows: Vec<usize>,
    /// Row-major rows.len() x 2.
    pub embedding: Vec<f64>,
    /// Kullback-Leibler divergence of the final embedding (Barnes-Hut estimate).
    pub kl_divergence: f64,
}

pub fn tsne(p: &Points, params: &TsneParams, job: &Job) -> Result<Tsne, ClusterError> {
    validate(p, None, None)?;
    if params.perplexity.is_nan()
        || params.perplexity <= 0.0
        || params.theta.is_nan()
        || params.theta < 0.0
    {
        return Err(ClusterError::InvalidParameter {
            parameter: "t-SNE",
            message: "perplexity must be positive and theta non-negative".into(),
        });
    }
    let rows = if p.n > params.sample_size.max(3) {
        sample_rows(p.n, params.sample_size.max(3), params.seed)
    } else {
        (0..p.n).collect()
    };
    let n = rows.len();
    let data = p.gather(&rows);
    let sp = Points::new(&data, n, p.d);
    // Reduce wide inputs to 50 dimensions.
    let (x, d) = if p.d > 50 {
        let pca = Pca::fit(&sp, 50, job)?;
        (pca.transform(&sp), 50)
    } else {
        (data.clone(), p.d)
    };
    let xp = Points::new(&x, n, d);
    job.progress("t-SNE neighbours", 0.0);
    let k = ((3.0 * params.perplexity) as usize).clamp(1, n - 1);
    let perplexity = params.perplexity.min((n - 1) as f64 / 3.0).max(1.0);
    let (nbr, pcond) = affinities(&xp, k, perplexity, job)?;
    let (ptr, idx, pval) = symmetrise(n, k, &nbr, &pcond);
    // PCA initialisation, first component scaled to sd 1e-4 (scikit-learn).
    let pca = Pca::fit(&xp, 2.min(d), job)?;
    let mut y = pca.transform(&xp);
    if d == 1 {
        y = y.iter().flat_map(|&v| [v, 0.0]).collect();
    }
    let sd = {
        let m = (0..n).map(|i| y[2 * i]).sum::<f64>() / n as f64;
        ((0..n).map(|i| (y[2 * i] - m).powi(2)).sum::<f64>() / n as f64).sqrt()
    };
    if sd > 0.0 {
        y.iter_mut().for_each(|v| *v *= 1e-4 / sd);
    }
    let lr = (n as f64 / 12.0 / 4.0).max(50.0);
    let mut update = vec![0.0; 2 * n];
    let mut gains = vec![1.0f64; 2 * n];
    let exaggeration_iters = 250.min(params.iterations);
    let mut kl = f64::NAN;
    for it in 0..params.iterations {
        job.check()?;
        if it % 10 == 0 {
            job.progress("t-SNE", it as f32 / params.iterations as f32);
        }
        let (exag, momentum) = if it < exaggeration_iters {
            (12.0, 0.5)
        } else {
            (1.0, 0.8)
        };
        let (grad, z_kl) = gradient(
            &y,
            n,
            &ptr,
            &idx,
            &pval,
            exag,
            params.theta,
            it + 1 == params.iterations,
        );
        if let Some(v) = z_kl {
            kl = v;
        }
        for j in 0..2 * n {
            let same = (update[j] > 0.0) == (grad[j] > 0.0);
            gains[j] = if same { gains[j] * 0.8 } else { gains[j] + 0.2 };
            gains[j] = gains[j].max(0.01);
            update[j] = momentum * update[j] - lr * gains[j] * grad[j];
            y[j] += update[j];
        }
    }
    job.progress("t-SNE", 1.0);
    Ok(Tsne {
        rows,
        embedding: y,
        kl_divergence: kl,
    })
}

/// k nearest neighbours of every point (brute force, parallel) and the conditional probabilities
/// p(j|i) whose entropy matches the perplexity (binary search on the Gaussian precision).
fn affinities(
    p: &Points,
    k: usize,
    perplexity: f64,
    job: &Job,
) -> Result<(Vec<usize>, Vec<f64>), ClusterError> {
    let n = p.n;
    let target = perplexity.ln();
    let per: Vec<(Vec<usize>, Vec<f64>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            if job.is_cancelled() {
                return (vec![0; k], vec![0.0; k]);
            }
            let x = p.row(i);
            let mut d: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (sq_dist(x, p.row(j)), j))
                .collect();
            d.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            d.truncate(k);
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let dist: Vec<f64> = d.iter().map(|v| v.0).collect();
            let (mut lo, mut hi, mut beta) = (f64::NEG_INFINITY, f64::INFINITY, 1.0);
            let mut probs = vec![0.0; k];
            for _ in 0..100 {
                let mut sum = 0.0;
                for (pr, &dj) in probs.iter_mut().zip(&dist) {
                    *pr = (-dj * beta).exp();
                    sum += *pr;
                }
                let sum = sum.max(1e-300);
                let mut h = 0.0;
                for (pr, &dj) in probs.iter_mut().zip(&dist) {
                    *pr /= sum;
                    h += dj * *pr;
                }
                // Entropy in nats: log(sum) + beta * E[d].
                let entropy = sum.ln() + beta * h;
                let diff = entropy - target;
                if diff.abs() < 1e-5 {
                    break;
                }
                if diff > 0.0 {
                    lo = beta;
                    beta = if hi.is_finite() {
                        (beta + hi) / 2.0
                    } else {
                        beta * 2.0
                    };
                } else {
                    hi = beta;
                    beta = if lo.is_finite() {
                        (beta + lo) / 2.0
                    } else {
                        beta / 2.0
                    };
                }
            }
            (d.iter().map(|v| v.1).collect(), probs)
        })
        .collect();
    job.check()?;
    let mut nbr = Vec::with_capacity(n * k);
    let mut pc = Vec::with_capacity(n * k);
    for (a, b) in per {
        nbr.extend(a);
        pc.extend(b);
    }
    Ok((nbr, pc))
}

/// P = (P_cond + P_cond^T) / (2n) as a compressed sparse row matrix.
fn symmetrise(n: usize, k: usize, nbr: &[usize], pc: &[f64]) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for i in 0..n {
        for t in 0..k {
            let (j, v) = (nbr[i * k + t], pc[i * k + t]);
            rows[i].push((j, v));
            rows[j].push((i, v));
        }
    }
    let mut ptr = vec![0];
    let mut idx = Vec::new();
    let mut val = Vec::new();
    let total = 2.0 * n as f64;
    for mut r in rows {
        r.sort_by_key(|e| e.0);
        let mut last = usize::MAX;
        for (j, v) in r {
            if j == last {
                *val.last_mut().expect("an entry was pushed") += v / total;
            } else {
                idx.push(j);
                val.push(v / total);
                last = j;
            }
        }
        ptr.push(idx.len());
    }
    (ptr, idx, val)
}

/// A Barnes-Hut quadtree over the embedding, nodes in an arena.
struct QuadTree {
    nodes: Vec<Node>,
}

#[derive(Clone)]
struct Node {
    cx: f64,
    cy: f64,
    half: f64,
    mass_x: f64,
    mass_y: f64,
    count: usize,
    /// Children (NW, NE, SW, SE), 0 = none; a leaf has none.
    children: [u32; 4],
    /// The point of a single-point leaf.
    point: usize,
}

impl QuadTree {
    fn build(y: &[f64], n: usize) -> QuadTree {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for i in 0..n {
            x0 = x0.min(y[2 * i]);
            x1 = x1.max(y[2 * i]);
            y0 = y0.min(y[2 * i + 1]);
            y1 = y1.max(y[2 * i + 1]);
        }
        let half = ((x1 - x0).max(y1 - y0) / 2.0).max(1e-12) * (1.0 + 1e-9);
        let mut t = QuadTree {
            nodes: vec![Node::new((x0 + x1) / 2.0, (y0 + y1) / 2.0, half)],
        };
        for i in 0..n {
            t.insert(0, i, y[2 * i], y[2 * i + 1], y, 0);
        }
        t
    }

    fn insert(&mut self, node: usize, i: usize, px: f64, py: f64, y: &[f64], depth: usize) {
        let nd = &mut self.nodes[node];
        nd.mass_x = (nd.mass_x * nd.count as f64 + px) / (nd.count + 1) as f64;
        nd.mass_y = (nd.mass_y * nd.count as f64 + py) / (nd.count + 1) as f64;
        nd.count += 1;
        if nd.count == 1 {
            nd.point = i;
            return;
        }
        // Duplicate points (or a very deep tree) stay aggregated in this node.
        if depth > 48 {
            return;
        }
        let was_leaf = nd.children == [0; 4];
        if was_leaf {
            // Push the existing point down first.
            let old = nd.point;
            let (ox, oy) = (y[2 * old], y[2 * old + 1]);
            let c = self.child_for(node, ox, oy);
            self.insert(c, old, ox, oy, y, depth + 1);
        }
        let c = self.child_for(node, px, py);
        self.insert(c, i, px, py, y, depth + 1);
    }

    fn child_for(&mut self, node: usize, px: f64, py: f64) -> usize {
        let nd = &self.nodes[node];
        let q = (usize::from(px >= nd.cx)) + 2 * usize::from(py < nd.cy);
        if nd.children[q] != 0 {
            return nd.children[q] as usize;
        }
        let h = nd.half / 2.0;
        let cx = if px >= nd.cx { nd.cx + h } else { nd.cx - h };
        let cy = if py < nd.cy { nd.cy - h } else { nd.cy + h };
        self.nodes.push(Node::new(cx, cy, h));
        let id = self.nodes.len() - 1;
        self.nodes[node].children[q] = id as u32;
        id
    }

    /// Repulsive force on a point (unnormalised) and its share of the normalisation Z.
    fn repulse(&self, i: usize, px: f64, py: f64, theta: f64) -> (f64, f64, f64) {
        let (mut fx, mut fy, mut z) = (0.0, 0.0, 0.0);
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            let nd = &self.nodes[id];
            if nd.count == 0 || (nd.count == 1 && nd.point == i) {
                continue;
            }
            let dx = px - nd.mass_x;
            let dy = py - nd.mass_y;
            let d2 = dx * dx + dy * dy;
            let leaf = nd.children == [0; 4];
            if leaf || (2.0 * nd.half) * (2.0 * nd.half) < theta * theta * d2 {
                // A leaf holding duplicates of point i counts the others only.
                let mut count = nd.count as f64;
                if leaf && d2 == 0.0 {
                    count -= 1.0;
                }
                let q = 1.0 / (1.0 + d2);
                z += count * q;
                fx += count * q * q * dx;
                fy += count * q * q * dy;
            } else {
                stack.extend(nd.children.iter().filter(|&&c| c != 0).map(|&c| c as usize));
            }
        }
        (fx, fy, z)
    }
}

impl Node {
    fn new(cx: f64, cy: f64, half: f64) -> Node {
        Node {
            cx,
            cy,
            half,
            mass_x: 0.0,
            mass_y: 0.0,
            count: 0,
            children: [0; 4],
            point: usize::MAX,
        }
    }
}

/// Gradient of the KL divergence (Barnes-Hut); with `want_kl`, also the divergence.
#[allow(clippy::too_many_arguments)]
fn gradient(
    y: &[f64],
    n: usize,
    ptr: &[usize],
    idx: &[usize],
    pval: &[f64],
    exag: f64,
    theta: f64,
    want_kl: bool,
) -> (Vec<f64>, Option<f64>) {
    let tree = QuadTree::build(y, n);
    let per: Vec<(f64, f64, f64, f64, f64)> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| {
            let (px, py) = (y[2 * i], y[2 * i + 1]);
            let (mut ax, mut ay) = (0.0, 0.0);
            for e in ptr[i]..ptr[i + 1] {
                let j = idx[e];
                let dx = px - y[2 * j];
                let dy = py - y[2 * j + 1];
                let q = 1.0 / (1.0 + dx * dx + dy * dy);
                ax += exag * pval[e] * q * dx;
                ay += exag * pval[e] * q * dy;
            }
            let (rx, ry, z) = tree.repulse(i, px, py, theta);
            (ax, ay, rx, ry, z)
        })
        .collect();
    let z: f64 = per.iter().map(|v| v.4).sum::<f64>().max(1e-300);
    let mut grad = vec![0.0; 2 * n];
    for (i, v) in per.iter().enumerate() {
        grad[2 * i] = 4.0 * (v.0 - v.2 / z);
        grad[2 * i + 1] = 4.0 * (v.1 - v.3 / z);
    }
    let kl = want_kl.then(|| {
        let mut kl = 0.0;
        for i in 0..n {
            for e in ptr[i]..ptr[i + 1] {
                let j = idx[e];
                let d2 = sq_dist(&y[2 * i..2 * i + 2], &y[2 * j..2 * j + 2]);
                let q = (1.0 / (1.0 + d2)) / z;
                let pij = pval[e];
                if pij > 0.0 {
                    kl += pij * (pij.max(1e-12) / q.max(1e-12)).ln();
                }
            }
        }
        kl
    });
    (grad, kl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_groups_stay_separated_and_the_seed_fixes_the_result() {
        // Three groups in 5-D; in the embedding every point's nearest neighbour is in its own group.
        let mut data = Vec::new();
        for g in 0..3 {
            for i in 0..60 {
                for j in 0..5 {
                    let off = if j == g { 20.0 } else { 0.0 };
                    data.push(off + ((i * 7 + j * 13 + g) as f64 * 0.37).sin());
                }
            }
        }
        let p = Points::new(&data, 180, 5);
        let params = TsneParams {
            iterations: 400,
            perplexity: 15.0,
            ..Default::default()
        };
        let a = tsne(&p, &params, &Job::silent()).unwrap();
        let b = tsne(&p, &params, &Job::silent()).unwrap();
        assert_eq!(a, b);
        let e = &a.embedding;
        for i in 0..180 {
            let nn = (0..180)
                .filter(|&j| j != i)
                .min_by(|&x, &y| {
                    sq_dist(&e[2 * i..2 * i + 2], &e[2 * x..2 * x + 2])
                        .total_cmp(&sq_dist(&e[2 * i..2 * i + 2], &e[2 * y..2 * y + 2]))
                })
                .unwrap();
            assert_eq!(nn / 60, i / 60, "point {i}");
        }
        assert!(a.kl_divergence.is_finite() && a.kl_divergence > 0.0);
    }
}
