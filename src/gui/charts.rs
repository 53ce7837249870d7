//! The geometry behind the charts, free of drawing code so it can be unit-tested: silhouette bar order
//! and binning, dendrogram layout with truncation, scatter downsampling, the shared colour palette.

use egui_plot::{Legend, PlotPoint};
use persona_lab::cluster::{Dendrogram, Tsne};
use persona_lab::pipeline::ClusterRun;
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

pub use persona_lab::palette::cluster_rgb;

use super::state::Pick;

/// Segment `c`'s colour in every chart and label.
/// The legend of a chart with a series per persona: in the order drawn (segment order, as the
/// tables and cards list them), not sorted by name as egui_plot does by default.
pub fn persona_legend() -> Legend {
    Legend::default().follow_insertion_order(true)
}

pub fn colour(c: usize) -> egui::Color32 {
    let [r, g, b] = cluster_rgb(c);
    egui::Color32::from_rgb(r, g, b)
}

/// A plot line drawn as a line. egui_plot 0.38 merges a line's points that share a pixel column into
/// a filled band by default: a curve with vertical runs (a ROC step, a dendrogram branch) then
/// shows as a filled blob. Every chart line goes through here.
pub fn line<'a>(
    name: impl Into<String>,
    points: impl Into<egui_plot::PlotPoints<'a>>,
) -> egui_plot::Line<'a> {
    egui_plot::Line::new(name, points).allow_band(false)
}

/// One bar of the silhouette plot: `users` consecutive users (sorted) of a cluster drawn as one bar at
/// `position` with the given value (the mean of the bin), `first` the index of the first user in
/// `order`.
#[derive(Debug, Clone, PartialEq)]
pub struct SilBar {
    pub cluster: usize,
    pub position: f64,
    pub value: f64,
    pub users: usize,
    pub first: usize,
}

/// Silhouette plot layout: users sorted by cluster, then by value descending within the cluster (as in
/// scikit-learn's gallery plot); clusters stacked bottom to top with a gap; at most `max_bars` bars in
/// all, consecutive users of a cluster averaged into one bar when there are more users than that.
/// Returns the bars and the user order (row indices) they refer to.
pub fn silhouette_bars(
    values: &[Option<f64>],
    labels: &[usize],
    k: usize,
    max_bars: usize,
) -> (Vec<SilBar>, Vec<usize>) {
    let scored: usize = values.iter().filter(|v| v.is_some()).count();
    let per_bar = scored.div_ceil(max_bars.max(1)).max(1);
    let gap = (scored as f64 / 50.0).max(2.0);
    let mut order = Vec::with_capacity(scored);
    let mut bars = Vec::new();
    let mut y = 0.0;
    for c in 0..k {
        let mut members: Vec<(usize, f64)> = values
            .iter()
            .enumerate()
            .filter(|(i, v)| labels[*i] == c && v.is_some())
            .map(|(i, v)| (i, v.unwrap_or(0.0)))
            .collect();
        members.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let start = order.len();
        order.extend(members.iter().map(|m| m.0));
        for (b, chunk) in members.chunks(per_bar).enumerate() {
            let value = chunk.iter().map(|m| m.1).sum::<f64>() / chunk.len() as f64;
            bars.push(SilBar {
                cluster: c,
                position: y + (b * per_bar) as f64 + chunk.len() as f64 / 2.0,
                value,
                users: chunk.len(),
                first: start + b * per_bar,
            });
        }
        y += members.len() as f64 + gap;
    }
    (bars, order)
}

/// A drawn dendrogram: U-shaped links between x positions (leaves at 0, 1, 2, ...), heights on y.
#[derive(Debug, Clone, PartialEq)]
pub struct DendroLayout {
    /// One link per drawn merge: (x_left, x_right, child heights, merge height, node id).
    pub links: Vec<Link>,
    /// Leaves in drawing order: the node id (a user when < n, else a truncated subtree) and its size.
    pub leaves: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub x_left: f64,
    pub x_right: f64,
    pub y_left: f64,
    pub y_right: f64,
    pub height: f64,
    pub node: usize,
}

/// The dendrogram as drawn with a cut at `k`: the layout of the top clusters, the cut's height,
/// whether merges tie at it (then the line cannot say k exactly), and the segment of each link below
/// the cut (`None` above it). Made once per run, leaves drawn and k, not every frame: cutting the
/// tree walks every user.
#[derive(Debug)]
pub struct DendroView {
    pub layout: DendroLayout,
    pub cut: f64,
    pub tied: bool,
    pub link_segment: Vec<Option<usize>>,
}

pub fn dendrogram_view(d: &Dendrogram, leaves: usize, k: usize) -> DendroView {
    let layout = dendrogram_layout(d, leaves);
    let cut = cut_height_for_k(d, k);
    let labels = d.cut_k(k);
    // A link below the cut takes the segment of any user under it.
    let leaf_user = |node: usize| -> usize {
        let mut x = node;
        while x >= d.n {
            x = d.merges[x - d.n].a;
        }
        x
    };
    let link_segment = layout
        .links
        .iter()
        .map(|l| (l.height < cut).then(|| labels.get(leaf_user(l.node)).copied().unwrap_or(0)))
        .collect();
    DendroView {
        tied: d.k_at_height(cut) != k.clamp(1, d.n),
        layout,
        cut,
        link_segment,
    }
}

/// Layout of the top `p` clusters' merges (scipy's `truncate_mode='lastp'`): the last p-1 merges are
/// drawn; everything merged before them is a leaf labelled with its size. Leaves are ordered by a
/// depth-first walk (left child first), so no links cross.
pub fn dendrogram_layout(d: &Dendrogram, p: usize) -> DendroLayout {
    let n = d.n;
    let total = d.merges.len();
    let p = p.clamp(2, n);
    let first_drawn = total + 1 - p; // merges with index >= first_drawn are drawn
    let size_of = |node: usize| if node < n { 1 } else { d.merges[node - n].size };
    let drawn = |node: usize| node >= n && node - n >= first_drawn;
    let mut leaves = Vec::new();
    let mut links = Vec::new();
    // Iterative post-order walk returning (x, y) of each subtree's top.
    fn walk(
        node: usize,
        d: &Dendrogram,
        drawn: &dyn Fn(usize) -> bool,
        size_of: &dyn Fn(usize) -> usize,
        leaves: &mut Vec<(usize, usize)>,
        links: &mut Vec<Link>,
    ) -> (f64, f64) {
        if !drawn(node) {
            let x = leaves.len() as f64;
            leaves.push((node, size_of(node)));
            return (x, 0.0);
        }
        let m = d.merges[node - d.n];
        let (xl, yl) = walk(m.a, d, drawn, size_of, leaves, links);
        let (xr, yr) = walk(m.b, d, drawn, size_of, leaves, links);
        links.push(Link {
            x_left: xl,
            x_right: xr,
            y_left: yl,
            y_right: yr,
            height: m.height,
            node,
        });
        ((xl + xr) / 2.0, m.height)
    }
    if total == 0 {
        return DendroLayout {
            links,
            leaves: vec![(0, 1)],
        };
    }
    walk(n + total - 1, d, &drawn, &size_of, &mut leaves, &mut links);
    DendroLayout { links, leaves }
}

/// The leaves (users) under a dendrogram node, in drawing order.
pub fn leaves_under(d: &Dendrogram, node: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(x) = stack.pop() {
        if x < d.n {
            out.push(x);
        } else if let Some(m) = d.merges.get(x - d.n) {
            stack.push(m.b);
            stack.push(m.a);
        }
    }
    out
}

/// For each drawn leaf of a dendrogram over all users: (x position, selected users under it, its size).
pub fn selected_per_leaf(
    d: &Dendrogram,
    layout: &DendroLayout,
    selected: impl Fn(usize) -> bool,
) -> Vec<(f64, usize, usize)> {
    layout
        .leaves
        .iter()
        .enumerate()
        .map(|(x, &(node, size))| {
            let hit = leaves_under(d, node)
                .into_iter()
                .filter(|&u| selected(u))
                .count();
            (x as f64, hit, size)
        })
        .collect()
}

/// The drawn link whose horizontal bar is nearest to a point (in plot units scaled to pixels by
/// `scale`), if one is within `max_px`.
pub fn link_at(
    layout: &DendroLayout,
    x: f64,
    y: f64,
    scale: [f64; 2],
    max_px: f64,
) -> Option<usize> {
    layout
        .links
        .iter()
        .map(|l| {
            let cx = x.clamp(l.x_left.min(l.x_right), l.x_left.max(l.x_right));
            let dx = (x - cx) * scale[0];
            let dy = (y - l.height) * scale[1];
            (l.node, dx * dx + dy * dy)
        })
        .filter(|(_, d2)| *d2 <= max_px * max_px)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(node, _)| node)
}

/// The height at which cutting gives `k` clusters: midway between the merge that would leave k-1 and
/// the one before it.
pub fn cut_height_for_k(d: &Dendrogram, k: usize) -> f64 {
    let total = d.merges.len();
    let k = k.clamp(1, d.n);
    if k == 1 {
        return d.merges.last().map(|m| m.height * 1.05).unwrap_or(0.0);
    }
    let upper = d.merges[total + 1 - k].height;
    let lower = if total >= k {
        d.merges[total - k].height
    } else {
        0.0
    };
    (upper + lower) / 2.0
}

/// At most `max` row indices, a seeded uniform sample (sorted) when there are more rows; drawing only
/// these leaves every statistic (computed on all rows) unchanged.
pub fn downsample(n: usize, max: usize, seed: u64) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = index::sample(&mut rng, n, max).into_vec();
    v.sort_unstable();
    v
}

/// The scatter as drawn: which users, where, split by segment, and which of them are selected. Made
/// once per run, embedding and selection (it walks every drawn user), so a frame only hands the
/// points to the plot.
#[derive(Debug)]
pub struct ScatterLayout {
    /// Row indices of the drawn users, and their coordinates in the same order.
    pub rows: Vec<usize>,
    pub coords: Vec<[f64; 2]>,
    /// The drawn users who are not selected, one list per segment.
    pub by_segment: Vec<Vec<PlotPoint>>,
    /// The drawn users who are selected, all together (for their rim) and per segment. Each user is
    /// in one of the lists, so each is drawn once.
    pub selected: Vec<PlotPoint>,
    pub selected_by_segment: Vec<Vec<PlotPoint>>,
}

/// Lay out the drawn users (`rows`, with `coords`) by segment, marking those `selected`.
pub fn scatter_layout(
    rows: Vec<usize>,
    coords: Vec<[f64; 2]>,
    labels: &[usize],
    k: usize,
    selected: impl Fn(usize) -> bool,
) -> ScatterLayout {
    let mut by_segment = vec![Vec::new(); k];
    let mut selected_by_segment = vec![Vec::new(); k];
    let mut marked = Vec::new();
    for (&i, &[x, y]) in rows.iter().zip(&coords) {
        let pt = PlotPoint::new(x, y);
        let Some(c) = labels.get(i).copied().filter(|&c| c < k) else {
            continue;
        };
        if selected(i) {
            marked.push(pt);
            selected_by_segment[c].push(pt);
        } else {
            by_segment[c].push(pt);
        }
    }
    ScatterLayout {
        rows,
        coords,
        by_segment,
        selected: marked,
        selected_by_segment,
    }
}

/// A lasso drawn on a chart, with its bounding box: a point outside the box is rejected in four
/// comparisons, so testing every user costs a pass over the users plus the polygon test for those
/// near it (a slow drag leaves a path of hundreds of vertices).
pub struct Lasso<'a> {
    poly: &'a [[f64; 2]],
    min: [f64; 2],
    max: [f64; 2],
}

impl<'a> Lasso<'a> {
    pub fn new(poly: &'a [[f64; 2]]) -> Self {
        let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in poly {
            for d in 0..2 {
                min[d] = min[d].min(p[d]);
                max[d] = max[d].max(p[d]);
            }
        }
        Lasso { poly, min, max }
    }

    pub fn contains(&self, p: [f64; 2]) -> bool {
        (0..2).all(|d| p[d] >= self.min[d] && p[d] <= self.max[d]) && inside_polygon(self.poly, p)
    }
}

/// What a curve moves, in axis units, before its next point is drawn: a ROC or PR plot is a few
/// hundred pixels on axes of length 1, so 1/2000 is under half a pixel.
pub const CURVE_STEP: f64 = 1.0 / 2000.0;

/// A curve's points as drawn: a point is kept when it has moved at least `step` along either axis
/// from the last one kept, and the last point always. A ROC or PR curve has a point per distinct
/// held-out score (a quarter of a million at a million users); thinned, it draws the same pixels
/// with a few thousand.
pub fn thin_curve(pts: &[(f64, f64)], step: f64) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::new();
    for (i, &(x, y)) in pts.iter().enumerate() {
        let keep = match out.last() {
            None => true,
            Some(&[lx, ly]) => {
                (x - lx).abs() >= step || (y - ly).abs() >= step || i + 1 == pts.len()
            }
        };
        if keep {
            out.push([x, y]);
        }
    }
    out
}

/// The held-out ROC and PR curves of a model as drawn (`thin_curve`), made on the worker that
/// trains it.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnCurves {
    pub roc: Vec<PlotPoint>,
    pub pr: Vec<PlotPoint>,
}

impl DrawnCurves {
    pub fn of(m: &persona_lab::predict::Metrics) -> Self {
        let drawn = |pts: &[(f64, f64)]| -> Vec<PlotPoint> {
            thin_curve(pts, CURVE_STEP)
                .into_iter()
                .map(|[x, y]| PlotPoint::new(x, y))
                .collect()
        };
        DrawnCurves {
            roc: drawn(&m.roc),
            pr: drawn(&m.pr),
        }
    }
}

/// The users a pick names, in the run's row order (a branch: in drawing order). Reads every user of
/// the run, so it runs on a worker (`PersonaApp::select`). `tsne` is the run's embedding, for a
/// lasso drawn over it; a branch of a tree built on a sample, or a lasso over an embedding not
/// given, picks no one.
pub fn picked(pick: &Pick, run: &ClusterRun, tsne: Option<&Tsne>) -> Vec<usize> {
    match pick {
        Pick::NegativeSilhouette => (0..run.matrix.n_rows)
            .filter(|&i| run.silhouette.values[i].is_some_and(|v| v < 0.0))
            .collect(),
        Pick::Branch(node) => match &run.segmentation.dendrogram {
            Some(d) if run.segmentation.fitted_on.is_none() => leaves_under(d, *node),
            _ => Vec::new(),
        },
        Pick::Lasso { poly, tsne: false } => {
            let lasso = Lasso::new(poly);
            (0..run.matrix.n_rows)
                .filter(|&i| lasso.contains(run.pca_xy(i)))
                .collect()
        }
        Pick::Lasso { poly, tsne: true } => {
            let lasso = Lasso::new(poly);
            tsne.map_or_else(Vec::new, |t| {
                t.rows
                    .iter()
                    .zip(t.embedding.chunks_exact(2))
                    .filter(|(_, xy)| lasso.contains([xy[0], xy[1]]))
                    .map(|(&i, _)| i)
                    .collect()
            })
        }
    }
}

/// Whether a point lies inside a closed polygon (even-odd rule; the last vertex joins the first).
pub fn inside_polygon(poly: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    let n = poly.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (poly[i], poly[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thinned_curve_stays_within_a_step_of_every_point_and_keeps_its_ends() {
        // A staircase of 100,000 points from (0, 0) to (1, 1), as a ROC curve over many users.
        let n = 100_000;
        let pts: Vec<(f64, f64)> = (0..=n)
            .map(|i| {
                let t = i as f64 / n as f64;
                if i % 2 == 0 {
                    (t, t.sqrt())
                } else {
                    (t - 0.5 / n as f64, t.sqrt())
                }
            })
            .collect();
        let step = 1.0 / 2000.0;
        let thin = thin_curve(&pts, step);
        assert!(thin.len() < 4_100, "{} points", thin.len());
        assert_eq!(thin[0], [0.0, 0.0]);
        assert_eq!(*thin.last().unwrap(), [1.0, 1.0]);
        // Every dropped point lies within a step (on both axes) of the last point kept before it.
        let mut k = 0;
        for &(x, y) in &pts {
            while k + 1 < thin.len() && thin[k + 1][0] <= x && thin[k + 1][1] <= y {
                k += 1;
            }
            assert!(
                (x - thin[k][0]).abs() < step + 1e-12 && (y - thin[k][1]).abs() < step + 1e-12,
                "({x}, {y}) is far from {:?}",
                thin[k]
            );
        }
        // A short curve is drawn as it is.
        let few = [(0.0, 0.0), (0.5, 0.25), (1.0, 1.0)];
        assert_eq!(
            thin_curve(&few, step),
            [[0.0, 0.0], [0.5, 0.25], [1.0, 1.0]]
        );
    }

    #[test]
    fn the_dendrogram_cut_colours_the_links_below_it_by_segment() {
        let d = tree();
        let v = dendrogram_view(&d, 4, 2);
        assert!(v.cut > 2.0 && v.cut < 5.0, "{}", v.cut);
        assert!(!v.tied);
        let labels = d.cut_k(2);
        assert_ne!(labels[0], labels[2]);
        let seg_of = |node: usize| {
            let i = v.layout.links.iter().position(|l| l.node == node).unwrap();
            v.link_segment[i]
        };
        assert_eq!(seg_of(4), Some(labels[0]), "(0, 1) below the cut");
        assert_eq!(seg_of(5), Some(labels[2]), "(2, 3) below the cut");
        assert_eq!(seg_of(6), None, "the root above it");
        // Cut at k = 4 every link is above the cut.
        assert!(
            dendrogram_view(&d, 4, 4)
                .link_segment
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn selected_users_are_counted_under_each_drawn_leaf() {
        let d = tree();
        let layout = dendrogram_layout(&d, 2);
        let sel = [true, false, true, true];
        assert_eq!(
            selected_per_leaf(&d, &layout, |u| sel[u]),
            vec![(0.0, 1, 2), (1.0, 2, 2)]
        );
    }

    #[test]
    fn the_scatter_splits_drawn_users_by_segment_and_marks_the_selected() {
        // Rows 4, 1 and 3 drawn; 1 and 3 selected; row 4's label is past k and is left out.
        let labels = [0, 1, 0, 0, 7];
        let l = scatter_layout(
            vec![4, 1, 3],
            vec![[4.0, 0.5], [1.0, 1.5], [3.0, 2.5]],
            &labels,
            2,
            |u| u == 1 || u == 3,
        );
        let xy = |v: &[PlotPoint]| v.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>();
        // Row 0 drawn and not selected.
        let l2 = scatter_layout(vec![0], vec![[0.5, 0.5]], &labels, 2, |_| false);
        assert_eq!(xy(&l2.by_segment[0]), vec![[0.5, 0.5]]);
        assert!(l2.selected.is_empty() && l2.selected_by_segment[0].is_empty());
        assert!(
            l.by_segment.iter().all(|v| v.is_empty()),
            "the selected are drawn once"
        );
        assert_eq!(xy(&l.selected), vec![[1.0, 1.5], [3.0, 2.5]]);
        assert_eq!(xy(&l.selected_by_segment[0]), vec![[3.0, 2.5]]);
        assert_eq!(xy(&l.selected_by_segment[1]), vec![[1.0, 1.5]]);
        assert_eq!(l.rows, vec![4, 1, 3]);
    }

    #[test]
    fn a_lasso_answers_as_the_polygon_test_does() {
        // A star with 50 points; a grid of points inside, on the edge of and far outside its box.
        let poly: Vec<[f64; 2]> = (0..100)
            .map(|i| {
                let a = i as f64 * std::f64::consts::PI / 50.0;
                let r = if i % 2 == 0 { 3.0 } else { 1.2 };
                [1.0 + r * a.cos(), -2.0 + r * a.sin()]
            })
            .collect();
        let lasso = Lasso::new(&poly);
        let (mut inside, mut total) = (0, 0);
        for x in -40..=40 {
            for y in -40..=40 {
                let p = [x as f64 * 0.2, y as f64 * 0.2 - 2.0];
                assert_eq!(lasso.contains(p), inside_polygon(&poly, p), "{p:?}");
                inside += usize::from(lasso.contains(p));
                total += 1;
            }
        }
        assert!(inside > 100 && inside < total / 2, "{inside} of {total}");
        assert!(!Lasso::new(&[]).contains([0.0, 0.0]));
    }

    /// `cargo test --release --bin persona-lab -- --ignored lasso_over_a_million --nocapture`: a
    /// lasso of 400 vertices round a tenth of a million users, with and without the box test.
    #[test]
    #[ignore]
    fn lasso_over_a_million_users() {
        let pts: Vec<[f64; 2]> = (0..1_000_000u64)
            .map(|i| {
                let x = (i * 2654435761 % 100_003) as f64 / 100_003.0;
                let y = (i * 40503 % 99_991) as f64 / 99_991.0;
                [x * 10.0, y * 10.0]
            })
            .collect();
        let poly: Vec<[f64; 2]> = (0..400)
            .map(|i| {
                let a = i as f64 * std::f64::consts::PI / 200.0;
                [2.0 + 1.8 * a.cos(), 2.0 + 1.8 * a.sin()]
            })
            .collect();
        let time = |f: &dyn Fn() -> usize| {
            let t = std::time::Instant::now();
            let n = f();
            (n, t.elapsed().as_secs_f64() * 1e3)
        };
        for _ in 0..3 {
            let (a, plain) = time(&|| pts.iter().filter(|&&p| inside_polygon(&poly, p)).count());
            let lasso = Lasso::new(&poly);
            let (b, boxed) = time(&|| pts.iter().filter(|&&p| lasso.contains(p)).count());
            assert_eq!(a, b);
            assert!(a > 50_000 && a < 150_000, "{a} inside");
            println!(
                "{a} of 1,000,000 inside: polygon test on everyone {plain:.1} ms, with the box {boxed:.1} ms ({:.1}x)",
                plain / boxed
            );
        }
    }

    #[test]
    fn lasso_polygon_contains_what_it_encloses() {
        // An L-shaped lasso: the notch is outside.
        let l = [
            [0.0, 0.0],
            [4.0, 0.0],
            [4.0, 1.0],
            [1.0, 1.0],
            [1.0, 4.0],
            [0.0, 4.0],
        ];
        assert!(inside_polygon(&l, [0.5, 0.5]));
        assert!(inside_polygon(&l, [3.5, 0.5]));
        assert!(inside_polygon(&l, [0.5, 3.5]));
        assert!(!inside_polygon(&l, [2.0, 2.0]));
        assert!(!inside_polygon(&l, [5.0, 0.5]));
        assert!(!inside_polygon(&l[..2], [0.5, 0.0]));
    }
    use persona_lab::cluster::Merge;

    #[test]
    fn silhouette_bars_sorted_within_clusters_and_binned() {
        let values: Vec<Option<f64>> = [0.1, 0.9, -0.2, 0.5, 0.3, 0.7]
            .iter()
            .map(|&v| Some(v))
            .collect();
        let labels = [0, 0, 0, 1, 1, 1];
        let (bars, order) = silhouette_bars(&values, &labels, 2, 100);
        assert_eq!(order, vec![1, 0, 2, 5, 3, 4]);
        let vals: Vec<f64> = bars.iter().map(|b| b.value).collect();
        assert_eq!(vals, vec![0.9, 0.1, -0.2, 0.7, 0.5, 0.3]);
        assert!(
            bars[3].position > bars[2].position + 1.0,
            "a gap between clusters"
        );
        // Binned: 6 users into at most 2 bars per... 3 bars in all.
        let (bars, _) = silhouette_bars(&values, &labels, 2, 3);
        assert_eq!(bars.len(), 4);
        assert_eq!(bars[0].users, 2);
        assert!((bars[0].value - 0.5).abs() < 1e-12);
        assert_eq!(bars.iter().map(|b| b.users).sum::<usize>(), 6);
    }

    fn tree() -> Dendrogram {
        // 4 leaves: (0,1) at 1, (2,3) at 2, (4,5) at 5.
        Dendrogram {
            n: 4,
            merges: vec![
                Merge {
                    a: 0,
                    b: 1,
                    height: 1.0,
                    size: 2,
                },
                Merge {
                    a: 2,
                    b: 3,
                    height: 2.0,
                    size: 2,
                },
                Merge {
                    a: 4,
                    b: 5,
                    height: 5.0,
                    size: 4,
                },
            ],
        }
    }

    #[test]
    fn dendrogram_layout_full_and_truncated() {
        let full = dendrogram_layout(&tree(), 4);
        assert_eq!(full.leaves, vec![(0, 1), (1, 1), (2, 1), (3, 1)]);
        assert_eq!(full.links.len(), 3);
        let top = full.links.last().unwrap();
        assert_eq!((top.x_left, top.x_right, top.height), (0.5, 2.5, 5.0));
        let cut = dendrogram_layout(&tree(), 2);
        assert_eq!(cut.leaves, vec![(4, 2), (5, 2)]);
        assert_eq!(cut.links.len(), 1);
        assert_eq!(cut_height_for_k(&tree(), 2), 3.5);
        assert_eq!(tree().k_at_height(cut_height_for_k(&tree(), 3)), 3);
    }

    #[test]
    fn a_branch_holds_the_leaves_below_it() {
        let t = tree();
        assert_eq!(leaves_under(&t, 4), vec![0, 1]);
        assert_eq!(leaves_under(&t, 6), vec![0, 1, 2, 3]);
        assert_eq!(leaves_under(&t, 2), vec![2]);
        let layout = dendrogram_layout(&t, 4);
        // The bar of node 5 (leaves 2 and 3) is at height 2 between x = 2 and 3.
        assert_eq!(link_at(&layout, 2.5, 2.05, [100.0, 100.0], 10.0), Some(5));
        assert_eq!(link_at(&layout, 2.5, 3.5, [100.0, 100.0], 10.0), None);
    }

    #[test]
    fn downsample_keeps_small_data_whole_and_is_seeded() {
        assert_eq!(downsample(5, 10, 1), vec![0, 1, 2, 3, 4]);
        let a = downsample(100_000, 50_000, 7);
        assert_eq!(a.len(), 50_000);
        assert_eq!(a, downsample(100_000, 50_000, 7));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
