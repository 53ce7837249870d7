//! Dialogs and windows over the views: the file dialog (system or in-app) and what a chosen file is
//! used for, the recovery bar, the changed-source question and the unsaved-changes question.

use std::path::PathBuf;

use persona_lab::task::Task;

use super::app::PersonaApp;
use super::file_work;
use super::files::{self, Chooser, ChooserOutcome, FilePurpose};
use super::state::View;

impl PersonaApp {
    /// Ask for a file for `purpose`: the system dialog on its own thread when there is one, else the
    /// in-app chooser. The answer arrives in `file_chosen`.
    pub fn ask_file(&mut self, purpose: FilePurpose) {
        if self.dialog_task.is_some() || self.file_chooser.is_some() {
            return;
        }
        let start = self.start_dir();
        if !self.system_dialogs {
            self.file_chooser = Some(Chooser::new(purpose, start, Some(files::builtin_reason())));
            return;
        }
        let task = Task::spawn(purpose.spec().title, self.repainter(), move |_| {
            Ok(files::system_dialog(purpose, Some(&start)))
        });
        self.dialog_task = Some((purpose, task));
    }

    /// Where a file dialog starts: the folder of the project or export in use, else the working folder.
    pub(super) fn start_dir(&self) -> PathBuf {
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
    pub(super) fn poll_dialog(&mut self) {
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
                self.file_chooser = Some(Chooser::new(
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
            FilePurpose::ExportSelection => file_work::export_selection_to(self, path),
            FilePurpose::ExportAssignments => file_work::export_assignments(self, path),
            FilePurpose::ExportSummary => file_work::export_summary(self, path, false),
            FilePurpose::ExportSummaryHtml => file_work::export_summary(self, path, true),
            FilePurpose::SaveRuleSet => file_work::save_rule_set(self, path),
            FilePurpose::ExportHighRisk => file_work::export_high(self, path),
            FilePurpose::OpenOutcomes => file_work::load_outcomes(self, path),
            FilePurpose::CompareDeployed => file_work::compare_deployed(self, path),
            FilePurpose::ChartPng => self.ui_state.png_pending = Some(path),
            FilePurpose::ChartCsv => self.save_chart_csv(path),
        }
    }

    /// The numbers behind the chart on screen (the Predict view's curves, or the Clusters chart),
    /// written as CSV.
    pub(super) fn save_chart_csv(&mut self, path: PathBuf) {
        if self.ui_state.view == View::Predict
            && let Some(p) = self.analysis.prediction.clone()
        {
            let text = super::chart_export::predict_curves_csv(&p);
            match persona_lab::output::write_bytes(&path, text.as_bytes()) {
                Ok(()) => self.ui_state.info(format!("wrote {}", path.display())),
                Err(e) => self.ui_state.error(e.to_string()),
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
                Ok(()) => self.ui_state.info(format!("wrote {}", path.display())),
                Err(e) => self.ui_state.error(e.to_string()),
            },
            None => self
                .ui_state
                .error("this chart has no data yet (run the sweep, or pick a hierarchical method)"),
        }
    }

    /// The in-app chooser, when open.
    pub(super) fn chooser_window(&mut self, ctx: &egui::Context) {
        let Some(c) = self.file_chooser.as_mut() else {
            return;
        };
        match files::show_chooser(c, ctx) {
            ChooserOutcome::Open => {}
            ChooserOutcome::Cancelled => self.file_chooser = None,
            ChooserOutcome::Chosen(p) => {
                let purpose = c.purpose;
                self.file_chooser = None;
                self.file_chosen(purpose, p);
            }
        }
    }

    pub(super) fn recovery_bar(&mut self, ui: &mut egui::Ui) {
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
    pub(super) fn project_dialog(&mut self, ui: &mut egui::Ui) {
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
                        self.ui_state.warn(format!(
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
    pub(super) fn quit_dialog(&mut self, ui: &mut egui::Ui) {
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

    pub(super) fn save_project_dialog(&mut self) {
        self.ask_file(FilePurpose::SaveProject);
    }
}
