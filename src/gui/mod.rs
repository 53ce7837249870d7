//! The desktop app (eframe + egui + egui_plot): a thin layer over the core library. Long work runs on
//! worker threads (`persona_lab::task`); the analysis and the window state are kept apart (`state`).

pub mod actions;
pub mod app;
pub mod cache;
pub mod chart_export;
pub mod charts;
pub mod clusters_view;
pub mod cx;
pub mod data_view;
pub mod dialogs;
pub mod export_view;
pub mod features_view;
pub mod file_work;
pub mod files;
pub mod help;
pub mod measure;
pub mod monitor_view;
pub mod personas_view;
pub mod predict_view;
pub mod rules_view;
pub mod session;
pub mod simulate_view;
pub mod state;
pub mod tasks;
pub mod warehouse;
pub mod widgets;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

/// The app icon (assets/icon.png, built in), for the window and the task bar.
pub fn window_icon() -> egui::IconData {
    // The file is ours and checked by a test; a broken one would only cost the icon.
    eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).unwrap_or_default()
}

/// Open the window; returns when it is closed.
pub fn run(file: Option<PathBuf>) -> Result<(), String> {
    let file = file.or_else(|| {
        let s = data_view::sample_path();
        s.exists().then_some(s)
    });
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Persona Lab")
            .with_icon(window_icon())
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Persona Lab",
        options,
        Box::new(move |_cc| {
            let mut app = app::PersonaApp::new(None);
            if let Some(p) = app::PersonaApp::default_recovery_path() {
                app = app
                    .with_recent(p.with_file_name("recent.txt"))
                    .with_guide(p.with_file_name("guide_seen"))
                    .with_recovery(p);
            }
            if let Some(f) = file {
                app.open(f);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| {
        format!(
            "cannot open the window: {e}. Without a display, use the subcommands (`persona-lab inspect FILE`, `segment`, ...)"
        )
    })
}
