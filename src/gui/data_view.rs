//! Data: open an export (dialog, drag and drop, command line, the bundled sample), what was detected,
//! the load summary and a virtualised preview of the canonical table.

use egui::RichText;

use super::app::PersonaApp;

pub fn sample_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/fashion_ga4_events.csv.gz")
}

pub fn show(app: &mut PersonaApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Data");
        if ui.button("Open export…").clicked()
            && let Some(p) = rfd::FileDialog::new()
                .add_filter(
                    "exports",
                    &["csv", "gz", "parquet", "ndjson", "jsonl", "json", "tsv"],
                )
                .pick_file()
        {
            app.open(p);
        }
        if ui.button("Open the bundled sample").clicked() {
            app.open(sample_path());
        }
    });
    if let Some(src) = &app.analysis.source {
        ui.label(format!("Source: {}", src.display()));
    } else {
        ui.label("Open an export (CSV, Parquet, NDJSON; GA4, Segment, Mixpanel, Amplitude) or drop a file on the window.");
    }
    let Some(loaded) = app.analysis.loaded.clone() else {
        if app.load_task.is_some() {
            ui.spinner();
        }
        return;
    };
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("summary")
        .max_height(ui.available_height() * 0.5)
        .show(ui, |ui| {
            ui.label(RichText::new(crate::cli::summary::load_summary(&loaded)).monospace());
        });
    ui.separator();
    let df = &loaded.table;
    ui.label(format!(
        "Preview of the canonical table: {} rows × {} columns",
        df.height(),
        df.width()
    ));
    let cols = df.columns();
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    egui::ScrollArea::both()
        .id_salt("preview")
        .auto_shrink([false, false])
        .show_rows(ui, row_h, df.height(), |ui, rows| {
            egui::Grid::new("preview_grid")
                .striped(true)
                .show(ui, |ui| {
                    for c in cols {
                        ui.strong(c.name().as_str());
                    }
                    ui.end_row();
                    for i in rows {
                        for c in cols {
                            let v = c.get(i).map(|v| v.to_string()).unwrap_or_default();
                            ui.monospace(v.trim_matches('"'));
                        }
                        ui.end_row();
                    }
                });
        });
}
