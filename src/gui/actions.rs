//! What views ask of the app, as `Action`s applied after the frame in one place (`PersonaApp::act`),
//! and the runs they start: clustering, the sweep, merges and splits, previews, the model, t-SNE.
//! Each run goes through the task registry; its result comes back as a `Done` (see `app::apply`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use persona_lab::cluster::Method;
use persona_lab::data::{LoadOptions, RoleMapping};
use persona_lab::features::{FeatureConfig, TransformSpec};
use persona_lab::pipeline::ClusterRun;
use persona_lab::predict::PredictParams;
use persona_lab::rules::{Guardrails, Rule};
use persona_lab::ruleset::Persona;

use super::app::{DEBOUNCE, PersonaApp};
use super::files::FilePurpose;
use super::measure::Measure;
use super::state::{ClusterSettings, Pick, Selection, SimPick};
use super::tasks::{Done, Kind};

/// A request from a view (or a shortcut, or a dialog): views read state and push these; the app
/// applies them after the frame, in order, so no view changes the analysis while others draw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a project or an export (File > Open, the recent list, a dropped file).
    Open(PathBuf),
    /// Reload the export in use with the current load settings.
    Reload,
    /// Ask for a file (system dialog or the in-app chooser); the answer becomes a `FileChosen`.
    AskFile(FilePurpose),
    /// Recompute the profile with new feature settings.
    ReloadFeatures(FeatureConfig),
    /// Settings changed: re-cluster after the debounce delay.
    SettingsChanged,
    RunClustering,
    RunSweep,
    RunPrediction,
    RunTsne,
    /// Merge the second segment into the first.
    MergeSegments(usize, usize),
    /// Split a segment in two.
    SplitSegment(usize),
    /// Select the users picked on a chart (found on a worker).
    Select(Pick),
    /// Copy the selection's table to the clipboard as TSV (made on a worker).
    CopySelection,
    /// Load an analysed user into Simulate (found on a worker).
    SimulateUser(SimPick),
    /// Add a rule made from rule template `t` (its thresholds read every analysed user: on a worker).
    AddFromTemplate(usize),
    /// Measure these about the analysed users (rule editor counts and distributions, on a worker).
    Measure(Vec<Measure>),
    /// Check the rule set, then ask where to save it (Export's button, Ctrl+E).
    SaveRuleSet,
    /// Save the project to this file.
    SaveProject(PathBuf),
    Undo,
    Redo,
    /// An edit of the analysis, made by a view on a copy.
    Edit(Box<Edit>),
}

/// A change to the analysis from a view: the new value whole (views edit a copy), applied after the
/// frame. Undo steps come from comparing the undoable state after the frame (`record_history`).
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// How the export is read (shape, time format, hashing); applies on Reload.
    LoadOptions(LoadOptions),
    /// Which column plays which role; applies on Reload.
    Roles(RoleMapping),
    /// Feature settings that do not need the export read again (the session gap before a Reload).
    FeatureConfig(FeatureConfig),
    /// Which features cluster, their weights and scaling.
    Spec(TransformSpec),
    /// Method, k, seed and the sweep's range.
    Cluster(ClusterSettings),
    /// The number of segments alone (picked on the dendrogram or the sweep chart).
    K(usize),
    /// The clustering method alone.
    Method(Method),
    /// The churn / conversion model's settings.
    Predict(PredictParams),
    /// The persona at this position of the list (renamed, described, its content edited).
    Persona(usize, Persona),
    /// The content rules, in priority order.
    Rules(Vec<Rule>),
    Guardrails(Guardrails),
}

impl PersonaApp {
    /// Queue an action for after the frame.
    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// Apply the queued actions: the one place requests change the analysis.
    pub fn apply_actions(&mut self) {
        for a in std::mem::take(&mut self.actions) {
            self.act(a);
        }
    }

    pub fn act(&mut self, action: Action) {
        match action {
            Action::Open(p) => self.open(p),
            Action::Reload => {
                if let Some(p) = self.analysis.source.clone() {
                    self.open_data(p);
                }
            }
            Action::AskFile(purpose) => self.ask_file(purpose),
            Action::ReloadFeatures(cfg) => self.reload_features(cfg),
            Action::SettingsChanged => self.settings_changed(),
            Action::RunClustering => self.run_clustering(),
            Action::RunSweep => self.run_sweep(),
            Action::RunPrediction => self.run_prediction(),
            Action::RunTsne => self.run_tsne(),
            Action::MergeSegments(a, b) => self.merge_segments(a, b),
            Action::SplitSegment(c) => self.split_segment(c),
            Action::Select(pick) => self.select(pick),
            Action::CopySelection => super::file_work::copy_selection(self),
            Action::SimulateUser(pick) => self.simulate_user(pick),
            Action::Measure(asks) => self.measure(asks),
            Action::AddFromTemplate(t) => self.add_from_template(t),
            Action::SaveProject(p) => self.save_project(p),
            Action::SaveRuleSet => super::file_work::ask_save_rule_set(self),
            Action::Undo => self.undo(),
            Action::Redo => self.redo(),
            Action::Edit(e) => self.edit(*e),
        }
    }

    fn edit(&mut self, edit: Edit) {
        let a = &mut self.analysis;
        match edit {
            Edit::LoadOptions(o) => a.load_options = o,
            Edit::Roles(r) => a.load_options.roles = r,
            Edit::FeatureConfig(c) => a.feature_config = c,
            Edit::Spec(s) => a.spec = Some(s),
            Edit::Cluster(c) => a.cluster = c,
            Edit::K(k) => a.cluster.params.k = k,
            Edit::Method(m) => a.cluster.params.method = m,
            Edit::Predict(p) => a.predict = p,
            Edit::Persona(i, p) => {
                if let Some(slot) = a.personas.get_mut(i) {
                    *slot = p;
                }
            }
            Edit::Rules(r) => a.rules = r,
            Edit::Guardrails(g) => a.guardrails = g,
        }
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
        let Some((profile, spec)) = self.analysis.profile_and_spec() else {
            return;
        };
        let settings = self.analysis.cluster.run_settings();
        self.ui_state.rerun_at = None;
        self.spawn(
            Kind::Cluster,
            format!(
                "Clustering ({}, k = {})",
                settings.params.method, settings.params.k
            ),
            move |job| {
                persona_lab::pipeline::cluster_profile(&profile, &spec, &settings, job)
                    .map_err(|e| e.to_string())
            },
            Done::cluster,
        );
    }

    /// Sweep k in the background.
    pub fn run_sweep(&mut self) {
        let Some((profile, spec)) = self.analysis.profile_and_spec() else {
            return;
        };
        let c = self.analysis.cluster.clone();
        let settings = c.run_settings();
        self.spawn(
            Kind::Sweep,
            format!("Sweeping k = {}..{}", c.k_min, c.k_max),
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
        let Some((run, profile)) = self.analysis.run_and_profile() else {
            return;
        };
        let settings = self.analysis.cluster.run_settings();
        self.spawn(
            Kind::Cluster,
            format!("Splitting segment {c}"),
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
            Done::cluster,
        );
    }

    pub(super) fn apply_labels(&mut self, labels: Vec<usize>, note: String) {
        let Some((run, profile)) = self.analysis.run_and_profile() else {
            return;
        };
        let sil = self.analysis.cluster.run_settings().silhouette;
        self.spawn(
            Kind::Cluster,
            "Re-segmenting",
            move |job| {
                persona_lab::pipeline::relabel(&run, &profile, &labels, note, &sil, job)
                    .map_err(|e| e.to_string())
            },
            Done::cluster,
        );
    }

    /// Feature previews for the current spec, in the background.
    pub fn run_preview(&mut self) {
        let Some((profile, spec)) = self.analysis.profile_and_spec() else {
            return;
        };
        self.spawn(
            Kind::Preview,
            "Feature previews",
            move |_| Ok(persona_lab::features::preview::Preview::of(&profile, &spec)),
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
        self.spawn(
            Kind::Predict,
            format!("Training the {} model", params.target.score_name()),
            move |job| {
                job.progress("features before the cutoff", 0.0);
                let prep = persona_lab::predict::prepare(&loaded, &cfg, &params)
                    .map_err(|e| e.to_string())?;
                // Events: the prediction feature set; a users table: the clustering features.
                let spec = users_table.then_some(&spec);
                let p = persona_lab::predict::train(&prep, spec, &params, job)
                    .map_err(|e| e.to_string())?;
                // The curves have a point per held-out score: thinned here, not per frame.
                let curves = super::charts::DrawnCurves::of(&p.metrics);
                Ok((p, curves))
            },
            |r| Done::Predict(Box::new(r)),
        );
    }

    /// Per-segment stability of a new run in the background (five seeded resamples of 80%).
    pub(super) fn run_stability(&mut self, run: Arc<ClusterRun>) {
        self.spawn(
            Kind::Stability,
            "Segment stability",
            move |job| {
                let s = persona_lab::pipeline::run_stability(
                    &run,
                    persona_lab::cluster::stability::DEFAULT_RESAMPLES,
                    persona_lab::pipeline::STABILITY_USERS,
                    job,
                )
                .map_err(|e| e.to_string())?;
                Ok((run, s))
            },
            Done::Stability,
        );
    }

    /// t-SNE of the current run in the background (a seeded sample of 5,000 users).
    pub fn run_tsne(&mut self) {
        let Some(run) = self.analysis.run.clone() else {
            return;
        };
        let seed = self.analysis.cluster.params.seed;
        self.spawn(
            Kind::Tsne,
            "t-SNE",
            move |job| {
                let p = persona_lab::cluster::Points::of(&run.matrix);
                let params = persona_lab::cluster::TsneParams {
                    seed,
                    ..Default::default()
                };
                let t = persona_lab::cluster::tsne(&p, &params, job).map_err(|e| e.to_string())?;
                Ok((run, t))
            },
            Done::Tsne,
        );
    }

    /// Find the users a chart pick names, on a worker: it reads every user of the run. The result
    /// is dropped if another run has arrived meanwhile (see `apply`).
    pub fn select(&mut self, pick: Pick) {
        let Some(run) = self.analysis.run.clone() else {
            return;
        };
        let tsne = self.analysis.tsne_of(&run);
        self.spawn(
            Kind::Select,
            "Selecting users",
            move |_| {
                let users = super::charts::picked(&pick, &run, tsne.as_deref());
                Ok((run, Selection::of(users)))
            },
            Done::Select,
        );
    }

    /// Find the analysed user Simulate asks for and make their profile, on a worker.
    pub fn simulate_user(&mut self, pick: SimPick) {
        let Some(pop) = self.caches.population(&self.analysis) else {
            return;
        };
        self.spawn(
            Kind::SimUser,
            "Finding the user",
            move |_| {
                Ok(pick
                    .find(&pop.users, &pop.segments)
                    .map(|i| pop.user_profile(i)))
            },
            Done::SimUser,
        );
    }

    /// Make a rule from template `t` on a worker: thresholds from the analysed users' percentiles, a
    /// trained score where the template prefers one; what came from the data is said in a message.
    pub fn add_from_template(&mut self, t: usize) {
        let Some(template) = self.templates.get(t).cloned() else {
            return;
        };
        let profile = self.analysis.profile.clone();
        let personas = self.analysis.persona_labels();
        let scores: Vec<(String, f64)> = self
            .analysis
            .prediction
            .as_ref()
            .map(|p| vec![(p.model.name.clone(), p.model.bands.1)])
            .unwrap_or_default();
        self.spawn(
            Kind::Template,
            "Adding a rule from a template",
            move |_| {
                let percentile = |f: &str, p: f64| profile.as_ref()?.percentile(f, p);
                let ctx = persona_lab::rules::TemplateContext {
                    personas: &personas,
                    percentile: &percentile,
                    scores: &scores,
                };
                // Its id and priority are given when it joins the rules (they may change meanwhile).
                let (rule, notes) = template.instantiate(String::new(), 0, &ctx);
                let note = (!notes.is_empty())
                    .then(|| format!("{}: {}", template.title, notes.join("; ")));
                Ok(Box::new((rule, note)))
            },
            Done::Template,
        );
    }

    /// A rule made from a template joins the rules last, selected.
    pub fn add_rule(&mut self, mut rule: Rule, note: Option<String>) {
        let mut rules = self.analysis.rules.clone();
        rule.id = persona_lab::rules::fresh_id(&rules);
        rule.priority = rules.len() as u32 + 1;
        self.ui_state.rules.selected = Some(rules.len());
        rules.push(rule);
        if let Some(m) = note {
            self.ui_state.info(m);
        }
        self.edit(Edit::Rules(rules));
    }

    /// Settings changed: re-run clustering after the debounce delay.
    pub fn settings_changed(&mut self) {
        if self.analysis.profile.is_some() {
            self.ui_state.rerun_at = Some(Instant::now() + DEBOUNCE);
        }
    }

    /// Ctrl+O opens an export, Ctrl+S saves the project (asking where the first time), Ctrl+E exports
    /// the rule set, Ctrl+Z / Ctrl+Shift+Z undo and redo.
    pub(super) fn shortcuts(&mut self, ui: &mut egui::Ui) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let open = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
        let save = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        let undo = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
        let redo = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        let export = KeyboardShortcut::new(Modifiers::COMMAND, Key::E);
        if ui.ctx().input_mut(|i| i.consume_shortcut(&export)) && self.analysis.run.is_some() {
            self.push(Action::SaveRuleSet);
        }
        // Redo first: Ctrl+Shift+Z also matches the Ctrl+Z shortcut's modifiers.
        if ui.ctx().input_mut(|i| i.consume_shortcut(&redo)) {
            self.push(Action::Redo);
        }
        if ui.ctx().input_mut(|i| i.consume_shortcut(&undo)) {
            self.push(Action::Undo);
        }
        if ui.ctx().input_mut(|i| i.consume_shortcut(&open)) {
            self.push(Action::AskFile(FilePurpose::OpenExport));
        }
        if ui.ctx().input_mut(|i| i.consume_shortcut(&save)) && self.analysis.source.is_some() {
            match self.analysis.project_path.clone() {
                Some(p) => self.push(Action::SaveProject(p)),
                None => self.push(Action::AskFile(FilePurpose::SaveProject)),
            }
        }
    }
}
