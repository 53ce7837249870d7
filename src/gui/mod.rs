//! The desktop app (eframe + egui + egui_plot): a thin layer over the core library. Long work runs on
//! worker threads (`worker`); the analysis and the window state are kept apart (`state`).

pub mod app;
pub mod charts;
pub mod clusters_view;
pub mod data_view;
pub mod features_view;
pub mod personas_view;
pub mod state;
pub mod worker;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

/// Open the window; returns when it is closed.
pub fn run(file: Option<PathBuf>) -> Result<(), String> {
    let file = file.or_else(|| {
        let s = data_view::sample_path();
        s.exists().then_some(s)
    });
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Persona Lab")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Persona Lab",
        options,
        Box::new(move |_cc| {
            let app = app::PersonaApp::new(file);
            Ok(Box::new(match app::PersonaApp::default_recovery_path() {
                Some(p) => app.with_recovery(p),
                None => app,
            }))
        }),
    )
    .map_err(|e| {
        format!(
            "cannot open the window: {e}. Without a display, use the subcommands (`persona-lab inspect FILE`, `segment`, ...)"
        )
    })
}
