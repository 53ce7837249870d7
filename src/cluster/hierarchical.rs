//! Hierarchical agglomerative clustering: Ward, average, complete and single linkage.
//!
//! Average, complete and single run kodama (fastcluster's algorithms) on a condensed Euclidean distance
//! matrix built in parallel: f64 up to [`F64_MATRIX_LIMIT`] users, f32 above (half the memory). Ward needs
//! no matrix: the nearest-neighbour chain runs on the cluster centroids (O(n) memory, like fastcluster's
//! `linkage_vector`). The merge history is returned in scipy's linkage-matrix convention, heights on
//! scipy's scale: singletons are 0..n-1, the cluster made at step t is n+t, each row is (a, b, height,
//! size) with a < b, rows sorted by height. Above the exact limit a seeded sample is clustered and the
//! result says so.
//!
//! linfa-hierarchical 0.8.1 is not used: it gives kodama squared distances (wrong Ward heights),
//! saturates distances, discards the dendrogram and renumbers clusters between runs.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::points::{Points, sample_rows, sq_dist, validate};
use crate::error::ClusterError;
use crate::job::Job;

/// Distance matrices up to this many users are f64; above, f32 (heights then carry f32 precision).
pub const F64_MATRIX_LIMIT: usize = 10_000;
/// Default exact limits: Ward runs on vectors; the others need the O(n^2) matrix.
pub const WARD_EXACT_LIMIT: usize = 50_000;
pub const MATRIX_EXACT_LIMIT: usize = 20_000;

pub use persona_lab_runtime::segments::Linkage;

/// The largest sample a linkage clusters exactly by default.
pub fn default_exact_limit(linkage: Linkage) -> usize {
    match linkage {
        Linkage::Ward => WARD_EXACT_LIMIT,
        _ => MATRIX_EXACT_LIMIT,
    }
}

/// One merge: clusters `a` < `b` (scipy labels) joined at `height` into a cluster of `size` users.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    pub a: usize,
    pub b: usize,
    pub height: f64,
    pub size: usize,
}

/// The full merge history over `n` leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dendrogram {
    pub n: usize,
    pub merges: Vec<Merge>,
}

impl Dendrogram {
    /// The scipy linkage matrix: n-1 rows of [a, b, height, size].
    pub fn linkage_matrix(&self) -> Vec<[f64; 4]> {
        self.merges
            .iter()
            .map(|m| [m.a as f64, m.b as f64, m.height, m.size as f64])
            .collect()
    }

    /// Leaf labels after applying the first `merges` merges, numbered so that a cut one cluster finer
    /// keeps every number and gives the new cluster the next one: the tree is split top-down, and at
    /// each split the side holding the lowest-numbered user keeps its parent's number. So a segment
    /// keeps its id (and its colour in every chart) as k moves, and user 0 is always in cluster 0.
    fn labels_after(&self, merges: usize) -> Vec<usize> {
        let n = self.n;
        let total = self.merges.len();
        // The lowest user under each node (leaves are themselves).
        let mut low: Vec<usize> = (0..n).collect();
        for m in &self.merges {
            low.push(low[m.a].min(low[m.b]));
        }
        let mut label = vec![usize::MAX; n + total];
        let mut next = 0;
        // Nodes no drawn merge covers are roots of their own (an incomplete tree: none in practice).
        let mut covered = vec![false; n + total];
        for m in &self.merges {
            covered[m.a] = true;
            covered[m.b] = true;
        }
        for node in (0..n + total).rev() {
            if !covered[node] {
                label[node] = next;
                next += 1;
            }
        }
        for i in (0..total).rev() {
            let m = self.merges[i];
            let parent = label[n + i];
            if i >= merges {
                // Not applied: this merge is a split of the cut.
                let (keep, new) = if low[m.a] <= low[m.b] {
                    (m.a, m.b)
                } else {
                    (m.b, m.a)
                };
                label[keep] = parent;
                label[new] = next;
                next += 1;
            } else {
                label[m.a] = parent;
                label[m.b] = parent;
            }
        }
        label.truncate(n);
        label
    }

    /// Cut into `k` clusters (scipy `fcluster(Z, k, 'maxclust')` up to numbering).
    pub fn cut_k(&self, k: usize) -> Vec<usize> {
        let k = k.clamp(1, self.n);
        self.labels_after(self.n - k)
    }

    /// Cut at a height: merges at or below `h` are applied (scipy `fcluster(Z, h, 'distance')`).
    pub fn cut_height(&self, h: f64) -> Vec<usize> {
        let m = self.merges.iter().take_while(|m| m.height <= h).count();
        self.labels_after(m)
    }

    /// The number of clusters a cut at height `h` gives.
    pub fn k_at_height(&self, h: f64) -> usize {
        self.n - self.merges.iter().take_while(|m| m.height <= h).count()
    }
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[rb] = ra;
        }
    }
}

/// Hierarchical clustering parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hierarchical {
    pub linkage: Linkage,
    /// Cluster all users up to this many; above, a seeded sample of this size (default per linkage).
    pub exact_limit: Option<usize>,
    pub seed: u64,
}

/// A fitted hierarchy: the dendrogram over the clustered rows, and which rows they were when sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HierarchicalFit {
    pub linkage: Linkage,
    pub dendrogram: Dendrogram,
    /// Row indices of the sample the dendrogram's leaves stand for; `None` when every row was clustered.
    pub sample: Option<Vec<usize>>,
}

impl Hierarchical {
    pub fn new(linkage: Linkage) -> Self {
        Hierarchical {
            linkage,
            exact_limit: None,
            seed: 0,
        }
    }

    pub fn fit(&self, p: &Points, job: &Job) -> Result<HierarchicalFit, ClusterError> {
        validate(p, None, None)?;
        let limit = self
            .exact_limit
            .unwrap_or(default_exact_limit(self.linkage))
            .max(2);
        if p.n > limit {
            let rows = sample_rows(p.n, limit, self.seed);
            let data = p.gather(&rows);
            let sp = Points::new(&data, rows.len(), p.d);
            let dendrogram = self.dendrogram(&sp, job)?;
            return Ok(HierarchicalFit {
                linkage: self.linkage,
                dendrogram,
                sample: Some(rows),
            });
        }
        Ok(HierarchicalFit {
            linkage: self.linkage,
            dendrogram: self.dendrogram(p, job)?,
            sample: None,
        })
    }

    fn dendrogram(&self, p: &Points, job: &Job) -> Result<Dendrogram, ClusterError> {
        match self.linkage {
            Linkage::Ward => ward_nn_chain(p, job),
            other => {
                let method = match other {
                    Linkage::Average => kodama::Method::Average,
                    Linkage::Complete => kodama::Method::Complete,
                    _ => kodama::Method::Single,
                };
                check_matrix_memory(p.n, other)?;
                if p.n <= F64_MATRIX_LIMIT {
                    let mut m = condensed::<f64>(p, job, |x| x)?;
                    job.progress("linkage", 0.0);
                    Ok(from_kodama(&kodama::linkage(&mut m, p.n, method), |v| v))
                } else {
                    let mut m = condensed::<f32>(p, job, |x| x as f32)?;
                    job.progress("linkage", 0.0);
                    Ok(from_kodama(&kodama::linkage(&mut m, p.n, method), |v| {
                        v as f64
                    }))
                }
            }
        }
    }
}

/// Bytes of the condensed distance matrix of `n` users (f64 up to `F64_MATRIX_LIMIT`, else f32).
pub fn matrix_bytes(n: usize) -> u64 {
    let cells = (n as u64).saturating_mul(n.saturating_sub(1) as u64) / 2;
    cells.saturating_mul(if n <= F64_MATRIX_LIMIT { 8 } else { 4 })
}

/// Refuse, before allocating, a distance matrix larger than the memory budget: one million users
/// asked for exactly would otherwise abort on a 2 TB allocation.
fn check_matrix_memory(n: usize, linkage: Linkage) -> Result<(), ClusterError> {
    let need = matrix_bytes(n);
    let budget =
        crate::data::memory::budget().map_err(|message| ClusterError::InvalidParameter {
            parameter: "memory budget",
            message,
        })?;
    match budget {
        Some(b) if need > b.bytes => Err(ClusterError::InvalidParameter {
            parameter: "exact limit",
            message: format!(
                "{} linkage on {n} users needs a {} distance matrix, and {} is {}; lower the \
                 exact limit (a seeded sample is clustered and everyone else assigned to the \
                 nearest centroid), or use ward or k-means, which need no matrix",
                linkage.name(),
                crate::data::memory::human(need),
                b.source,
                crate::data::memory::human(b.bytes)
            ),
        }),
        _ => Ok(()),
    }
}

/// The condensed (upper-triangle, row by row) Euclidean distance matrix, rows in parallel.
fn condensed<T: Send + Sync + Copy + Default>(
    p: &Points,
    job: &Job,
    conv: impl Fn(f64) -> T + Sync,
) -> Result<Vec<T>, ClusterError> {
    let n = p.n;
    let mut out = vec![T::default(); n * (n - 1) / 2];
    // Split the flat buffer into per-row slices: row i holds distances to i+1..n.
    let mut rows: Vec<(usize, &mut [T])> = Vec::with_capacity(n);
    let mut rest = out.as_mut_slice();
    for i in 0..n - 1 {
        let (head, tail) = rest.split_at_mut(n - 1 - i);
        rows.push((i, head));
        rest = tail;
    }
    rows.into_par_iter().for_each(|(i, row)| {
        if job.is_cancelled() {
            return;
        }
        let x = p.row(i);
        for (o, slot) in row.iter_mut().enumerate() {
            *slot = conv(sq_dist(x, p.row(i + 1 + o)).sqrt());
        }
    });
    job.check()?;
    Ok(out)
}

fn from_kodama<T: Copy>(d: &kodama::Dendrogram<T>, conv: impl Fn(T) -> f64) -> Dendrogram {
    Dendrogram {
        n: d.observations(),
        merges: d
            .steps()
            .iter()
            .map(|s| Merge {
                a: s.cluster1.min(s.cluster2),
                b: s.cluster1.max(s.cluster2),
                height: conv(s.dissimilarity),
                size: s.size,
            })
            .collect(),
    }
}

/// Ward linkage by the nearest-neighbour chain on centroids. The Ward distance of clusters x and y is
/// sqrt(2 |x| |y| / (|x| + |y|)) * ||c_x - c_y||, which is scipy's scale (two single users: their
/// Euclidean distance). Active clusters are kept compact so each nearest-neighbour scan reads contiguous
/// memory, and long scans are split across threads.
fn ward_nn_chain(p: &Points, job: &Job) -> Result<Dendrogram, ClusterError> {
    let n = p.n;
    let d = p.d;
    // Compact storage of the active clusters: position -> (slot id, size, centroid).
    let mut cent: Vec<f64> = p.data.to_vec();
    let mut size: Vec<f64> = vec![1.0; n];
    let mut slot: Vec<usize> = (0..n).collect();
    let mut pos_of: Vec<usize> = (0..n).collect();
    let mut chain: Vec<usize> = Vec::new(); // slot ids
    let mut raw: Vec<(usize, usize, f64)> = Vec::with_capacity(n - 1);
    let mut active = n;
    while active > 1 {
        if raw.len().is_multiple_of(256) {
            job.check()?;
            job.progress("ward", raw.len() as f32 / (n - 1) as f32);
        }
        if chain.is_empty() {
            chain.push(slot[0]);
        }
        let (x, y, dist) = loop {
            let x = *chain.last().expect("chain is not empty");
            let px = pos_of[x];
            let prev = chain.len().checked_sub(2).map(|i| chain[i]);
            let xc: Vec<f64> = cent[px * d..(px + 1) * d].to_vec();
            let sx = size[px];
            let ward = |q: usize| -> f64 {
                let sy = size[q];
                2.0 * sx * sy / (sx + sy) * sq_dist(&xc, &cent[q * d..(q + 1) * d])
            };
            // Start from the previous chain element so ties keep the chain finite.
            let mut best = match prev {
                Some(pr) => (ward(pos_of[pr]), pos_of[pr]),
                None => (f64::INFINITY, usize::MAX),
            };
            let scan = |lo: usize, hi: usize| -> (f64, usize) {
                let mut b = (f64::INFINITY, usize::MAX);
                for q in lo..hi {
                    if q != px {
                        let w = ward(q);
                        if w < b.0 {
                            b = (w, q);
                        }
                    }
                }
                b
            };
            const PAR: usize = 8192;
            let found = if active > 2 * PAR {
                let parts: Vec<(f64, usize)> = (0..active.div_ceil(PAR))
                    .into_par_iter()
                    .map(|c| scan(c * PAR, ((c + 1) * PAR).min(active)))
                    .collect();
                parts.into_iter().fold(
                    (f64::INFINITY, usize::MAX),
                    |a, b| if b.0 < a.0 { b } else { a },
                )
            } else {
                scan(0, active)
            };
            if found.0 < best.0 {
                best = found;
            }
            let y = slot[best.1];
            if Some(y) == prev {
                chain.pop();
                chain.pop();
                break (x, y, best.0);
            }
            chain.push(y);
        };
        // Merge x and y into y's position; remove x's position by moving the last one there.
        let (px, py) = (pos_of[x], pos_of[y]);
        let (sx, sy) = (size[px], size[py]);
        for j in 0..d {
            cent[py * d + j] = (sx * cent[px * d + j] + sy * cent[py * d + j]) / (sx + sy);
        }
        size[py] = sx + sy;
        let last = active - 1;
        if px != last {
            for j in 0..d {
                cent[px * d + j] = cent[last * d + j];
            }
            size[px] = size[last];
            slot[px] = slot[last];
            pos_of[slot[px]] = px;
        }
        active -= 1;
        raw.push((x, y, dist.max(0.0).sqrt()));
    }
    Ok(relabel(n, raw))
}

/// Sort raw merges (between representative observations) by height, stably, and number the clusters
/// as scipy does.
fn relabel(n: usize, mut raw: Vec<(usize, usize, f64)>) -> Dendrogram {
    // Stable sort keeps the chain's order among equal heights.
    raw.sort_by(|a, b| a.2.total_cmp(&b.2));
    let mut uf = UnionFind::new(n);
    let mut node: Vec<usize> = (0..n).collect(); // root observation -> current scipy label
    let mut sizes: Vec<usize> = vec![1; n];
    let merges = raw
        .iter()
        .enumerate()
        .map(|(t, &(x, y, h))| {
            let (rx, ry) = (uf.find(x), uf.find(y));
            let (lx, ly) = (node[rx], node[ry]);
            let size = sizes[rx] + sizes[ry];
            uf.union(rx, ry);
            let r = uf.find(rx);
            node[r] = n + t;
            sizes[r] = size;
            Merge {
                a: lx.min(ly),
                b: lx.max(ly),
                height: h,
                size,
            }
        })
        .collect();
    Dendrogram { n, merges }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<f64> {
        (0..120)
            .map(|i| ((i * 29 % 97) as f64 * 0.41).sin() * (1 + i % 4) as f64)
            .collect()
    }

    #[test]
    fn ward_on_vectors_equals_kodama_on_the_matrix() {
        let v = data();
        let p = Points::new(&v, 40, 3);
        let ours = ward_nn_chain(&p, &Job::silent()).unwrap();
        let mut m = condensed::<f64>(&p, &Job::silent(), |x| x).unwrap();
        let theirs = from_kodama(&kodama::linkage(&mut m, 40, kodama::Method::Ward), |v| v);
        assert_eq!(ours.merges.len(), 39);
        for (a, b) in ours.merges.iter().zip(&theirs.merges) {
            assert_eq!((a.a, a.b, a.size), (b.a, b.b, b.size));
            assert!((a.height - b.height).abs() < 1e-9 * b.height.max(1.0));
        }
    }

    #[test]
    fn cuts_are_consistent() {
        let v = data();
        let p = Points::new(&v, 40, 3);
        let fit = Hierarchical::new(Linkage::Average)
            .fit(&p, &Job::silent())
            .unwrap();
        let d = &fit.dendrogram;
        for k in 1..=40 {
            let labels = d.cut_k(k);
            assert_eq!(*labels.iter().max().unwrap() + 1, k);
            assert_eq!(labels[0], 0);
        }
        let h = d.merges[30].height;
        assert_eq!(d.k_at_height(h), 40 - 31);
        assert_eq!(d.cut_height(h), d.cut_k(9));
        // One cluster finer keeps every number: only users of one old cluster move, all to the new k.
        for k in 1..40 {
            let (coarse, fine) = (d.cut_k(k), d.cut_k(k + 1));
            let moved: Vec<usize> = (0..d.n).filter(|&u| coarse[u] != fine[u]).collect();
            assert!(!moved.is_empty(), "k = {k}");
            assert!(moved.iter().all(|&u| fine[u] == k), "k = {k}");
            let from: std::collections::HashSet<usize> = moved.iter().map(|&u| coarse[u]).collect();
            assert_eq!(from.len(), 1, "k = {k}");
        }
    }
}
