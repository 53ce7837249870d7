//! The analyst's work across sessions: opening exports and projects, saving, the recovery file,
//! the recent-files list, and undo / redo over snapshots of the undoable state.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use persona_lab::features;
use persona_lab::project::Project;
use persona_lab::ruleset::RuleSet;

use super::app::{LoadOutcome, PersonaApp};
use super::state::{ClusterSettings, History, ProjectQuestion, Snapshot};
use super::tasks::{Done, Kind};

impl PersonaApp {
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

    /// Show the first-run guide unless `marker` says it was seen (it is written when the guide closes).
    pub fn with_guide(mut self, marker: PathBuf) -> Self {
        self.guide = super::help::Guide::unless_seen(marker);
        self
    }

    /// Keep a recent-files list in `path` (one path per line, newest first).
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

    pub(super) fn remember(&mut self, file: &std::path::Path) {
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
            self.ui_state.error(format!("autosave failed: {e}"));
            self.recovery_path = None; // say it once
        }
    }

    pub(super) fn clear_recovery(&mut self) {
        if let Some(p) = &self.recovery_path {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Open what the user named: a project (`.plab`) with its settings, anything else as an export.
    /// The command line, dropped files, File > Open and the recent list all come through here.
    pub fn open(&mut self, path: PathBuf) {
        if persona_lab::project::is_project_path(&path) {
            self.open_project(path);
        } else {
            // Another export: the last one's steps would undo into features it may not have.
            self.ui_state.history = History::default();
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
        self.spawn(
            Kind::Load,
            format!("Loading {}", path.display()),
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
            Err(e) => self.ui_state.error(e),
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
    pub(super) fn read_project(&mut self, path: PathBuf, restored: bool) {
        self.spawn(
            Kind::Project,
            format!("Opening {}", path.display()),
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
            Done::Project,
        );
    }

    /// Take a project's settings and load its source. `restored`: from a recovery file, so unsaved.
    pub fn apply_project(&mut self, path: PathBuf, p: Project, restored: bool) {
        // The project replaces the analysis: nothing before it can be undone into it.
        self.ui_state.history = History::default();
        if p.ids_hashed {
            // The salt is never stored: without it the analysis would run on (and export) raw ids.
            self.ui_state.warn(format!(
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

    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            spec: self.analysis.spec.clone(),
            cluster: self.analysis.cluster.clone(),
            personas: self.analysis.personas.clone(),
            rules: self.analysis.rules.clone(),
            guardrails: self.analysis.guardrails.clone(),
        }
    }

    /// The rule set as it would be exported now (`Analysis::rule_set`).
    pub fn rule_set(&self) -> Option<RuleSet> {
        self.analysis.rule_set()
    }

    /// Record a history step when the undoable state changed (edits less than a second apart merge).
    pub(super) fn record_history(&mut self, pointer_down: bool) {
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

    pub(super) fn restore(&mut self, s: Snapshot) {
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
}
