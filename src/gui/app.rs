//! The application: analysis state, view state, the background tasks' results, and the frame layout
//! (navigation, progress and cancel, the message panel). Each view lives in its own module and asks
//! for changes with `actions::Action`s, applied after the frame; opening and saving work live in
//! `session`, dialogs in `dialogs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Color32, RichText};
use persona_lab::data::Loaded;
use persona_lab::features::{Profile, TransformSpec};

use super::files::{self, FilePurpose};
use super::state::{Analysis, Level, View, ViewState};
use super::{
    clusters_view, data_view, export_view, features_view, monitor_view, personas_view,
    predict_view, rules_view, simulate_view,
};
use persona_lab::task::Task;

use super::actions::Action;
use super::cache::{Caches, Same};
use super::cx::Cx;
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
    /// Results derived from the analysis for the views (previews, coverage, risk), with what each
    /// was made from.
    pub caches: Caches,
    /// The in-app file chooser, when open (no system dialog could be shown).
    pub file_chooser: Option<files::Chooser>,
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
    /// What views asked for this frame, applied after it (`actions::Action`).
    pub actions: Vec<Action>,
    pub(super) repaint: Option<egui::Context>,
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
            caches: Caches::default(),
            file_chooser: None,
            recovery_path: None,
            recent_path: None,
            recent: Vec::new(),
            dialog_task: None,
            // Tests drive the in-app chooser; a system dialog would wait for a person.
            system_dialogs: !cfg!(test) && files::system_dialog_available(),
            templates: Vec::new(),
            guide: None,
            png_done: std::sync::mpsc::channel(),
            actions: Vec::new(),
            repaint: None,
        };
        let (templates, errors) =
            persona_lab::rules::template::load(&persona_lab::rules::template::user_dirs());
        app.templates = templates;
        for e in errors {
            app.ui_state.warn(format!("rule template not loaded: {e}"));
        }
        if let Some(f) = file {
            app.open(f);
        }
        app
    }

    /// Run `work` on a worker as the task of `kind` (a running one of that kind is cancelled); the
    /// window repaints as it reports progress, and `wrap` turns its result into the `Done` that
    /// `apply` takes. The one way long work starts.
    pub fn spawn<T: Send + 'static>(
        &mut self,
        kind: Kind,
        label: impl Into<String>,
        work: impl FnOnce(&persona_lab::job::Job) -> Result<T, String> + Send + 'static,
        wrap: fn(T) -> Done,
    ) {
        let task = Task::spawn(label, self.repainter(), work);
        self.tasks.start(kind, task, wrap);
    }

    pub fn repainter(&self) -> impl Fn() + Send + Sync + Clone + 'static {
        let ctx = self.repaint.clone();
        move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        }
    }

    /// Collect finished background work.
    pub fn poll_tasks(&mut self) {
        self.poll_dialog();
        while let Ok(r) = self.png_done.1.try_recv() {
            match r {
                Ok(m) => self.ui_state.info(m),
                Err(e) => self.ui_state.error(format!("chart PNG: {e}")),
            }
        }
        for f in self.tasks.finished() {
            match f {
                Finished::Done(d) => self.apply(d),
                Finished::Cancelled => {}
                // Stability is extra information on the cards: its failure is not an error.
                Finished::Failed(Kind::Stability, e) => {
                    self.ui_state.warn(format!("segment stability: {e}"))
                }
                Finished::Failed(_, e) => self.ui_state.error(e),
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
                self.ui_state.error(message);
            }
            Done::Load(LoadOutcome::Loaded(done)) => {
                let (loaded, profile, fingerprint, summary) = *done;
                self.analysis.failed_load = None;
                self.analysis.fingerprint = Some(fingerprint);
                for w in &loaded.warnings {
                    self.ui_state
                        .warn(format!("{}: {w}", loaded.path.display()));
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
                // Too few users for k segments: use the most there can be (a silhouette needs fewer
                // segments than users) and say so, rather than stop at an error about a k nobody
                // chose.
                let k = self.analysis.cluster.params.k;
                let users = profile.n_users();
                let most = persona_lab::cluster::most_segments(users);
                if most >= 2 && k > most {
                    self.analysis.cluster.params.k = most;
                    self.ui_state.info(format!(
                        "k lowered from {k} to {most}: the export has {users} users, and segments are judged by silhouettes, which need fewer segments than users"
                    ));
                }
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
            Done::Preview(p) => self.caches.preview = Some(Arc::new(p)),
            Done::Monitor(rep) => self.analysis.monitor = Some(Arc::new(rep)),
            Done::Drift(d) => self.analysis.drift = Some(Arc::new(d)),
            Done::Predict(done) => {
                let (p, curves) = *done;
                let p = Arc::new(p);
                self.caches.curves = Some((Same(p.clone()), Arc::new(curves)));
                self.analysis.prediction = Some(p);
            }
            Done::Population((basis, p)) => {
                // Answers about the old population are stale; so is a measurement of it running.
                self.caches.measured.clear();
                self.tasks.cancel(Kind::Measure);
                self.caches.population = Some((basis, Arc::new(p)));
            }
            Done::Measured((pop, answers)) => self.measured(pop, answers),
            Done::Template(made) => {
                let (rule, note) = *made;
                self.add_rule(rule, note);
            }
            Done::Coverage((key, c)) => self.caches.coverage = Some((key, Arc::new(c))),
            Done::Risk((basis, r)) => self.caches.risk = Some((basis, Arc::new(r))),
            Done::Silhouette((run, l)) => self.caches.silhouette = Some((run, Arc::new(l))),
            Done::Export(m) => self.ui_state.info(m),
            Done::Select((run, selection)) => {
                // Picked on a run since replaced: those rows mean other users now.
                if self
                    .analysis
                    .run
                    .as_ref()
                    .is_some_and(|r| Arc::ptr_eq(r, &run))
                {
                    self.ui_state.selection.replace(selection);
                }
            }
            Done::SimUser(found) => {
                let st = &mut self.ui_state.rules;
                match found {
                    Ok(p) => {
                        st.sim_user = p.user_id.clone();
                        st.sim_profile = serde_json::to_string_pretty(&p).unwrap_or_default();
                        st.sim_error = None;
                    }
                    Err(e) => st.sim_error = Some(e),
                }
            }
            Done::Copied((text, m)) => {
                if let Some(ctx) = &self.repaint {
                    ctx.copy_text(text);
                }
                self.ui_state.info(m);
            }
        }
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
                None => self.ui_state.error("open a chart first, then save it"),
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
                    self.push(Action::AskFile(FilePurpose::OpenProject));
                }
                // Enabled when they can do something; the shortcut on hover.
                let buttons = [
                    (
                        "Save project…",
                        "Ctrl+S",
                        self.analysis.source.is_some(),
                        Action::AskFile(FilePurpose::SaveProject),
                    ),
                    (
                        "Undo",
                        "Ctrl+Z",
                        !self.ui_state.history.undo.is_empty(),
                        Action::Undo,
                    ),
                    (
                        "Redo",
                        "Ctrl+Shift+Z",
                        !self.ui_state.history.redo.is_empty(),
                        Action::Redo,
                    ),
                ];
                for (label, keys, enabled, action) in buttons {
                    let b = ui.add_enabled(enabled, egui::Button::new(label));
                    if b.on_hover_text(keys).clicked() {
                        self.push(action);
                    }
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
        self.apply_actions();
        let pointer_down = ui.ctx().input(|i| i.pointer.any_down());
        self.record_history(pointer_down);
    }

    /// The open view: it reads the analysis and the caches, changes only its window state and asks
    /// for the rest with actions.
    fn view(&mut self, ui: &mut egui::Ui) {
        self.refresh_caches();
        let mut cx = Cx::new(
            &self.analysis,
            &mut self.ui_state,
            &self.caches,
            &self.tasks,
            &self.recent,
            &self.templates,
            &mut self.actions,
        );
        let cx = &mut cx;
        match cx.state.view {
            View::Data => data_view::show(cx, ui),
            View::Features => features_view::show(cx, ui),
            View::Clusters => clusters_view::show(cx, ui),
            View::Personas => personas_view::show(cx, ui),
            View::Predict => predict_view::show(cx, ui),
            View::Rules => rules_view::show(cx, ui),
            View::Simulate => simulate_view::show(cx, ui),
            View::Export => export_view::show(cx, ui),
            View::Monitor => monitor_view::show(cx, ui),
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
            self.push(Action::Open(p));
        }
        self.show(ui);
    }
}
