//! Choosing files: every Open / Save / Export button asks here with what the file is for. The system's
//! dialog (rfd: the desktop portal, else zenity) runs on its own thread, so the window keeps drawing
//! while it is open; when no system dialog can be shown (no portal, no zenity: a bare X server, a
//! container), or it vanished at once, an in-app chooser opens instead and says why, rather than the
//! button doing nothing. What the chosen file is then used for is decided in one place,
//! `PersonaApp::file_chosen`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::RichText;

/// What a file is being chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePurpose {
    OpenExport,
    OpenFolder,
    OpenProject,
    /// A project's source moved: the file to use instead.
    LocateSource,
    SaveProject,
    ExportSelection,
    ExportAssignments,
    ExportSummary,
    ExportSummaryHtml,
    SaveRuleSet,
    ExportHighRisk,
    OpenOutcomes,
    CompareDeployed,
    /// The chart on screen, as PNG.
    ChartPng,
    /// The numbers behind the chart on screen, as CSV.
    ChartCsv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Open,
    Folder,
    Save,
}

/// How the dialog for a purpose looks: its mode, title, the file types offered and a default name.
pub struct DialogSpec {
    pub mode: Mode,
    pub title: &'static str,
    pub filter: Option<(&'static str, &'static [&'static str])>,
    pub file_name: Option<&'static str>,
}

/// What the Open export dialog offers (".gz" covers .csv.gz and .ndjson.gz).
pub const EXPORT_EXTENSIONS: &[&str] = &[
    "csv", "gz", "parquet", "ndjson", "jsonl", "json", "avro", "tsv", "zip", "plab",
];

type Filter = (&'static str, &'static [&'static str]);
const CSV: Filter = ("CSV", &["csv"]);
const PROJECT: Filter = ("Persona Lab project", &["plab"]);
const RULE_SET: Filter = ("rule set", &["ron", "json"]);
const MARKDOWN: Filter = ("Markdown", &["md"]);
const HTML: Filter = ("HTML page", &["html"]);
const PNG: Filter = ("PNG image", &["png"]);

impl DialogSpec {
    fn open(title: &'static str, filter: Option<Filter>) -> Self {
        DialogSpec {
            mode: Mode::Open,
            title,
            filter,
            file_name: None,
        }
    }

    fn save(title: &'static str, filter: Filter, file_name: &'static str) -> Self {
        DialogSpec {
            mode: Mode::Save,
            title,
            filter: Some(filter),
            file_name: Some(file_name),
        }
    }
}

impl FilePurpose {
    pub fn spec(self) -> DialogSpec {
        use FilePurpose::*;
        let exports = ("exports and projects", EXPORT_EXTENSIONS);
        match self {
            OpenExport => DialogSpec::open("Open an export or a project", Some(exports)),
            OpenFolder => DialogSpec {
                mode: Mode::Folder,
                ..DialogSpec::open("Open a folder of export files", None)
            },
            OpenProject => DialogSpec::open("Open a project", Some(PROJECT)),
            LocateSource => DialogSpec::open("Locate the project's source file", None),
            SaveProject => DialogSpec::save("Save the project", PROJECT, "analysis.plab"),
            ExportSelection => DialogSpec::save("Export the selected users", CSV, "selection.csv"),
            ExportAssignments => DialogSpec::save("Export the assignments", CSV, "assignments.csv"),
            ExportSummary => {
                DialogSpec::save("Export the persona summary", MARKDOWN, "personas.md")
            }
            ExportSummaryHtml => DialogSpec::save(
                "Export the persona summary as a web page",
                HTML,
                "personas.html",
            ),
            SaveRuleSet => DialogSpec::save(
                "Save the rule set (RON; name it .json for JSON)",
                RULE_SET,
                "ruleset.ron",
            ),
            ExportHighRisk => DialogSpec::save("Export the high-risk users", CSV, "high_risk.csv"),
            OpenOutcomes => DialogSpec::open("Open an outcomes export", None),
            CompareDeployed => DialogSpec::open("Open a deployed rule set", Some(RULE_SET)),
            ChartPng => DialogSpec::save("Save the chart as PNG", PNG, "chart.png"),
            ChartCsv => DialogSpec::save("Save the chart's data as CSV", CSV, "chart.csv"),
        }
    }
}

/// Whether the system can show a file dialog at all: rfd asks the desktop portal over the session
/// bus, and falls back to zenity. With neither it returns "cancelled" at once, which is what made
/// the buttons do nothing. `PERSONA_LAB_FILE_DIALOG=builtin` always uses the in-app chooser.
pub fn system_dialog_available() -> bool {
    if std::env::var("PERSONA_LAB_FILE_DIALOG").is_ok_and(|v| v == "builtin") {
        return false;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() || on_path("zenity")
}

/// Why the in-app chooser is used from the start, in words for its window.
pub fn builtin_reason() -> String {
    if std::env::var("PERSONA_LAB_FILE_DIALOG").is_ok_and(|v| v == "builtin") {
        "PERSONA_LAB_FILE_DIALOG=builtin is set, so files are chosen in this window.".into()
    } else if !system_dialog_available() {
        "No system file dialog here (no desktop portal on a session bus, and no zenity), so files \
         are chosen in this window."
            .into()
    } else {
        "The system's file dialog could not be shown, so files are chosen in this window.".into()
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// The system dialog's answer and how long it was up.
pub type DialogAnswer = (Option<PathBuf>, Duration);

/// A "cancelled" faster than this came from a dialog that never appeared.
pub const TOO_FAST: Duration = Duration::from_millis(300);

/// Run the system dialog (on the caller's thread: the app calls this from a worker). Returns the
/// choice and how long the dialog was up.
pub fn system_dialog(
    purpose: FilePurpose,
    start_dir: Option<&Path>,
) -> (Option<PathBuf>, Duration) {
    let spec = purpose.spec();
    let mut d = rfd::FileDialog::new().set_title(spec.title);
    if let Some((name, exts)) = spec.filter {
        d = d.add_filter(name, exts);
    }
    if let Some(name) = spec.file_name {
        d = d.set_file_name(name);
    }
    if let Some(dir) = start_dir {
        d = d.set_directory(dir);
    }
    let t = Instant::now();
    let chosen = match spec.mode {
        Mode::Open => d.pick_file(),
        Mode::Folder => d.pick_folder(),
        Mode::Save => d.save_file(),
    };
    (chosen, t.elapsed())
}

/// One line of the in-app chooser's listing.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
}

/// The in-app chooser's state.
pub struct Chooser {
    pub purpose: FilePurpose,
    /// Why the system dialog is not used, shown at the top.
    pub reason: Option<String>,
    pub dir: PathBuf,
    /// The folder field as typed (applied on Enter).
    pub dir_text: String,
    /// The file name (Open: the selected file; Save: the name to write).
    pub name: String,
    pub show_all: bool,
    pub entries: Vec<Entry>,
    /// A folder that could not be listed, in words.
    pub error: Option<String>,
}

impl Chooser {
    pub fn new(purpose: FilePurpose, start: PathBuf, reason: Option<String>) -> Chooser {
        let mut c = Chooser {
            purpose,
            reason,
            dir: PathBuf::new(),
            dir_text: String::new(),
            name: purpose.spec().file_name.unwrap_or_default().to_string(),
            show_all: false,
            entries: Vec::new(),
            error: None,
        };
        c.go(start);
        c
    }

    /// Show a folder (read once here, not every frame).
    pub fn go(&mut self, dir: PathBuf) {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        match list(&dir) {
            Ok(entries) => {
                self.entries = entries;
                self.error = None;
            }
            Err(e) => {
                self.entries.clear();
                self.error = Some(format!("{}: {e}", dir.display()));
            }
        }
        self.dir_text = dir.display().to_string();
        self.dir = dir;
    }

    /// Whether a listed file is offered under the purpose's filter.
    fn offered(&self, e: &Entry) -> bool {
        if e.is_dir || self.show_all {
            return !e.name.starts_with('.') || self.show_all;
        }
        if e.name.starts_with('.') {
            return false;
        }
        match self.purpose.spec().filter {
            None => true,
            Some((_, exts)) => {
                let lower = e.name.to_ascii_lowercase();
                exts.iter().any(|x| lower.ends_with(&format!(".{x}")))
            }
        }
    }

    /// The path the chooser would answer with now, or why not.
    pub fn answer(&self) -> Result<PathBuf, String> {
        let spec = self.purpose.spec();
        let name = self.name.trim();
        match spec.mode {
            Mode::Folder => Ok(if name.is_empty() {
                self.dir.clone()
            } else {
                self.dir.join(name)
            })
            .and_then(|p| {
                if p.is_dir() {
                    Ok(p)
                } else {
                    Err(format!("{} is not a folder", p.display()))
                }
            }),
            Mode::Open => {
                if name.is_empty() {
                    return Err("choose a file".into());
                }
                let p = self.dir.join(name);
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(format!("{} is not a file", p.display()))
                }
            }
            Mode::Save => {
                if name.is_empty() {
                    return Err("type a file name".into());
                }
                let mut p = self.dir.join(name);
                if p.is_dir() {
                    return Err(format!("{} is a folder", p.display()));
                }
                // A name typed without an extension gets the purpose's own.
                if p.extension().is_none()
                    && let Some((_, [ext, ..])) = spec.filter
                {
                    p.set_extension(ext);
                }
                match p.parent() {
                    Some(d) if d.is_dir() => Ok(p),
                    _ => Err(format!("the folder of {} does not exist", p.display())),
                }
            }
        }
    }
}

/// A folder's entries, folders first, by name (case-insensitive).
fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut out: Vec<Entry> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| Entry {
            name: e.file_name().to_string_lossy().into_owned(),
            // Follows symlinks, so a linked folder opens like a folder.
            is_dir: e.path().is_dir(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(out)
}

/// What the chooser's window decided this frame.
pub enum ChooserOutcome {
    Open,
    Chosen(PathBuf),
    Cancelled,
}

/// Draw the in-app chooser.
pub fn show_chooser(c: &mut Chooser, ctx: &egui::Context) -> ChooserOutcome {
    let spec = c.purpose.spec();
    let mut outcome = ChooserOutcome::Open;
    let mut go_to: Option<PathBuf> = None;
    egui::Window::new(spec.title)
        .id(egui::Id::unique("file_chooser"))
        .collapsible(false)
        .default_size([620.0, 440.0])
        .show(ctx, |ui| {
            if let Some(r) = &c.reason {
                ui.label(RichText::new(r).weak());
            }
            ui.horizontal(|ui| {
                let folder_label = ui.label("Folder").id;
                if ui.button("Up").on_hover_text("The folder above").clicked()
                    && let Some(p) = c.dir.parent()
                {
                    go_to = Some(p.to_path_buf());
                }
                if ui
                    .button("Home")
                    .on_hover_text("Your home folder")
                    .clicked()
                    && let Some(h) = std::env::var_os("HOME")
                {
                    go_to = Some(PathBuf::from(h));
                }
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut c.dir_text)
                            .desired_width(f32::INFINITY)
                            .hint_text("a folder; Enter to go there"),
                    )
                    .labelled_by(folder_label);
                if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    go_to = Some(PathBuf::from(c.dir_text.trim()));
                }
            });
            if let Some(e) = &c.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            let entries: Vec<Entry> = c.entries.iter().filter(|e| c.offered(e)).cloned().collect();
            egui::ScrollArea::vertical()
                .max_height(260.0)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    if entries.is_empty() && c.error.is_none() {
                        ui.label(RichText::new("nothing to choose here").weak());
                    }
                    for e in &entries {
                        // Folders end in a slash, as `ls -p` shows them (egui's fonts have no
                        // folder icon).
                        let text = if e.is_dir {
                            format!("{}/", e.name)
                        } else {
                            e.name.clone()
                        };
                        let r = ui.selectable_label(c.name == e.name, text);
                        if r.double_clicked() {
                            if e.is_dir {
                                go_to = Some(c.dir.join(&e.name));
                            } else {
                                c.name = e.name.clone();
                                if let Ok(p) = c.answer() {
                                    outcome = ChooserOutcome::Chosen(p);
                                }
                            }
                        } else if r.clicked() {
                            if e.is_dir && spec.mode != Mode::Folder {
                                go_to = Some(c.dir.join(&e.name));
                            } else {
                                c.name = e.name.clone();
                            }
                        }
                    }
                });
            ui.horizontal(|ui| {
                let name_label = ui
                    .label(match spec.mode {
                        Mode::Folder => "Folder name",
                        _ => "File name",
                    })
                    .id;
                ui.add(egui::TextEdit::singleline(&mut c.name).desired_width(320.0))
                    .labelled_by(name_label);
                if let Some((what, _)) = spec.filter {
                    ui.checkbox(&mut c.show_all, "Show all files")
                        .on_hover_text(format!("Otherwise only {what} are listed"));
                }
            });
            let answer = c.answer();
            match &answer {
                Ok(p) if spec.mode == Mode::Save && p.exists() => {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("{} exists and will be replaced", p.display()),
                    );
                }
                Err(why) if !c.name.trim().is_empty() || spec.mode == Mode::Folder => {
                    ui.label(RichText::new(why).weak());
                }
                _ => {}
            }
            ui.horizontal(|ui| {
                let verb = match spec.mode {
                    Mode::Open => "Open",
                    Mode::Folder => "Choose this folder",
                    Mode::Save => "Save",
                };
                if ui
                    .add_enabled(answer.is_ok(), egui::Button::new(verb))
                    .clicked()
                    && let Ok(p) = answer
                {
                    outcome = ChooserOutcome::Chosen(p);
                }
                if ui.button("Cancel").clicked() {
                    outcome = ChooserOutcome::Cancelled;
                }
            });
        });
    if let Some(d) = go_to {
        c.go(d);
        if spec.mode == Mode::Folder {
            c.name.clear();
        }
    }
    outcome
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn answers_follow_the_mode_and_the_filter() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.csv"), "x").unwrap();
        std::fs::write(d.path().join("B.PLAB"), "x").unwrap();
        std::fs::write(d.path().join(".hidden.csv"), "x").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let mut c = Chooser::new(FilePurpose::OpenProject, d.path().into(), None);
        let offered: Vec<&str> = c
            .entries
            .iter()
            .filter(|e| c.offered(e))
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(offered, ["sub", "B.PLAB"]);
        c.show_all = true;
        assert_eq!(c.entries.iter().filter(|e| c.offered(e)).count(), 4);
        assert!(c.answer().is_err(), "nothing chosen yet");
        c.name = "a.csv".into();
        assert_eq!(c.answer().unwrap(), c.dir.join("a.csv"));
        c.name = "sub".into();
        assert!(c.answer().unwrap_err().contains("is not a file"));

        let mut s = Chooser::new(FilePurpose::SaveProject, d.path().into(), None);
        assert_eq!(s.name, "analysis.plab");
        s.name = "mine".into();
        assert_eq!(s.answer().unwrap(), s.dir.join("mine.plab"));
        s.name = "sub".into();
        assert!(s.answer().unwrap_err().contains("is a folder"));
        s.name = "nowhere/x.plab".into();
        assert!(s.answer().unwrap_err().contains("does not exist"));

        let mut f = Chooser::new(FilePurpose::OpenFolder, d.path().into(), None);
        assert_eq!(f.answer().unwrap(), f.dir);
        f.name = "sub".into();
        assert_eq!(f.answer().unwrap(), f.dir.join("sub"));
        f.go(d.path().join("missing"));
        assert!(f.error.as_deref().unwrap().contains("missing"));
    }
}
