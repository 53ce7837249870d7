//! The application: analysis state, view state, the background tasks, and the frame layout (navigation,
//! progress and cancel, the message panel). Each view lives in its own module.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Color32, RichText};
use persona_lab::data::Loaded;
use persona_lab::features::{self, FeatureConfig, Profile, TransformSpec};
use persona_lab::pipeline::ClusterRun;

use persona_lab::project::Project;
use persona_lab::rules::Population;
use persona_lab::ruleset::{Coverage, RuleSet};

use super::files::{self, Chooser, ChooserOutcome, FilePurpose};
use super::state::{
    Analysis, ClusterSettings, Level, Message, ProjectQuestion, Snapshot, View, ViewState,
};
use super::{
    clusters_view, data_view, export_view, features_view, monitor_view, personas_view,
    predict_view, rules_view, simulate_view,
};
use persona_lab::task::Task;

use super::cache::{Basis, CoverageKey};
use super::tasks::{Done, Finished, Kind, Tasks};

/// Settings changes wait this long before clustering re-runs, so dragging a slider runs it once.
pub const DEBOUNCE: Duration = Duration::from_millis(400);

/// How often unsaved work is written to the recovery file.
const AUTOSAVE_EVERY: Duration = Duration::from_secs(10);

pub struct PersonaApp {
    pub analysis: Analysis,
    pub ui_state: ViewState,
    /// Every running background task (load, clustering, model, exports, ...), one per kind.
    pub tasks: Tasks,
    /// The analysed users as columns for rule match counts, tied to the run it was made from.
    pub population: Option<(Basis, Arc<Population>)>,
    /// Rule coverage over every analysed user, for the rules and guardrails it was computed with.
    pub coverage: Option<(CoverageKey, Arc<Coverage>)>,
    /// Cached feature previews (GUI cache, recomputed when the spec changes).
    pub preview: Option<Arc<features_view::Preview>>,
    /// Where unsaved work is autosaved (None: no autosave, e.g. in tests that do not ask for it).
    pub recovery_path: Option<PathBuf>,
    /// Where the recent-files list is kept (None: not kept).
    pub recent_path: Option<PathBuf>,
    pub recent: Vec<PathBuf>,
    /// The system's file dialog, open on its own thread: what it is for, and its answer with how
    /// long it was up.
    pub dialog_task: Option<(FilePurpose, Task<files::DialogAnswer>)>,
    /// Whether to try the system's file dialog first (false: the in-app chooser always).
    pub system_dialogs: bool,
    /// Chart PNGs written on a worker report here.
    pub png_done: super::chart_export::Outcomes,
    /// The first-run guide, while it is open.
    pub guide: Option<super::help::Guide>,
    /// Rule templates: the shipped ones and the team's own (`rules::template::user_dirs`).
    pub templates: Vec<persona_lab::rules::RuleTemplate>,
    repaint: Option<egui::Context>,
}

/// What a background load gives: the loaded export, or why it failed with the export's columns.
pub enum LoadOutcome {
    /// The export, its profile, fingerprint and summary.
    Loaded(Box<(Loaded, Profile, String, String)>),
    Failed {
        message: String,
        columns: Vec<String>,
    },
}

impl PersonaApp {
    pub fn new(file: Option<PathBuf>) -> Self {
        // Messages from the core name the app's controls, not command-line flags.
        persona_lab::hints::set_frontend(persona_lab::hints::Frontend::App);
        let mut app = PersonaApp {
            analysis: Analysis::default(),
            ui_state: ViewState::default(),
            tasks: Tasks::default(),
            population: None,
            coverage: None,
            preview: None,
            recovery_path: None,
            recent_path: None,
            recent: Vec::new(),
            dialog_task: None,
            // Tests drive the in-app chooser; a system dialog would wait for a person.
            system_dialogs: !cfg!(test) && files::system_dialog_available(),
            templates: Vec::new(),
            guide: None,
            png_done: std::sync::mpsc::channel(),
            repaint: None,
        };
        let (templates, errors) =
            persona_lab::rules::template::load(&persona_lab::rules::template::user_dirs());
        app.templates = templates;
        for e in errors {
            app.warn(format!("rule template not loaded: {e}"));
        }
        if let Some(f) = file {
            app.open(f);
        }
        app
    }

    pub fn repainter(&self) -> impl Fn() + Send + Sync + Clone + 'static {
        let ctx = self.repaint.clone();
        move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        }
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.ui_state.messages.push(Message {
            level: Level::Error,
            text: text.into(),
        });
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.ui_state.messages.push(Message {
            level: Level::Warning,
            text: text.into(),
        });
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.ui_state.messages.push(Message {
            level: Level::Info,
            text: text.into(),
        });
    }

    /// Autosave unsaved work to `path` every few seconds; a file left there by a crash is offered back.
    pub fn with_recovery(mut self, path: PathBuf) -> Self {
        // A kill during an autosave leaves its temp file (the recovery file itself is whole: writes
        // are renamed into place).
        persona_lab::output::remove_stale_temps(&path);
        if path.exists() {
            self.ui_state.recovery_offer = Some(path.clone());
        }
        self.recovery_path = Some(path);
        self
    }

    /// Keep a recent-files list in `path` (one path per line, newest first).
    /// Show the first-run guide unless `marker` says it was seen (it is written when the guide closes).
    pub fn with_guide(mut self, marker: PathBuf) -> Self {
        self.guide = super::help::Guide::unless_seen(marker);
        self
    }

    pub fn with_recent(mut self, path: PathBuf) -> Self {
        if let Ok(text) = std::fs::read_to_string(&path) {
            self.recent = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(PathBuf::from)
                .collect();
        }
        self.recent_path = Some(path);
        self
    }

    fn remember(&mut self, file: &std::path::Path) {
        let Some(store) = self.recent_path.clone() else {
            return;
        };
        let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        self.recent.retain(|p| p != &file);
        self.recent.insert(0, file);
        self.recent.truncate(8);
        let text: String = self
            .recent
            .iter()
            .map(|p| format!("{}\n", p.display()))
            .collect();
        if let Some(dir) = store.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = persona_lab::output::write_bytes(&store, text.as_bytes());
    }

    /// The default recovery file: `$XDG_DATA_HOME/persona-lab/recovery.plab` (or under ~/.local/share).
    pub fn default_recovery_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
        Some(base.join("persona-lab").join("recovery.plab"))
    }

    /// Unsaved changes: settings or persona texts differ from the last save / open.
    pub fn dirty(&self) -> bool {
        self.analysis.run.is_some() && self.ui_state.saved.as_ref() != Some(&self.snapshot())
    }

    /// Write the recovery file now (when there is something unsaved).
    pub fn autosave(&mut self) {
        self.ui_state.last_autosave = Some(Instant::now());
        let Some(path) = self.recovery_path.clone() else {
            return;
        };
        if !self.dirty() {
            return;
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = self
            .project()
            .and_then(|p| p.write(&path).map_err(|e| e.to_string()))
        {
            self.error(format!("autosave failed: {e}"));
            self.recovery_path = None; // say it once
        }
    }

    fn clear_recovery(&mut self) {
        if let Some(p) = &self.recovery_path {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Ask for a file for `purpose`: the system dialog on its own thread when there is one, else the
    /// in-app chooser. The answer arrives in `file_chosen`.
    pub fn ask_file(&mut self, purpose: FilePurpose) {
        if self.dialog_task.is_some() || self.ui_state.file_chooser.is_some() {
            return;
        }
        let start = self.start_dir();
        if !self.system_dialogs {
            self.ui_state.file_chooser =
                Some(Chooser::new(purpose, start, Some(files::builtin_reason())));
            return;
        }
        let task = Task::spawn(purpose.spec().title, self.repainter(), move |_| {
            Ok(files::system_dialog(purpose, Some(&start)))
        });
        self.dialog_task = Some((purpose, task));
    }

    /// Where a file dialog starts: the folder of the project or export in use, else the working folder.
    fn start_dir(&self) -> PathBuf {
        self.analysis
            .project_path
            .as_ref()
            .or(self.analysis.source.as_ref())
            .and_then(|p| {
                if p.is_dir() {
                    Some(p.as_path())
                } else {
                    p.parent()
                }
            })
            .filter(|d| d.is_dir())
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    /// The system dialog answered: use the file, or, when it closed too fast to have been shown,
    /// open the in-app chooser and say why.
    fn poll_dialog(&mut self) {
        let Some((purpose, task)) = &self.dialog_task else {
            return;
        };
        let purpose = *purpose;
        let Some(r) = task.poll() else { return };
        self.dialog_task = None;
        match r {
            Ok((Some(path), _)) => self.file_chosen(purpose, path),
            Ok((None, up)) if up >= files::TOO_FAST => {}
            Ok((None, _)) | Err(_) => {
                // Later requests go straight to the chooser.
                self.system_dialogs = false;
                self.ui_state.file_chooser = Some(Chooser::new(
                    purpose,
                    self.start_dir(),
                    Some(
                        "The system's file dialog could not be shown (no desktop portal and no \
                         zenity here), so choose the file in this window."
                            .into(),
                    ),
                ));
            }
        }
    }

    /// Use a chosen file: the one place that knows what each purpose does with it.
    pub fn file_chosen(&mut self, purpose: FilePurpose, path: PathBuf) {
        match purpose {
            FilePurpose::OpenExport | FilePurpose::OpenFolder => self.open(path),
            FilePurpose::OpenProject => self.open_project(path),
            FilePurpose::LocateSource => {
                if let Some(q) = self.ui_state.project_question.take() {
                    let mut p = (*q.project).clone();
                    p.source = path;
                    self.apply_project(q.path.clone(), p, q.restored);
                }
            }
            FilePurpose::SaveProject => self.save_project(path),
            FilePurpose::ExportSelection => clusters_view::export_selection_to(self, &path),
            FilePurpose::ExportAssignments => export_view::export_assignments(self, path),
            FilePurpose::ExportSummary => export_view::export_summary(self, path, false),
            FilePurpose::ExportSummaryHtml => export_view::export_summary(self, path, true),
            FilePurpose::SaveRuleSet => export_view::save_rule_set(self, path),
            FilePurpose::ExportHighRisk => predict_view::export_high(self, path),
            FilePurpose::OpenOutcomes => monitor_view::load_outcomes(self, path),
            FilePurpose::CompareDeployed => monitor_view::compare_deployed(self, path),
            FilePurpose::ChartPng => self.ui_state.png_pending = Some(path),
            FilePurpose::ChartCsv => self.save_chart_csv(path),
        }
    }

    /// The numbers behind the chart on screen (the Predict view's curves, or the Clusters chart),
    /// written as CSV.
    fn save_chart_csv(&mut self, path: PathBuf) {
        if self.ui_state.view == View::Predict
            && let Some(p) = self.analysis.prediction.clone()
        {
            let text = super::chart_export::predict_curves_csv(&p);
            match persona_lab::output::write_bytes(&path, text.as_bytes()) {
                Ok(()) => self.info(format!("wrote {}", path.display())),
                Err(e) => self.error(e.to_string()),
            }
            return;
        }
        let Some(run) = self.analysis.run.clone() else {
            return;
        };
        let names = self.analysis.persona_names(run.segmentation.k);
        match super::chart_export::chart_csv(
            self.ui_state.chart,
            &run,
            &names,
            self.analysis.sweep.as_deref(),
        ) {
            Some((_, text)) => match persona_lab::output::write_bytes(&path, text.as_bytes()) {
                Ok(()) => self.info(format!("wrote {}", path.display())),
                Err(e) => self.error(e.to_string()),
            },
            None => self
                .error("this chart has no data yet (run the sweep, or pick a hierarchical method)"),
        }
    }

    /// The in-app chooser, when open.
    fn chooser_window(&mut self, ctx: &egui::Context) {
        let Some(c) = self.ui_state.file_chooser.as_mut() else {
            return;
        };
        match files::show_chooser(c, ctx) {
            ChooserOutcome::Open => {}
            ChooserOutcome::Cancelled => self.ui_state.file_chooser = None,
            ChooserOutcome::Chosen(p) => {
                let purpose = c.purpose;
                self.ui_state.file_chooser = None;
                self.file_chosen(purpose, p);
            }
        }
    }

    /// Open what the user named: a project (`.plab`) with its settings, anything else as an export.
    /// The command line, dropped files, File > Open and the recent list all come through here.
    pub fn open(&mut self, path: PathBuf) {
        if persona_lab::project::is_project_path(&path) {
            self.open_project(path);
        } else {
            self.open_data(path);
        }
    }

    /// Load an export in the background (and compute its profile).
    pub fn open_data(&mut self, path: PathBuf) {
        self.ui_state.restored_unsaved = false;
        self.ui_state.load_settings_changed = false;
        self.analysis.source = Some(path.clone());
        self.remember(&path);
        let opts = self.analysis.load_options.clone();
        let cfg = self.analysis.feature_config.clone();
        self.tasks.start(
            Kind::Load,
            Task::spawn(
                format!("Loading {}", path.display()),
                self.repainter(),
                move |job| {
                    job.progress("loading", 0.0);
                    let loaded = match persona_lab::data::load_with(&path, &opts, job) {
                        Ok(l) => l,
                        Err(e) => {
                            // A role not found, a shape misread: the columns let the analyst fix it.
                            let columns =
                                persona_lab::data::columns_of(&path, &opts).unwrap_or_default();
                            return Ok(LoadOutcome::Failed {
                                message: e.to_string(),
                                columns,
                            });
                        }
                    };
                    job.check().map_err(|e| e.to_string())?;
                    job.progress("features", 0.5);
                    let profile = features::compute_profile_with(&loaded, &cfg, job)
                        .map_err(|e| e.to_string())?;
                    job.progress("fingerprint", 0.9);
                    let fingerprint = persona_lab::ruleset::fingerprint(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    let users = persona_lab::summary::users_of(&loaded, &profile, &cfg);
                    let summary = persona_lab::summary::load_summary(&loaded, users);
                    Ok(LoadOutcome::Loaded(Box::new((
                        loaded,
                        profile,
                        fingerprint,
                        summary,
                    ))))
                },
            ),
            Done::Load,
        );
    }

    /// The analysis as a project file's content.
    pub fn project(&self) -> Result<Project, String> {
        let source = self
            .analysis
            .source
            .clone()
            .ok_or("open an export before saving a project")?;
        let c = &self.analysis.cluster;
        Ok(Project {
            format_version: persona_lab::project::PROJECT_VERSION,
            // The fingerprint taken when the data was loaded: it describes the data analysed (the
            // file may have changed since), and hashing a large file again here would stall the window.
            source_fingerprint: self
                .analysis
                .fingerprint
                .clone()
                .ok_or("the export is still loading")?,
            source,
            load_options: self.analysis.load_options.clone(),
            ids_hashed: self.analysis.load_options.hash_salt.is_some(),
            feature_config: self.analysis.feature_config.clone(),
            spec: self.analysis.spec.clone(),
            params: c.run_settings().params,
            sweep_k: (c.k_min, c.k_max),
            personas: self.analysis.personas.clone(),
            rules: self.analysis.rules.clone(),
            guardrails: self.analysis.guardrails.clone(),
            predict: self.analysis.prediction.as_ref().map(|p| p.params.clone()),
        })
    }

    pub fn save_project(&mut self, path: PathBuf) {
        match self
            .project()
            .and_then(|p| p.write(&path).map_err(|e| e.to_string()))
        {
            Ok(()) => {
                self.analysis.project_path = Some(path);
                self.ui_state.saved = Some(self.snapshot());
                self.ui_state.restored_unsaved = false;
                self.clear_recovery();
            }
            Err(e) => self.error(e),
        }
    }

    /// Open a project: its settings, then its data; clustering follows with the saved parameters.
    /// Reading it and fingerprinting its source (a hash of a file that may be gigabytes) run in the
    /// background. When the source moved or changed since it was saved, ask first (see
    /// `project_dialog`) rather than silently cluster different data.
    pub fn open_project(&mut self, path: PathBuf) {
        self.read_project(path, false);
    }

    /// `restored`: the project is a recovery file; it opens unsaved, with no project path.
    fn read_project(&mut self, path: PathBuf, restored: bool) {
        self.tasks.start(
            Kind::Project,
            Task::spawn(
                format!("Opening {}", path.display()),
                self.repainter(),
                move |job| {
                    job.progress("reading", 0.0);
                    let p = Project::read(&path).map_err(|e| e.to_string())?;
                    job.progress("checking the source", 0.2);
                    let problem = match persona_lab::ruleset::fingerprint(&p.source) {
                        Ok(fp) if fp == p.source_fingerprint => None,
                        Ok(_) => Some(format!(
                            "The source file {} changed since the project was saved: the segments, \
                         personas and rules may no longer fit it.",
                            p.source.display()
                        )),
                        Err(e) => Some(format!(
                            "The source file {} cannot be read ({e}): it may have moved.",
                            p.source.display()
                        )),
                    };
                    Ok(ProjectQuestion {
                        path,
                        project: Box::new(p),
                        problem: problem.unwrap_or_default(),
                        restored,
                    })
                },
            ),
            Done::Project,
        );
    }

    /// Take a project's settings and load its source. `restored`: from a recovery file, so unsaved.
    pub fn apply_project(&mut self, path: PathBuf, p: Project, restored: bool) {
        if p.ids_hashed {
            // The salt is never stored: without it the analysis would run on (and export) raw ids.
            self.warn(format!(
                "{}: this project was analysed with hashed user ids, and the salt is not stored: \
                 turn on \"hash user ids\" in the Data view with the same salt before exporting, \
                 or the exports will hold raw ids",
                path.display()
            ));
        }
        self.analysis.load_options = p.load_options;
        self.analysis.feature_config = p.feature_config;
        self.analysis.pending_spec = p.spec;
        self.analysis.pending_personas = Some(p.personas);
        self.analysis.rules = p.rules;
        self.analysis.guardrails = p.guardrails;
        self.analysis.pending_predict = p.predict.is_some();
        if let Some(params) = p.predict {
            self.analysis.predict = params;
        }
        self.ui_state.rules.selected = None;
        self.analysis.cluster = ClusterSettings {
            params: p.params,
            k_min: p.sweep_k.0,
            k_max: p.sweep_k.1,
        };
        self.open_data(p.source);
        // A restored analysis is unsaved until the user saves it somewhere.
        self.analysis.project_path = (!restored).then_some(path);
        self.ui_state.restored_unsaved = restored;
    }

    /// Recompute the profile with new feature settings (half-life, top events...).
    pub fn reload_features(&mut self, cfg: FeatureConfig) {
        self.analysis.feature_config = cfg;
        if let Some(path) = self.analysis.source.clone() {
            self.open_data(path);
        }
    }

    /// Cluster with the current settings in the background.
    pub fn run_clustering(&mut self) {
        let (Some(profile), Some(spec)) =
            (self.analysis.profile.clone(), self.analysis.spec.clone())
        else {
            return;
        };
        let settings = self.analysis.cluster.run_settings();
        self.ui_state.rerun_at = None;
        self.tasks.start(
            Kind::Cluster,
            Task::spawn(
                format!(
                    "Clustering ({}, k = {})",
                    settings.params.method, settings.params.k
                ),
                self.repainter(),
                move |job| {
                    persona_lab::pipeline::cluster_profile(&profile, &spec, &settings, job)
                        .map_err(|e| e.to_string())
                },
            ),
            |r| Done::Cluster(Box::new(r)),
        );
    }

    /// Sweep k in the background.
    pub fn run_sweep(&mut self) {
        let (Some(profile), Some(spec)) =
            (self.analysis.profile.clone(), self.analysis.spec.clone())
        else {
            return;
        };
        let c = self.analysis.cluster.clone();
        let settings = c.run_settings();
        self.tasks.start(
            Kind::Sweep,
            Task::spawn(
                format!("Sweeping k = {}..{}", c.k_min, c.k_max),
                self.repainter(),
                move |job| {
                    let (_, m) = persona_lab::pipeline::clustering_matrix(&profile, &spec)
                        .map_err(|e| e.to_string())?;
                    let p = persona_lab::cluster::Points::of(&m);
                    persona_lab::cluster::sweep(
                        &p,
                        &settings.params,
                        c.k_min,
                        c.k_max,
                        &settings.silhouette,
                        persona_lab::cluster::stability::DEFAULT_RESAMPLES,
                        job,
                    )
                    .map_err(|e| e.to_string())
                },
            ),
            Done::Sweep,
        );
    }

    /// Merge segment `b` into segment `a` (background; everything is recomputed).
    pub fn merge_segments(&mut self, a: usize, b: usize) {
        let labels = match &self.analysis.run {
            Some(run) => persona_lab::pipeline::merged_labels(&run.segmentation.labels, a, b),
            None => return,
        };
        self.apply_labels(
            labels,
            format!("segments {a} and {b} merged by the analyst"),
        );
    }

    /// Split segment `c` in two by k-means on its members (background).
    pub fn split_segment(&mut self, c: usize) {
        let (Some(run), Some(profile)) = (self.analysis.run.clone(), self.analysis.profile.clone())
        else {
            return;
        };
        let settings = self.analysis.cluster.run_settings();
        self.tasks.start(
            Kind::Cluster,
            Task::spawn(
                format!("Splitting segment {c}"),
                self.repainter(),
                move |job| {
                    let labels =
                        persona_lab::pipeline::split_labels(&run, c, settings.params.seed, job)
                            .map_err(|e| e.to_string())?;
                    persona_lab::pipeline::relabel(
                        &run,
                        &profile,
                        &labels,
                        format!("segment {c} split in two by the analyst"),
                        &settings.silhouette,
                        job,
                    )
                    .map_err(|e| e.to_string())
                },
            ),
            |r| Done::Cluster(Box::new(r)),
        );
    }

    fn apply_labels(&mut self, labels: Vec<usize>, note: String) {
        let (Some(run), Some(profile)) = (self.analysis.run.clone(), self.analysis.profile.clone())
        else {
            return;
        };
        let sil = self.analysis.cluster.run_settings().silhouette;
        self.tasks.start(
            Kind::Cluster,
            Task::spawn("Re-segmenting", self.repainter(), move |job| {
                persona_lab::pipeline::relabel(&run, &profile, &labels, note, &sil, job)
                    .map_err(|e| e.to_string())
            }),
            |r| Done::Cluster(Box::new(r)),
        );
    }

    /// Feature previews for the current spec, in the background.
    pub fn run_preview(&mut self) {
        let (Some(profile), Some(spec)) =
            (self.analysis.profile.clone(), self.analysis.spec.clone())
        else {
            return;
        };
        self.tasks.start(
            Kind::Preview,
            Task::spawn("Feature previews", self.repainter(), move |_| {
                Ok(features_view::compute_preview(&profile, &spec)
                    .unwrap_or_else(|e| features_view::Preview::failed(&spec, e)))
            }),
            Done::Preview,
        );
    }

    /// Train the churn / conversion model in the background (labels from the window after the cutoff).
    pub fn run_prediction(&mut self) {
        let (Some(loaded), Some(spec)) = (self.analysis.loaded.clone(), self.analysis.spec.clone())
        else {
            return;
        };
        let cfg = self.analysis.feature_config.clone();
        let params = self.analysis.predict.clone();
        let users_table = loaded.shape == persona_lab::data::Shape::Users;
        self.tasks.start(
            Kind::Predict,
            Task::spawn(
                format!("Training the {} model", params.target.score_name()),
                self.repainter(),
                move |job| {
                    job.progress("features before the cutoff", 0.0);
                    let prep = persona_lab::predict::prepare(&loaded, &cfg, &params)
                        .map_err(|e| e.to_string())?;
                    // Events: the prediction feature set; a users table: the clustering features.
                    let spec = users_table.then_some(&spec);
                    persona_lab::predict::train(&prep, spec, &params, job)
                        .map_err(|e| e.to_string())
                },
            ),
            |r| Done::Predict(Box::new(r)),
        );
    }

    /// Per-segment stability of a new run in the background (five seeded resamples of 80%).
    fn run_stability(&mut self, run: Arc<ClusterRun>) {
        self.tasks.start(
            Kind::Stability,
            Task::spawn("Segment stability", self.repainter(), move |job| {
                let s = persona_lab::pipeline::run_stability(
                    &run,
                    persona_lab::cluster::stability::DEFAULT_RESAMPLES,
                    persona_lab::pipeline::STABILITY_USERS,
                    job,
                )
                .map_err(|e| e.to_string())?;
                Ok((run, s))
            }),
            Done::Stability,
        );
    }

    /// t-SNE of the current run in the background (a seeded sample of 5,000 users).
    pub fn run_tsne(&mut self) {
        let Some(run) = self.analysis.run.clone() else {
            return;
        };
        let seed = self.analysis.cluster.params.seed;
        self.tasks.start(
            Kind::Tsne,
            Task::spawn("t-SNE", self.repainter(), move |job| {
                let p = persona_lab::cluster::Points::of(&run.matrix);
                let params = persona_lab::cluster::TsneParams {
                    seed,
                    ..Default::default()
                };
                let t = persona_lab::cluster::tsne(&p, &params, job).map_err(|e| e.to_string())?;
                Ok((run, t))
            }),
            Done::Tsne,
        );
    }

    /// Settings changed: re-run clustering after the debounce delay.
    pub fn settings_changed(&mut self) {
        if self.analysis.profile.is_some() {
            self.ui_state.rerun_at = Some(Instant::now() + DEBOUNCE);
        }
    }

    /// Collect finished background work.
    pub fn poll_tasks(&mut self) {
        self.poll_dialog();
        while let Ok(r) = self.png_done.1.try_recv() {
            match r {
                Ok(m) => self.info(m),
                Err(e) => self.error(format!("chart PNG: {e}")),
            }
        }
        for f in self.tasks.finished() {
            match f {
                Finished::Done(d) => self.apply(d),
                Finished::Cancelled => {}
                // Stability is extra information on the cards: its failure is not an error.
                Finished::Failed(Kind::Stability, e) => {
                    self.warn(format!("segment stability: {e}"))
                }
                Finished::Failed(_, e) => self.error(e),
            }
        }
        if let Some(at) = self.ui_state.rerun_at
            && Instant::now() >= at
        {
            self.run_clustering();
        }
    }

    /// Apply a finished task's result: the one place results enter the analysis.
    fn apply(&mut self, done: Done) {
        match done {
            Done::Project(q) if q.problem.is_empty() => {
                self.apply_project(q.path, *q.project, q.restored)
            }
            Done::Project(q) => self.ui_state.project_question = Some(q),
            Done::Load(LoadOutcome::Failed { message, columns }) => {
                self.analysis.failed_load = Some((message.clone(), columns));
                self.error(message);
            }
            Done::Load(LoadOutcome::Loaded(done)) => {
                let (loaded, profile, fingerprint, summary) = *done;
                self.analysis.failed_load = None;
                self.analysis.fingerprint = Some(fingerprint);
                for w in &loaded.warnings {
                    self.warn(format!("{}: {w}", loaded.path.display()));
                }
                let spec = self
                    .analysis
                    .pending_spec
                    .take()
                    .unwrap_or_else(|| TransformSpec::default_for(&profile));
                self.analysis.spec = Some(spec);
                // Made on the worker: counting users is real work at millions of events.
                self.analysis.summary = Some(summary);
                self.analysis.loaded = Some(Arc::new(loaded));
                self.ui_state.history.last = None;
                self.ui_state.saved = None;
                self.analysis.profile = Some(Arc::new(profile));
                self.analysis.run = None;
                self.analysis.sweep = None;
                // A model belongs to the data it was trained on.
                self.analysis.prediction = None;
                if std::mem::take(&mut self.analysis.pending_predict) {
                    self.run_prediction();
                }
                self.run_clustering();
            }
            Done::Cluster(run) => {
                self.ui_state.selection.clear();
                let run = *run;
                let mut personas = persona_lab::pipeline::carry_personas(
                    self.analysis.run.as_deref(),
                    &self.analysis.personas,
                    &run,
                );
                if let Some(saved) = self.analysis.pending_personas.take()
                    && saved.len() == run.segmentation.k
                {
                    personas = saved;
                } else if let Some(old_run) = &self.analysis.run {
                    // Rules follow the users of the personas they target into the new run.
                    persona_lab::pipeline::retarget_rules(
                        &mut self.analysis.rules,
                        old_run,
                        &self.analysis.personas,
                        &run,
                        &personas,
                    );
                }
                self.analysis.personas = personas;
                let run = Arc::new(run);
                self.analysis.run = Some(run.clone());
                self.run_stability(run);
                // Results replacing persona suggestions are not an edit: no undo step.
                self.ui_state.history.last = Some(self.snapshot());
                if self.ui_state.saved.is_none() && !self.ui_state.restored_unsaved {
                    // Just loaded (or opened from a project): nothing to save yet. A restored
                    // recovery file stays unsaved until it is saved somewhere.
                    self.ui_state.saved = Some(self.snapshot());
                }
            }
            Done::Sweep(s) => self.analysis.sweep = Some(Arc::new(s)),
            Done::Stability((run, s)) => self.analysis.stability = Some((run, Arc::new(s))),
            Done::Tsne((run, t)) => self.analysis.tsne = Some((run, Arc::new(t))),
            Done::Preview(p) => self.preview = Some(Arc::new(p)),
            Done::Monitor(rep) => self.analysis.monitor = Some(Arc::new(rep)),
            Done::Drift(d) => self.analysis.drift = Some(Arc::new(d)),
            Done::Predict(p) => self.analysis.prediction = Some(Arc::new(*p)),
            Done::Population((basis, p)) => {
                self.ui_state.rules.hist.clear();
                self.ui_state.rules.counts.clear();
                self.population = Some((basis, Arc::new(p)));
            }
            Done::Coverage((key, c)) => self.coverage = Some((key, Arc::new(c))),
            Done::Export(m) => self.info(m),
        }
    }

    /// What the rule previews are computed from: the run and the model (by identity).
    pub fn basis(&self) -> Option<Basis> {
        Some(Basis {
            run: self.analysis.run.clone()?,
            prediction: self.analysis.prediction.clone(),
        })
    }

    /// The population of the current run for rule match counts (with the model's score for every
    /// user when there is one): ready, or started in the background.
    pub fn population(&mut self) -> Option<Arc<Population>> {
        let basis = self.basis()?;
        match &self.population {
            Some((b, p)) if *b == basis => return Some(p.clone()),
            _ => {}
        }
        if !self.tasks.running(Kind::Population) {
            let profile = self.analysis.profile.clone()?;
            let run = basis.run.clone();
            let ids = self.analysis.persona_ids(run.segmentation.k);
            self.tasks.start(
                Kind::Population,
                Task::spawn("Preparing rule previews", self.repainter(), move |_| {
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
                    Ok((basis, p))
                }),
                Done::Population,
            );
        }
        None
    }

    /// Coverage of the current rules: ready (possibly for older rules), and recomputed in the
    /// background when the rules changed.
    pub fn coverage(&mut self) -> Option<(bool, Arc<Coverage>)> {
        let key = CoverageKey {
            rules: self.analysis.rules.clone(),
            guardrails: self.analysis.guardrails.clone(),
            basis: self.basis(),
        };
        let fresh = self.coverage.as_ref().is_some_and(|(k, _)| *k == key);
        if !fresh
            && !self.tasks.running(Kind::Coverage)
            && let (Some(rs), Some(profile)) = (self.rule_set(), self.analysis.profile.clone())
        {
            self.tasks.start(
                Kind::Coverage,
                Task::spawn("Rule coverage", self.repainter(), move |job| {
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
                }),
                Done::Coverage,
            );
        }
        self.coverage.as_ref().map(|(_, c)| (fresh, c.clone()))
    }

    pub fn busy(&self) -> bool {
        self.tasks.any()
    }

    /// The whole window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        if self.repaint.is_none() {
            self.repaint = Some(ui.ctx().clone());
        }
        self.poll_tasks();
        if self.busy() {
            // Keep the progress bar animating even between progress reports.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
        if let Some(at) = self.ui_state.rerun_at {
            ui.ctx()
                .request_repaint_after(at.saturating_duration_since(Instant::now()));
        }
        self.shortcuts(ui);
        if self
            .ui_state
            .last_autosave
            .is_none_or(|t| t.elapsed() > AUTOSAVE_EVERY)
        {
            self.autosave();
        }
        if self.recovery_path.is_some() {
            // egui draws only on input: without this, an edit followed by no input (the analyst
            // looks away, then the machine dies) would never reach the recovery file.
            ui.ctx().request_repaint_after(AUTOSAVE_EVERY);
        }
        self.recovery_bar(ui);
        self.quit_dialog(ui);
        self.project_dialog(ui);
        self.chooser_window(&ui.ctx().clone());
        // A chart PNG: the next frame's pixels, cropped to where the chart was drawn.
        if let Some(path) = self.ui_state.png_pending.take() {
            match self.ui_state.chart_rect {
                Some(rect) => super::chart_export::save_png(
                    &ui.ctx().clone(),
                    rect,
                    path,
                    self.png_done.0.clone(),
                ),
                None => self.error("open a chart first, then save it"),
            }
        }
        if let Some(g) = self.guide.as_mut()
            && !super::help::show_guide(g, &ui.ctx().clone())
        {
            self.guide = None;
        }
        egui::Panel::top("nav").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("Persona Lab");
                let mut theme = ui.ctx().options(|o| o.theme_preference);
                // No label beside it (the bar is full at 1280 px): named for screen readers and on hover.
                egui::ComboBox::from_id_salt("theme")
                    .width(64.0)
                    .selected_text(format!("{theme:?}"))
                    .show_ui(ui, |ui| {
                        for t in [
                            egui::ThemePreference::System,
                            egui::ThemePreference::Light,
                            egui::ThemePreference::Dark,
                        ] {
                            ui.selectable_value(&mut theme, t, format!("{t:?}"));
                        }
                    })
                    .response
                    .accessible_name("Theme")
                    .on_hover_text("Theme");
                ui.ctx().set_theme(theme);
                if ui.button("Open project…").clicked() {
                    self.ask_file(FilePurpose::OpenProject);
                }
                if ui
                    .add_enabled(
                        self.analysis.source.is_some(),
                        egui::Button::new("Save project…"),
                    )
                    .on_hover_text("Ctrl+S")
                    .clicked()
                {
                    self.save_project_dialog();
                }
                if ui
                    .add_enabled(
                        !self.ui_state.history.undo.is_empty(),
                        egui::Button::new("Undo"),
                    )
                    .on_hover_text("Ctrl+Z")
                    .clicked()
                {
                    self.undo();
                }
                if ui
                    .add_enabled(
                        !self.ui_state.history.redo.is_empty(),
                        egui::Button::new("Redo"),
                    )
                    .on_hover_text("Ctrl+Shift+Z")
                    .clicked()
                {
                    self.redo();
                }
                ui.separator();
                self.progress_bar(ui);
            });
            // The workflow on a row of its own, so every step and the status fit at 1280 px.
            ui.horizontal(|ui| {
                for v in View::ALL {
                    let enabled = match v {
                        View::Data => true,
                        View::Features | View::Predict => self.analysis.profile.is_some(),
                        View::Monitor => true,
                        _ => self.analysis.run.is_some(),
                    };
                    let r = ui.add_enabled(
                        enabled,
                        egui::Button::selectable(self.ui_state.view == v, v.label()),
                    );
                    if r.clicked() {
                        self.ui_state.view = v;
                    }
                }
            });
        });
        if !self.ui_state.messages.is_empty() {
            egui::Panel::bottom("messages").show(ui, |ui| self.messages(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            // Save as PNG crops to the whole view unless the view names its chart (Clusters does).
            self.ui_state.chart_rect = Some(ui.max_rect());
            self.view(ui);
        });
        let pointer_down = ui.ctx().input(|i| i.pointer.any_down());
        self.record_history(pointer_down);
    }

    fn view(&mut self, ui: &mut egui::Ui) {
        match self.ui_state.view {
            View::Data => data_view::show(self, ui),
            View::Features => features_view::show(self, ui),
            View::Clusters => clusters_view::show(self, ui),
            View::Personas => personas_view::show(self, ui),
            View::Predict => predict_view::show(self, ui),
            View::Rules => rules_view::show(self, ui),
            View::Simulate => simulate_view::show(self, ui),
            View::Export => export_view::show(self, ui),
            View::Monitor => monitor_view::show(self, ui),
        }
    }

    fn recovery_bar(&mut self, ui: &mut egui::Ui) {
        let Some(path) = self.ui_state.recovery_offer.clone() else {
            return;
        };
        egui::Panel::top("recovery").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label("Unsaved work from a session that did not close cleanly was found.");
                if ui.button("Restore unsaved work").clicked() {
                    self.ui_state.recovery_offer = None;
                    self.read_project(path.clone(), true);
                }
                if ui.button("Discard it").clicked() {
                    self.ui_state.recovery_offer = None;
                    let _ = std::fs::remove_file(&path);
                }
            });
        });
    }

    /// A project whose source moved or changed: open it anyway, point it at the file, or cancel.
    fn project_dialog(&mut self, ui: &mut egui::Ui) {
        let Some(q) = self.ui_state.project_question.take() else {
            return;
        };
        let ctx = ui.ctx().clone();
        let mut keep = true;
        egui::Window::new("The project's data changed")
            .collapsible(false)
            .resizable(false)
            .show(&ctx, |ui| {
                ui.label(&q.problem);
                ui.horizontal(|ui| {
                    if q.project.source.exists()
                        && ui.button("Open with this file anyway").clicked()
                    {
                        keep = false;
                        self.apply_project(q.path.clone(), (*q.project).clone(), q.restored);
                        self.warn(format!(
                            "{}: opened although the source changed since the project was saved",
                            q.project.source.display()
                        ));
                    }
                    if ui.button("Locate the source file…").clicked() {
                        // The question stays open until a file is chosen (file_chosen takes it).
                        self.ask_file(FilePurpose::LocateSource);
                    }
                    if ui.button("Cancel").clicked() {
                        keep = false;
                    }
                });
            });
        if keep {
            self.ui_state.project_question = Some(q);
        }
    }

    /// Closing with unsaved changes asks first.
    fn quit_dialog(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested())
            && !self.ui_state.allow_close
            && self.dirty()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.ui_state.confirm_quit = true;
        }
        if !self.ui_state.confirm_quit {
            return;
        }
        egui::Window::new("Unsaved changes")
            .collapsible(false)
            .resizable(false)
            .show(&ctx, |ui| {
                ui.label("Save the project before closing?");
                ui.horizontal(|ui| {
                    if ui.button("Save…").clicked() {
                        self.ui_state.confirm_quit = false;
                        match self.analysis.project_path.clone() {
                            Some(p) => self.save_project(p),
                            None => self.save_project_dialog(),
                        }
                    }
                    if ui.button("Close without saving").clicked() {
                        self.ui_state.confirm_quit = false;
                        self.ui_state.allow_close = true;
                        self.clear_recovery();
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                    if ui.button("Keep working").clicked() {
                        self.ui_state.confirm_quit = false;
                    }
                });
            });
    }

    fn save_project_dialog(&mut self) {
        self.ask_file(FilePurpose::SaveProject);
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            spec: self.analysis.spec.clone(),
            cluster: self.analysis.cluster.clone(),
            personas: self.analysis.personas.clone(),
            rules: self.analysis.rules.clone(),
            guardrails: self.analysis.guardrails.clone(),
        }
    }

    /// The rule set as it would be exported now: model, personas, rules and guardrails.
    pub fn rule_set(&self) -> Option<RuleSet> {
        let a = &self.analysis;
        let (run, loaded, profile, src) = (
            a.run.as_ref()?,
            a.loaded.as_ref()?,
            a.profile.as_ref()?,
            a.source.as_ref()?,
        );
        let source = persona_lab::ruleset::new_source(
            a.fingerprint.clone().unwrap_or_default(),
            src,
            loaded.shape,
            run.matrix.n_rows,
            a.load_options.hash_salt.is_some(),
        );
        let mut rs = persona_lab::ruleset::build(
            source,
            &a.feature_config,
            profile,
            &run.fitted,
            &run.segmentation,
            &run.profiles,
        );
        rs.personas = a.personas.clone();
        // The editor keeps half-typed items (a trailing comma, spaces); the file gets clean ones.
        for p in &mut rs.personas {
            p.preferred_content = p
                .preferred_content
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
        }
        rs.rules = a.rules.clone();
        rs.guardrails = a.guardrails.clone();
        if let Some(p) = &a.prediction {
            rs.set_model(p.model.clone());
        }
        Some(rs)
    }

    /// Record a history step when the undoable state changed (edits less than a second apart merge).
    fn record_history(&mut self, pointer_down: bool) {
        let now = self.snapshot();
        let h = &mut self.ui_state.history;
        match &h.last {
            None => h.last = Some(now),
            Some(last) if *last != now && !pointer_down => {
                let recent = h
                    .last_change
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(1));
                if !recent {
                    h.undo.push(last.clone());
                    h.redo.clear();
                }
                h.last = Some(now);
                h.last_change = Some(Instant::now());
            }
            _ => {}
        }
    }

    fn restore(&mut self, s: Snapshot) {
        let rerun = s.spec != self.analysis.spec || s.cluster != self.analysis.cluster;
        self.analysis.spec = s.spec.clone();
        self.analysis.cluster = s.cluster.clone();
        self.analysis.rules = s.rules.clone();
        self.analysis.guardrails = s.guardrails.clone();
        // After a re-run with the restored settings, the restored persona texts and the rules naming
        // them fit the new segments as they are (runs are seeded), so they wait for it.
        if !rerun
            && self
                .analysis
                .run
                .as_ref()
                .is_some_and(|r| r.segmentation.k == s.personas.len())
        {
            self.analysis.personas = s.personas.clone();
        } else {
            self.analysis.pending_personas = Some(s.personas.clone());
        }
        // The state as it now is (persona texts may wait for the re-run): not a new edit.
        self.ui_state.history.last = Some(self.snapshot());
        self.ui_state.history.last_change = None;
        if rerun {
            self.settings_changed();
        }
    }

    pub fn undo(&mut self) {
        if let Some(prev) = self.ui_state.history.undo.pop() {
            let now = self.snapshot();
            self.ui_state.history.redo.push(now);
            self.restore(prev);
        }
    }

    pub fn redo(&mut self) {
        if let Some(next) = self.ui_state.history.redo.pop() {
            let now = self.snapshot();
            self.ui_state.history.undo.push(now);
            self.restore(next);
        }
    }

    /// Ctrl+O opens an export, Ctrl+S saves the project (asking where the first time), Ctrl+E exports
    /// the rule set, Ctrl+Z / Ctrl+Shift+Z undo and redo.
    fn shortcuts(&mut self, ui: &mut egui::Ui) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let open = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
        let save = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        let undo = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
        let redo = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        let export = KeyboardShortcut::new(Modifiers::COMMAND, Key::E);
        if ui.ctx().input_mut(|i| i.consume_shortcut(&export)) && self.analysis.run.is_some() {
            export_view::save_rule_set_dialog(self);
        }
        // Redo first: Ctrl+Shift+Z also matches the Ctrl+Z shortcut's modifiers.
        if ui.ctx().input_mut(|i| i.consume_shortcut(&redo)) {
            self.redo();
        }
        if ui.ctx().input_mut(|i| i.consume_shortcut(&undo)) {
            self.undo();
        }
        if ui.ctx().input_mut(|i| i.consume_shortcut(&open)) {
            self.ask_file(FilePurpose::OpenExport);
        }
        if ui.ctx().input_mut(|i| i.consume_shortcut(&save)) && self.analysis.source.is_some() {
            match self.analysis.project_path.clone() {
                Some(p) => self.save_project(p),
                None => self.save_project_dialog(),
            }
        }
    }

    fn progress_bar(&mut self, ui: &mut egui::Ui) {
        // The long jobs the analyst waits for; the rest (stability, previews, counts) run quietly.
        const SHOWN: [Kind; 5] = [
            Kind::Project,
            Kind::Load,
            Kind::Cluster,
            Kind::Sweep,
            Kind::Predict,
        ];
        let tasks: Vec<(String, (String, f32), bool)> =
            SHOWN.iter().filter_map(|k| self.tasks.status(*k)).collect();
        if let Some((label, (stage, f), cancelled)) = tasks.first() {
            ui.add(
                egui::ProgressBar::new(*f)
                    .desired_width(220.0)
                    .text(format!("{label}: {stage} {:.0}%", f * 100.0))
                    .animate(true),
            );
            if !cancelled && ui.button("Cancel").clicked() {
                for k in SHOWN.into_iter().chain([Kind::Tsne]) {
                    self.tasks.cancel(k);
                }
                self.ui_state.rerun_at = None;
            }
        } else if let Some(run) = &self.analysis.run {
            ui.label(format!(
                "{} users · k = {} · silhouette {:.3}",
                run.matrix.n_rows, run.segmentation.k, run.silhouette.mean
            ));
        }
    }

    fn messages(&mut self, ui: &mut egui::Ui) {
        let mut remove = None;
        egui::ScrollArea::vertical()
            .max_height(120.0)
            .show(ui, |ui| {
                for (i, m) in self.ui_state.messages.iter().enumerate() {
                    ui.horizontal(|ui| {
                        if ui.small_button("Dismiss").clicked() {
                            remove = Some(i);
                        }
                        let (tag, colour) = match m.level {
                            Level::Error => ("Error", Color32::from_rgb(213, 94, 0)),
                            Level::Warning => ("Warning", Color32::from_rgb(230, 159, 0)),
                            Level::Info => ("Done", Color32::from_rgb(0, 158, 115)),
                        };
                        ui.label(RichText::new(tag).strong().color(colour));
                        ui.label(&m.text);
                    });
                }
            });
        if let Some(i) = remove {
            self.ui_state.messages.remove(i);
        }
    }
}

impl eframe::App for PersonaApp {
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // A clean exit leaves no recovery file unless there is unsaved work.
        if !self.dirty() {
            self.clear_recovery();
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        // Files dropped onto the window open like File > Open.
        let dropped: Vec<PathBuf> = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.open(p);
        }
        self.show(ui);
    }
}
