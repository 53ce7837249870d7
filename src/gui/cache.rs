//! Core results the views show that are derived from the analysis and kept until what they were made
//! from changes: rule previews' population, coverage, feature previews, per-persona risk and the
//! export preview. The app brings the ones the open view needs up to date before the view draws
//! (`PersonaApp::refresh_caches`); views only read them. Imports no view.

use std::sync::Arc;

use persona_lab::features::preview::Preview;
use persona_lab::pipeline::ClusterRun;
use persona_lab::predict::{Prediction, SegmentRisk};
use persona_lab::rules::{Guardrails, Population, Rule};
use persona_lab::ruleset::{Coverage, Persona};

use super::app::PersonaApp;
use persona_lab::cluster::Tsne;

use super::charts::{self, DendroView, DrawnCurves, ScatterLayout, SilBar};
use super::measure::Measured;
use super::state::{Analysis, Basis, Chart, Selection, View, ViewState};
use super::tasks::{Done, Kind};

/// What coverage depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageKey {
    pub rules: Vec<Rule>,
    pub guardrails: Guardrails,
    pub basis: Option<Basis>,
}

impl CoverageKey {
    pub fn of(a: &Analysis) -> Self {
        CoverageKey {
            rules: a.rules.clone(),
            guardrails: a.guardrails.clone(),
            basis: a.basis(),
        }
    }
}

/// What the exported file depends on (the run and model by identity).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportKey {
    pub basis: Basis,
    pub personas: Vec<Persona>,
    pub rules: Vec<Rule>,
    pub guardrails: Guardrails,
}

impl ExportKey {
    pub fn of(a: &Analysis) -> Option<Self> {
        Some(ExportKey {
            basis: a.basis()?,
            personas: a.personas.clone(),
            rules: a.rules.clone(),
            guardrails: a.guardrails.clone(),
        })
    }
}

/// The rule set as it would be exported, as text, with its validation.
#[derive(Debug, Clone)]
pub struct ExportPreview {
    pub text: Result<String, String>,
    pub findings: Vec<persona_lab::rules::Finding>,
    /// The file in a few lines per part (`ruleset::overview`).
    pub overview: Vec<persona_lab::ruleset::overview::Section>,
}

/// Most bars the silhouette chart draws (consecutive users of a segment share one beyond that).
pub const MAX_SIL_BARS: usize = 1500;

/// The silhouette chart of a run, laid out once per run (it sorts every scored user).
#[derive(Debug)]
pub struct SilLayout {
    pub bars: Vec<SilBar>,
    /// Row indices of the scored users in the order the bars refer to.
    pub order: Vec<usize>,
    /// The lowest silhouette (0 when none is negative), for the x axis.
    pub lowest: f64,
}

/// The derived results, each with what it was made from.
#[derive(Default)]
pub struct Caches {
    /// The analysed users as columns for rule match counts.
    pub population: Option<(Basis, Arc<Population>)>,
    /// Rules view: match counts, first matches and distributions measured on `population`.
    pub measured: Measured,
    /// Rule coverage over every analysed user, for the rules and guardrails it was computed with.
    pub coverage: Option<(CoverageKey, Arc<Coverage>)>,
    /// Feature previews (histograms, score, correlation) for the spec they carry.
    pub preview: Option<Arc<Preview>>,
    /// The model's scores per segment of the current run (`predict::segment_risk`).
    pub risk: Option<(Basis, Arc<SegmentRisk>)>,
    /// Export view: the rule set text and its checks.
    pub export: Option<(ExportKey, ExportPreview)>,
    /// Clusters view: the silhouette chart's layout for the run it was made from.
    pub silhouette: Option<(Arc<ClusterRun>, Arc<SilLayout>)>,
    /// Clusters view: which silhouette bars hold a selected user, for the layout and selection.
    pub silhouette_marks: Option<(BarKey, Marks<bool>)>,
    /// Clusters view: the selected users under each drawn dendrogram leaf (x, selected, size), for
    /// the run, the selection and the number of leaves drawn.
    pub leaf_marks: Option<(LeafKey, Marks<LeafMark>)>,
    /// Clusters view: the dendrogram's layout, cut and link colours for the run, leaves drawn and k.
    pub dendrogram: Option<(DendroKey, Arc<DendroView>)>,
    /// Clusters view: the scatter's points by segment and the selected ones among them.
    pub scatter: Option<(ScatterKey, Arc<ScatterLayout>)>,
    /// Predict view: the model's held-out curves as drawn, made with it on its worker.
    pub curves: Option<(Same<Prediction>, Arc<DrawnCurves>)>,
}

/// A shared result compared by identity: what is made from a run is kept while it is the same run.
#[derive(Debug)]
pub struct Same<T>(pub Arc<T>);

impl<T> Clone for Same<T> {
    fn clone(&self) -> Self {
        Same(self.0.clone())
    }
}

impl<T> PartialEq for Same<T> {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

impl<T> std::ops::Deref for Same<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What the dendrogram as drawn depends on: the run, the leaves drawn and the k it is cut at.
#[derive(Clone, PartialEq)]
pub struct DendroKey {
    run: Same<ClusterRun>,
    leaves: usize,
    k: usize,
}

impl DendroKey {
    fn of(a: &Analysis, v: &ViewState) -> Option<Self> {
        Some(DendroKey {
            run: Same(a.run.clone()?),
            leaves: v.dendro_leaves,
            k: a.cluster.params.k,
        })
    }

    /// The tree laid out and cut (a walk over every user); `None` for a method without a tree.
    fn make(&self) -> Option<DendroView> {
        let d = self.run.segmentation.dendrogram.as_ref()?;
        Some(charts::dendrogram_view(d, self.leaves, self.k))
    }
}

/// Points the scatter draws at most (a seeded sample of the users beyond that).
pub const MAX_SCATTER: usize = 40_000;

/// What the scatter's layout depends on: the run, the t-SNE embedding when that is shown, and the
/// selection's version.
#[derive(Clone, PartialEq)]
pub struct ScatterKey {
    run: Same<ClusterRun>,
    tsne: Option<Same<Tsne>>,
    selection: u64,
}

impl ScatterKey {
    /// `None` until there is a run and, when t-SNE is chosen, its embedding of that run.
    fn of(a: &Analysis, v: &ViewState) -> Option<Self> {
        let run = a.run.clone()?;
        let tsne = match v.use_tsne {
            true => Some(Same(a.tsne_of(&run)?)),
            false => None,
        };
        Some(ScatterKey {
            run: Same(run),
            tsne,
            selection: v.selection.version(),
        })
    }

    /// The drawn users (everyone up to `MAX_SCATTER`, else a sample seeded by the run's seed; the
    /// t-SNE sample when that is shown) split by segment, and the selected ones among them: a pass
    /// over at most `MAX_SCATTER` users.
    fn make(&self, selection: &Selection) -> ScatterLayout {
        let (run, seg) = (&self.run, &self.run.segmentation);
        let (rows, coords) = match &self.tsne {
            Some(t) => (
                t.rows.clone(),
                t.embedding.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
            ),
            None => {
                let rows = charts::downsample(run.matrix.n_rows, MAX_SCATTER, seg.params.seed);
                let coords = rows.iter().map(|&i| run.pca_xy(i)).collect();
                (rows, coords)
            }
        };
        charts::scatter_layout(rows, coords, &seg.labels, seg.k, |u| selection.contains(u))
    }
}

/// Marks of the selection on a chart, one per drawn element.
pub type Marks<T> = Arc<Vec<T>>;
/// What the silhouette bars' marks depend on: the layout and the selection's version.
pub type BarKey = (Arc<SilLayout>, u64);
/// A drawn dendrogram leaf: its x position, the selected users under it and its size.
pub type LeafMark = (f64, usize, usize);

/// What the dendrogram's selection marks depend on.
#[derive(Clone, PartialEq)]
pub struct LeafKey {
    run: Same<ClusterRun>,
    selection: u64,
    leaves: usize,
}

impl LeafKey {
    fn of(a: &Analysis, v: &ViewState) -> Option<Self> {
        Some(LeafKey {
            run: Same(a.run.clone()?),
            selection: v.selection.version(),
            leaves: v.dendro_leaves,
        })
    }
}

/// The key to make a slot's result from, when what the slot holds was not made from it (`None`:
/// nothing to make, or nothing to make it from yet).
fn needed<K: PartialEq, V>(slot: &Option<(K, V)>, key: Option<K>) -> Option<K> {
    let key = key?;
    fresh(slot, |k| *k == key).is_none().then_some(key)
}

/// What a cache slot holds, when it was made from what `made_from` accepts.
fn fresh<K, V>(slot: &Option<(K, V)>, made_from: impl Fn(&K) -> bool) -> Option<&V> {
    slot.as_ref().filter(|(k, _)| made_from(k)).map(|(_, v)| v)
}

impl Caches {
    /// The population of the analysis' current run, when it is ready.
    pub fn population(&self, a: &Analysis) -> Option<Arc<Population>> {
        let basis = a.basis()?;
        fresh(&self.population, |b| *b == basis).cloned()
    }

    /// Coverage of the rules: whether it is for the current rules, and the last one computed.
    pub fn coverage(&self, a: &Analysis) -> Option<(bool, Arc<Coverage>)> {
        let key = CoverageKey::of(a);
        self.coverage.as_ref().map(|(k, c)| (*k == key, c.clone()))
    }

    /// Feature previews for the spec in use, when they are ready.
    pub fn preview(&self, a: &Analysis) -> Option<Arc<Preview>> {
        let spec = a.spec.as_ref()?;
        self.preview.as_ref().filter(|p| p.spec == *spec).cloned()
    }

    /// The per-persona risk of the current run and model, when there is a model.
    pub fn risk(&self, a: &Analysis) -> Option<Arc<SegmentRisk>> {
        let basis = a.basis()?;
        fresh(&self.risk, |b| *b == basis).cloned()
    }

    /// The silhouette layout of the current run, when it is ready.
    pub fn silhouette(&self, a: &Analysis) -> Option<Arc<SilLayout>> {
        let run = a.run.as_ref()?;
        fresh(&self.silhouette, |r| Arc::ptr_eq(r, run)).cloned()
    }

    /// Per silhouette bar, whether it holds a selected user: for the current layout and selection.
    pub fn silhouette_marks(&self, a: &Analysis, v: &ViewState) -> Option<Marks<bool>> {
        let layout = self.silhouette(a)?;
        let version = v.selection.version();
        fresh(&self.silhouette_marks, |(l, s)| {
            Arc::ptr_eq(l, &layout) && *s == version
        })
        .cloned()
    }

    /// The selected users under each drawn dendrogram leaf, for the current run and selection.
    pub fn leaf_marks(&self, a: &Analysis, v: &ViewState) -> Option<Marks<LeafMark>> {
        let key = LeafKey::of(a, v)?;
        fresh(&self.leaf_marks, |k| *k == key).cloned()
    }

    /// The dendrogram as drawn for the current run, leaves drawn and k.
    /// The one kept, or, on the frame the leaves drawn or k changed, made now (so it never blinks).
    pub fn dendrogram(&self, a: &Analysis, v: &ViewState) -> Option<Arc<DendroView>> {
        let key = DendroKey::of(a, v)?;
        match fresh(&self.dendrogram, |k| *k == key) {
            Some(view) => Some(view.clone()),
            None => key.make().map(Arc::new),
        }
    }

    /// The scatter's layout for the current run, embedding and selection: the one kept, or, on the
    /// frame one of them changed, made now.
    pub fn scatter(&self, a: &Analysis, v: &ViewState) -> Option<Arc<ScatterLayout>> {
        let key = ScatterKey::of(a, v)?;
        match fresh(&self.scatter, |k| *k == key) {
            Some(layout) => Some(layout.clone()),
            None => Some(Arc::new(key.make(&v.selection))),
        }
    }

    /// The current model's curves as drawn.
    pub fn curves(&self, a: &Analysis) -> Option<Arc<DrawnCurves>> {
        let p = a.prediction.as_ref()?;
        fresh(&self.curves, |k| Arc::ptr_eq(&k.0, p)).cloned()
    }

    /// The export preview for the current run, personas, rules and guardrails.
    pub fn export(&self, a: &Analysis) -> Option<&ExportPreview> {
        let key = ExportKey::of(a)?;
        fresh(&self.export, |k| *k == key)
    }
}

impl PersonaApp {
    /// Bring what the open view shows up to date: started in the background where it grows with
    /// users, before the view draws.
    pub fn refresh_caches(&mut self) {
        match self.ui_state.view {
            View::Features => self.preview_needed(),
            View::Rules => {
                self.population();
            }
            View::Simulate => {
                self.population();
                self.coverage();
            }
            View::Personas | View::Predict => self.risk_needed(),
            View::Clusters if self.ui_state.chart == Chart::Silhouette => {
                self.silhouette_needed();
                self.silhouette_marks();
            }
            View::Clusters if self.ui_state.chart == Chart::Dendrogram => {
                self.dendrogram_view();
                self.leaf_marks();
            }
            View::Clusters if self.ui_state.chart == Chart::Scatter => self.scatter_layout(),
            View::Export => self.refresh_export(),
            _ => {}
        }
    }

    fn preview_needed(&mut self) {
        if self.caches.preview(&self.analysis).is_none()
            && self.analysis.spec.is_some()
            && !self.tasks.running(Kind::Preview)
        {
            self.run_preview();
        }
    }

    /// Mark the silhouette bars that hold a selected user, once per layout and selection (a pass over
    /// the scored users, not a sort; the chart then reads one flag per bar each frame).
    fn silhouette_marks(&mut self) {
        let (a, v) = (&self.analysis, &self.ui_state);
        let Some(layout) = self.caches.silhouette(a) else {
            return;
        };
        if self.caches.silhouette_marks(a, v).is_some() {
            return;
        }
        let sel = &v.selection;
        let marks = layout
            .bars
            .iter()
            .map(|b| {
                !sel.is_empty()
                    && layout.order[b.first..b.first + b.users]
                        .iter()
                        .any(|&i| sel.contains(i))
            })
            .collect();
        self.caches.silhouette_marks = Some(((layout, sel.version()), Arc::new(marks)));
    }

    /// Count the selected users under each drawn dendrogram leaf, once per run, selection and number
    /// of leaves drawn. Only an exact tree has one leaf per user; a tree built on a sample marks none.
    fn leaf_marks(&mut self) {
        let v = &self.ui_state;
        let Some(key) = needed(&self.caches.leaf_marks, LeafKey::of(&self.analysis, v)) else {
            return;
        };
        let seg = &key.run.segmentation;
        let marks = match &seg.dendrogram {
            Some(d) if seg.fitted_on.is_none() && !v.selection.is_empty() => {
                let layout = charts::dendrogram_layout(d, v.dendro_leaves);
                charts::selected_per_leaf(d, &layout, |u| v.selection.contains(u))
            }
            _ => Vec::new(),
        };
        self.caches.leaf_marks = Some((key, Arc::new(marks)));
    }

    /// Lay out and cut the dendrogram once per run, leaves drawn and k (a walk over every user).
    fn dendrogram_view(&mut self) {
        let v = &self.ui_state;
        let Some(key) = needed(&self.caches.dendrogram, DendroKey::of(&self.analysis, v)) else {
            return;
        };
        if let Some(view) = key.make() {
            self.caches.dendrogram = Some((key, Arc::new(view)));
        }
    }

    /// Lay out the scatter once per run, embedding and selection (`ScatterKey::make`).
    fn scatter_layout(&mut self) {
        let v = &self.ui_state;
        let Some(key) = needed(&self.caches.scatter, ScatterKey::of(&self.analysis, v)) else {
            return;
        };
        let layout = key.make(&v.selection);
        self.caches.scatter = Some((key, Arc::new(layout)));
    }

    /// The silhouette layout of the current run: ready, or started in the background (it grows with
    /// the users scored).
    fn silhouette_needed(&mut self) {
        let Some(run) = self.analysis.run.clone() else {
            return;
        };
        if self.caches.silhouette(&self.analysis).is_some() || self.tasks.running(Kind::Silhouette)
        {
            return;
        }
        self.spawn(
            Kind::Silhouette,
            "Laying out the silhouette chart",
            move |_| {
                let (s, seg) = (&run.silhouette, &run.segmentation);
                let (bars, order) =
                    charts::silhouette_bars(&s.values, &seg.labels, seg.k, MAX_SIL_BARS);
                let lowest = s.values.iter().flatten().fold(0.0f64, |m, &v| m.min(v));
                Ok((
                    run,
                    SilLayout {
                        bars,
                        order,
                        lowest,
                    },
                ))
            },
            Done::Silhouette,
        );
    }

    /// The per-persona risk of the current run and model: ready, or started in the background.
    pub fn risk_needed(&mut self) {
        let Some(basis) = self.analysis.basis() else {
            return;
        };
        if basis.prediction.is_none()
            || self.caches.risk(&self.analysis).is_some()
            || self.tasks.running(Kind::Risk)
        {
            return;
        }
        self.spawn(
            Kind::Risk,
            "Risk per persona",
            move |_| {
                let r = basis.segment_risk().ok_or("no model")?;
                Ok((basis, r))
            },
            Done::Risk,
        );
    }

    /// The population of the current run for rule match counts (with the model's score for every
    /// user when there is one): ready, or started in the background.
    pub fn population(&mut self) -> Option<Arc<Population>> {
        let basis = self.analysis.basis()?;
        if let Some(p) = self.caches.population(&self.analysis) {
            return Some(p);
        }
        if !self.tasks.running(Kind::Population) {
            let profile = self.analysis.profile.clone()?;
            let run = basis.run.clone();
            let ids = self.analysis.persona_ids(run.segmentation.k);
            self.spawn(
                Kind::Population,
                "Preparing rule previews",
                move |_| {
                    // Analysed users passed the consent filter when one was mapped.
                    let mut p = persona_lab::ruleset::population(
                        &profile,
                        &run.segmentation.labels,
                        ids,
                        true,
                    )
                    .map_err(|e| e.to_string())?;
                    if let Some(pred) = &basis.prediction {
                        // Today's score of every analysed user, as the deployed model computes it.
                        let scores = (0..p.n)
                            .map(|i| pred.model.score(&p.user_profile(i).features))
                            .collect::<Result<Vec<f64>, String>>()
                            .map_err(|f| format!("the model needs the feature {f:?}"))?;
                        p.scores.insert(pred.model.name.clone(), scores);
                    }
                    // The rule checks ask every frame; a pass over every user, made here once.
                    p.empty_features();
                    Ok((basis, p))
                },
                Done::Population,
            );
        }
        None
    }

    /// Coverage of the current rules: ready (possibly for older rules), and recomputed in the
    /// background when the rules changed.
    pub fn coverage(&mut self) -> Option<(bool, Arc<Coverage>)> {
        let current = self
            .caches
            .coverage(&self.analysis)
            .is_some_and(|(current, _)| current);
        if !current
            && !self.tasks.running(Kind::Coverage)
            && let (Some(rs), Some(profile)) =
                (self.analysis.rule_set(), self.analysis.profile.clone())
        {
            let key = CoverageKey::of(&self.analysis);
            self.spawn(
                Kind::Coverage,
                "Rule coverage",
                move |job| {
                    job.progress("coverage", 0.0);
                    let users = persona_lab::ruleset::user_profiles(&profile, Some(true))
                        .map_err(|e| e.to_string())?;
                    job.check().map_err(|e| e.to_string())?;
                    let c = persona_lab::ruleset::coverage(
                        &rs,
                        &users,
                        &persona_lab::rules::Session::default(),
                    );
                    Ok((key, c))
                },
                Done::Coverage,
            );
        }
        self.caches.coverage(&self.analysis)
    }

    /// The preview of the file, rebuilt when the run, personas, rules or guardrails change. Built
    /// here, on the window thread, on purpose: the rule set is made from the run's per-segment
    /// profiles, so its cost grows with segments, features and rules, never with users; Save reads it
    /// at once, so what is saved is what was shown.
    fn refresh_export(&mut self) {
        let Some(key) = ExportKey::of(&self.analysis) else {
            return;
        };
        if self.caches.export.as_ref().map(|p| &p.0) != Some(&key)
            && let Some(rs) = self.analysis.rule_set()
        {
            let p = ExportPreview {
                text: rs.to_ron().map_err(|e| e.to_string()),
                findings: rs.validate(),
                overview: persona_lab::ruleset::overview::overview(&rs),
            };
            self.caches.export = Some((key, p));
        }
    }

    /// The export preview, brought up to date first (what Save writes).
    pub fn export_preview(&mut self) -> Option<ExportPreview> {
        self.refresh_export();
        self.caches.export(&self.analysis).cloned()
    }
}
