//! What the analyst works on (the data, the settings, the results) kept apart from what the window shows
//! (which view is open, what is selected).

use std::path::PathBuf;
use std::sync::Arc;

use persona_lab::cluster::{Method, SegmentParams, SilhouetteOptions, Sweep, Tsne};
use persona_lab::data::{LoadOptions, Loaded};
use persona_lab::features::{FeatureConfig, Profile, TransformSpec};
use persona_lab::pipeline::{ClusterRun, RunSettings};
use persona_lab::predict::{PredictParams, Prediction};
use persona_lab::rules::{Guardrails, Rule};
use persona_lab::ruleset::{Persona, RuleSet};

/// Analysis state: everything a project file would hold, plus the computed results.
#[derive(Default)]
pub struct Analysis {
    pub source: Option<PathBuf>,
    pub load_options: LoadOptions,
    pub feature_config: FeatureConfig,
    pub loaded: Option<Arc<Loaded>>,
    pub profile: Option<Arc<Profile>>,
    pub spec: Option<TransformSpec>,
    pub cluster: ClusterSettings,
    pub run: Option<Arc<ClusterRun>>,
    pub sweep: Option<Arc<Sweep>>,
    /// Persona texts per segment, as edited by the strategist.
    pub personas: Vec<Persona>,
    /// Settings from an opened project, applied once its data has loaded / clustered.
    pub pending_spec: Option<TransformSpec>,
    pub pending_personas: Option<Vec<Persona>>,
    /// Where the project was last saved or opened from.
    pub project_path: Option<PathBuf>,
    /// The load summary text (computed once per load: it counts users).
    pub summary: Option<String>,
    /// The last load failed: its message, and the export's columns (when they could be read) so
    /// the roles and shape can be fixed in the Data view and the export read again.
    pub failed_load: Option<(String, Vec<String>)>,
    /// Per-segment stability of the current run (tied to the run it was computed for).
    pub stability: Option<(Arc<ClusterRun>, Arc<persona_lab::cluster::Stability>)>,
    /// t-SNE of the current run's matrix (recomputed on demand; tied to the run it was made from).
    pub tsne: Option<(Arc<ClusterRun>, Arc<Tsne>)>,
    /// SHA-256 of the source file, computed when it loaded.
    pub fingerprint: Option<String>,
    /// Content rules, in priority order (priority = position + 1).
    pub rules: Vec<Rule>,
    pub guardrails: Guardrails,
    /// Churn / conversion model settings, and the trained model (its score goes into the rule set).
    pub predict: PredictParams,
    pub prediction: Option<Arc<Prediction>>,
    /// An opened project had a model: train it again once the data has loaded.
    pub pending_predict: bool,
    /// Monitor: the rule performance report of an outcomes export, and the drift of a deployed rule
    /// set against the current analysis.
    pub monitor: Option<Arc<persona_lab::monitor::report::Report>>,
    pub drift: Option<Arc<persona_lab::monitor::drift::Drift>>,
}

impl Analysis {
    /// The profile and the feature spec, shared for a worker: what clustering, the sweep and the
    /// previews start from.
    pub fn profile_and_spec(&self) -> Option<(Arc<Profile>, TransformSpec)> {
        Some((self.profile.clone()?, self.spec.clone()?))
    }

    /// The run and the profile it was made from: what merges and splits start from.
    pub fn run_and_profile(&self) -> Option<(Arc<ClusterRun>, Arc<Profile>)> {
        Some((self.run.clone()?, self.profile.clone()?))
    }

    /// What the rule previews are computed from: the run and the model (by identity).
    pub fn basis(&self) -> Option<Basis> {
        Some(Basis {
            run: self.run.clone()?,
            prediction: self.prediction.clone(),
            profile: self.profile.clone(),
        })
    }

    /// The rule set as it would be exported now: the run's segments, the personas, rules, guardrails
    /// and model (`ClusterRun::rule_set`, as the CLI builds it).
    pub fn rule_set(&self) -> Option<RuleSet> {
        let (run, loaded, profile, src) = (
            self.run.as_ref()?,
            self.loaded.as_ref()?,
            self.profile.as_ref()?,
            self.source.as_ref()?,
        );
        let source = persona_lab::ruleset::new_source(
            self.fingerprint.clone().unwrap_or_default(),
            src,
            loaded.shape,
            run.matrix.n_rows,
            self.load_options.hash_salt.is_some(),
        );
        let mut rs = run.rule_set(source, &self.feature_config, profile);
        rs.personas = self.personas.clone();
        // The editor keeps half-typed items (a trailing comma, spaces); the file gets clean ones.
        for p in &mut rs.personas {
            p.preferred_content = p
                .preferred_content
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
        }
        rs.rules = self.rules.clone();
        rs.guardrails = self.guardrails.clone();
        if let Some(p) = &self.prediction {
            rs.set_model(p.model.clone());
        }
        Some(rs)
    }

    /// The t-SNE embedding of `run`, when one was computed for it.
    pub fn tsne_of(&self, run: &Arc<ClusterRun>) -> Option<Arc<Tsne>> {
        self.tsne
            .as_ref()
            .filter(|(r, _)| Arc::ptr_eq(r, run))
            .map(|(_, t)| t.clone())
    }

    /// The persona of segment `s`, if there is one.
    pub fn persona_of(&self, s: usize) -> Option<&Persona> {
        self.personas.iter().find(|p| p.segment == s)
    }

    /// Persona names of segments `0..k` ("segment s" where a segment has none).
    pub fn persona_names(&self, k: usize) -> Vec<String> {
        (0..k)
            .map(|s| {
                self.persona_of(s)
                    .map_or_else(|| format!("segment {s}"), |p| p.name.clone())
            })
            .collect()
    }

    /// Each persona's (id, name), in list order: what rules and templates name personas by.
    pub fn persona_labels(&self) -> Vec<(String, String)> {
        self.personas
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    }

    /// Persona ids of segments `0..k` (the default `segment_s` where a segment has none).
    pub fn persona_ids(&self, k: usize) -> Vec<String> {
        (0..k)
            .map(|s| {
                self.persona_of(s)
                    .map_or_else(|| format!("segment_{s}"), |p| p.id.clone())
            })
            .collect()
    }
}

/// The clustering settings: the core's own parameters (one type for a run's settings, so a project's
/// max_iter, tol, fit_sample and exact_limit come back with it) and the sweep's range of k.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSettings {
    pub params: SegmentParams,
    pub k_min: usize,
    pub k_max: usize,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            params: SegmentParams::new(Method::KMeans, 6),
            k_min: 2,
            k_max: 10,
        }
    }
}

impl ClusterSettings {
    pub fn run_settings(&self) -> RunSettings {
        RunSettings {
            params: self.params.clone(),
            silhouette: SilhouetteOptions {
                seed: self.params.seed,
                ..Default::default()
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Data,
    Features,
    Clusters,
    Personas,
    Predict,
    Rules,
    Simulate,
    Export,
    Monitor,
}

impl View {
    pub const ALL: [View; 9] = [
        View::Data,
        View::Features,
        View::Clusters,
        View::Personas,
        View::Predict,
        View::Rules,
        View::Simulate,
        View::Export,
        View::Monitor,
    ];
    pub fn label(self) -> &'static str {
        match self {
            View::Data => "Data",
            View::Features => "Features",
            View::Clusters => "Clusters",
            View::Personas => "Personas",
            View::Predict => "Predict",
            View::Rules => "Rules",
            View::Simulate => "Simulate",
            View::Export => "Export",
            View::Monitor => "Monitor",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    Silhouette,
    Dendrogram,
    Scatter,
    Sweep,
    Profiles,
}

impl Chart {
    pub const ALL: [Chart; 5] = [
        Chart::Silhouette,
        Chart::Dendrogram,
        Chart::Scatter,
        Chart::Sweep,
        Chart::Profiles,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Chart::Silhouette => "Silhouette",
            Chart::Dendrogram => "Dendrogram",
            Chart::Scatter => "Scatter",
            Chart::Sweep => "Elbow / silhouette by k",
            Chart::Profiles => "Profiles",
        }
    }
}

/// The undoable part of the analysis: settings and persona texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub spec: Option<TransformSpec>,
    pub cluster: ClusterSettings,
    pub personas: Vec<Persona>,
    pub rules: Vec<Rule>,
    pub guardrails: Guardrails,
}

/// Undo and redo stacks of snapshots; edits within a second of each other count as one step.
#[derive(Debug, Default)]
pub struct History {
    pub undo: Vec<Snapshot>,
    pub redo: Vec<Snapshot>,
    pub last: Option<Snapshot>,
    pub last_change: Option<std::time::Instant>,
}

/// What the window shows: GUI state only.
pub struct ViewState {
    pub view: View,
    pub chart: Chart,
    /// Feature whose histogram is shown.
    pub feature_preview: Option<String>,
    /// Messages in the error / warning panel.
    pub messages: Vec<Message>,
    /// When settings changed, re-run clustering once they have been still for a moment.
    pub rerun_at: Option<std::time::Instant>,
    /// Dendrogram: how many top clusters are drawn.
    pub dendro_leaves: usize,
    /// Profiles: the feature whose box plot by segment is shown.
    pub box_feature: usize,
    /// Scatter: t-SNE instead of PCA.
    pub use_tsne: bool,
    /// Users selected in any chart (row indices of the run's matrix), shown everywhere.
    pub selection: Selection,
    /// The last lasso drawn on the scatter, in plot coordinates (closed on release).
    pub last_lasso: Vec<[f64; 2]>,
    pub history: History,
    /// The undoable state when the project was last saved or opened (unsaved changes = different).
    pub saved: Option<Snapshot>,
    /// A recovery file from a session that did not end cleanly, offered on start.
    pub recovery_offer: Option<PathBuf>,
    pub last_autosave: Option<std::time::Instant>,
    /// The close button was pressed with unsaved changes: ask first.
    pub confirm_quit: bool,
    pub allow_close: bool,
    /// The analysis came from a recovery file and has not been saved since.
    pub restored_unsaved: bool,
    /// A project being opened whose source moved or changed: what to do is asked first.
    pub project_question: Option<ProjectQuestion>,
    /// Data view: user-id hashing as chosen (the salt stays in memory only), and whether reading
    /// settings changed since the export was loaded.
    pub hash_ids: bool,
    pub salt: String,
    pub load_settings_changed: bool,
    pub rules: RulesUi,
    /// The warehouse SQL panels (Data: the features query; Export: the assign query).
    pub warehouse: WarehouseUi,
    /// Predict view: the cutoff as typed, and the export's time span (for the hint).
    pub predict_cutoff: String,
    pub predict_span: Option<(Arc<Loaded>, (i64, i64))>,
    /// Where the current chart was drawn (points), for Save chart as PNG.
    pub chart_rect: Option<egui::Rect>,
    /// A chart PNG to write once the next frame's pixels are read.
    pub png_pending: Option<std::path::PathBuf>,
}

/// What the Rules and Simulate views show: GUI state only.
#[derive(Debug, Default)]
pub struct RulesUi {
    /// Index of the rule being edited.
    pub selected: Option<usize>,
    /// Simulate: the user picked, and the profile / session texts (JSON, editable).
    pub sim_user: String,
    pub sim_profile: String,
    pub sim_session: String,
    /// Why the typed user id could not be loaded.
    pub sim_error: Option<String>,
    /// The last simulation and the inputs it was computed from.
    pub sim_result: Option<(SimKey, Simulated)>,
}

/// A project waiting for the user's answer about its source file.
#[derive(Debug)]
pub struct ProjectQuestion {
    pub path: PathBuf,
    pub project: Box<persona_lab::project::Project>,
    /// What is wrong with its source (empty: nothing, open it).
    pub problem: String,
    /// The project is a recovery file: it opens unsaved.
    pub restored: bool,
}

/// The analysed user Simulate is asked for: found on a worker (`Action::SimulateUser`), since it
/// reads every analysed id.
#[derive(Debug, Clone, PartialEq)]
pub enum SimPick {
    /// The user with this id.
    Id(String),
    /// The first user after the one with this id (from the start when there is none), of this
    /// segment when one is given, wrapping round.
    Next {
        after: String,
        segment: Option<usize>,
    },
}

impl SimPick {
    /// The row of the user picked among `users` (their `segments` beside them), or why none is.
    pub fn find(&self, users: &[String], segments: &[usize]) -> Result<usize, String> {
        match self {
            SimPick::Id(id) => users
                .iter()
                .position(|u| u == id)
                .ok_or_else(|| format!("no analysed user has id {id:?}")),
            SimPick::Next { after, segment } => {
                let n = users.len();
                let start = users.iter().position(|u| u == after).map_or(0, |c| c + 1);
                (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&u| segment.is_none_or(|s| segments.get(u) == Some(&s)))
                    .ok_or_else(|| "no analysed user to show".to_string())
            }
        }
    }
}

/// What Simulate decided for the typed profile and session, and why the other rules missed.
pub type Simulated = Result<
    (
        persona_lab::ruleset::Decisions,
        persona_lab::ruleset::Misses,
    ),
    String,
>;

/// What a simulation depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct SimKey {
    pub profile: String,
    pub session: String,
    pub personas: Vec<Persona>,
    pub rules: Vec<Rule>,
    pub guardrails: Guardrails,
}

impl ViewState {
    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        self.messages.push(Message {
            level,
            text: text.into(),
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.say(Level::Error, text);
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.say(Level::Warning, text);
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.say(Level::Info, text);
    }
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            view: View::Data,
            chart: Chart::Silhouette,
            feature_preview: None,
            messages: Vec::new(),
            rerun_at: None,
            dendro_leaves: 30,
            box_feature: 0,
            use_tsne: false,
            selection: Selection::default(),
            last_lasso: Vec::new(),
            history: History::default(),
            saved: None,
            recovery_offer: None,
            last_autosave: None,
            confirm_quit: false,
            allow_close: false,
            restored_unsaved: false,
            project_question: None,
            hash_ids: false,
            salt: String::new(),
            load_settings_changed: false,
            rules: RulesUi::default(),
            warehouse: WarehouseUi::default(),
            predict_cutoff: String::new(),
            predict_span: None,
            chart_rect: None,
            png_pending: None,
        }
    }
}

/// What the analyst chose for the generated SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseUi {
    pub dialect: persona_lab::sql::Dialect,
    /// The events table, as the engine names it.
    pub events_table: String,
    /// The profile table the assign query reads.
    pub profiles_table: String,
}

impl Default for WarehouseUi {
    fn default() -> Self {
        WarehouseUi {
            dialect: persona_lab::sql::Dialect::DuckDb,
            events_table: "events".into(),
            profiles_table: "profiles".into(),
        }
    }
}

/// The run and model rule previews were computed from (compared by identity).
#[derive(Debug, Clone)]
pub struct Basis {
    pub run: Arc<ClusterRun>,
    pub prediction: Option<Arc<Prediction>>,
    /// The profile the run was made from (each user's revenue, for the revenue at risk).
    pub profile: Option<Arc<Profile>>,
}

impl Basis {
    /// The model's scores per segment of this run (`predict::segment_risk`), when there is a model.
    pub fn segment_risk(&self) -> Option<persona_lab::predict::SegmentRisk> {
        let pred = self.prediction.as_ref()?;
        let run = &self.run;
        // With the run's profile, the revenue at risk too.
        Some(match self.profile.as_ref() {
            Some(profile) if profile.user_ids() == run.matrix.users => {
                persona_lab::predict::profile_risk(
                    pred,
                    profile,
                    &run.segmentation.labels,
                    run.segmentation.k,
                )
            }
            _ => persona_lab::predict::segment_risk(
                pred,
                &run.matrix.users,
                &run.segmentation.labels,
                run.segmentation.k,
                None,
            ),
        })
    }
}

impl PartialEq for Basis {
    fn eq(&self, o: &Self) -> bool {
        fn same<T>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
        }
        Arc::ptr_eq(&self.run, &o.run)
            && same(&self.prediction, &o.prediction)
            && same(&self.profile, &o.profile)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

/// How a message is shown: a finished export is news, not a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// How users are picked on a chart. Finding them reads every user of the run, so it is done on a
/// worker (`Action::Select`); the view says only what was picked.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    /// The users whose silhouette is below zero.
    NegativeSilhouette,
    /// The users under this node of the run's dendrogram (an exact tree: one leaf per user).
    Branch(usize),
    /// The users inside a lasso (a polygon in plot coordinates): every user by their PCA
    /// coordinates, or, over the t-SNE embedding, the embedded users.
    Lasso { poly: Vec<[f64; 2]>, tsne: bool },
}

/// The users picked on a chart (row indices of the run's matrix, in the order picked), with a lookup
/// per user made once when the selection changes, so that a chart marks them without building a mask
/// every frame. `version` changes with every change: what is derived from the selection is kept
/// until it does.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    users: Arc<Vec<usize>>,
    picked: Vec<bool>,
    version: u64,
}

impl Selection {
    /// A selection of these users, with its per-user lookup: made on a worker when it reads every
    /// user of a run, then put in place with `replace`.
    pub fn of(users: Vec<usize>) -> Selection {
        let mut picked = vec![false; users.iter().max().map_or(0, |&m| m + 1)];
        for &u in &users {
            picked[u] = true;
        }
        Selection {
            users: Arc::new(users),
            picked,
            version: 0,
        }
    }

    /// Take `new`'s users as the selection (a change: the version moves on).
    pub fn replace(&mut self, new: Selection) {
        let version = self.version + 1;
        *self = Selection { version, ..new };
    }

    pub fn set(&mut self, users: Vec<usize>) {
        self.replace(Selection::of(users));
    }

    pub fn clear(&mut self) {
        self.set(Vec::new());
    }

    pub fn contains(&self, user: usize) -> bool {
        self.picked.get(user).copied().unwrap_or(false)
    }

    /// The selected users, shared (cheap to keep beside a borrow of the state).
    pub fn users(&self) -> Arc<Vec<usize>> {
        self.users.clone()
    }

    pub fn version(&self) -> u64 {
        self.version
    }
}

impl PartialEq<Vec<usize>> for Selection {
    fn eq(&self, other: &Vec<usize>) -> bool {
        *self.users == *other
    }
}

impl std::ops::Deref for Selection {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.users
    }
}

#[cfg(test)]
mod tests {
    use super::Selection;

    #[test]
    fn simulate_finds_a_user_by_id_and_the_next_one_of_a_segment_wrapping_round() {
        use super::SimPick;
        let users: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let segments = [0, 1, 0, 1];
        let find = |p: SimPick| p.find(&users, &segments);
        let next = |after: &str, segment| SimPick::Next {
            after: after.into(),
            segment,
        };
        assert_eq!(find(SimPick::Id("c".into())), Ok(2));
        assert!(
            find(SimPick::Id("zz".into()))
                .unwrap_err()
                .contains("\"zz\"")
        );
        assert_eq!(find(next("", None)), Ok(0), "from the start");
        assert_eq!(find(next("b", None)), Ok(2));
        assert_eq!(find(next("d", None)), Ok(0), "wraps round");
        assert_eq!(find(next("b", Some(1))), Ok(3));
        assert_eq!(
            find(next("d", Some(1))),
            Ok(1),
            "wraps round within the segment"
        );
        assert_eq!(find(next("a", Some(0))), Ok(2));
        assert!(find(next("a", Some(5))).is_err(), "a segment nobody is in");
        assert!(SimPick::Id("a".into()).find(&[], &[]).is_err());
        assert!(next("", None).find(&[], &[]).is_err());
    }

    #[test]
    fn a_selection_answers_per_user_and_changes_its_version_with_every_change() {
        let mut s = Selection::default();
        assert!(s.is_empty() && !s.contains(0));
        let v0 = s.version();
        s.set(vec![7, 2, 7]);
        assert_eq!(s, vec![7, 2, 7]);
        assert!(s.contains(2) && s.contains(7));
        assert!(!s.contains(3) && !s.contains(8) && !s.contains(usize::MAX));
        let v1 = s.version();
        assert_ne!(v0, v1);
        s.clear();
        assert!(s.is_empty() && !s.contains(7));
        assert_ne!(s.version(), v1);
    }
}
