//! Data: open an export (dialog, drag and drop, command line, the bundled sample), what was detected,
//! the load summary and a virtualised preview of the canonical table.

use egui::RichText;

use super::actions::{Action, Edit};
use super::cx::Cx;
use super::files::FilePurpose;

pub fn sample_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/fashion_ga4_events.csv.gz")
}

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Data");
        if ui
            .button("Open…")
            .on_hover_text("An export (CSV, Parquet, NDJSON, Avro, zip, gzip) or a project (.plab)")
            .clicked()
        {
            cx.push(Action::AskFile(FilePurpose::OpenExport));
        }
        // BigQuery's daily shards, Segment's hourly files: one export in a folder.
        if ui.button("Open folder…").clicked() {
            cx.push(Action::AskFile(FilePurpose::OpenFolder));
        }
        if ui.button("Open the bundled sample").clicked() {
            cx.push(Action::Open(sample_path()));
        }
        let mut pick = None;
        ui.add_enabled_ui(!cx.recent.is_empty(), |ui| {
            super::widgets::combo(ui, "recent", "Recent files", "open…", |ui| {
                for p in cx.recent {
                    if ui
                        .selectable_label(false, p.display().to_string())
                        .clicked()
                    {
                        pick = Some(p.clone());
                    }
                }
            });
        });
        if let Some(p) = pick {
            cx.push(Action::Open(p));
        }
    });
    if let Some(src) = &cx.analysis.source {
        let files = match &cx.analysis.loaded {
            Some(l) if l.source != persona_lab::data::source::SourceKind::File => format!(
                " ({}, {} files{})",
                l.source,
                l.files.len(),
                if l.skipped_files.is_empty() {
                    String::new()
                } else {
                    format!("; {} other files not read", l.skipped_files.len())
                }
            ),
            _ => String::new(),
        };
        ui.label(format!("Source: {}{files}", src.display()));
    } else {
        ui.label("Open an export (CSV, Parquet, NDJSON, Avro, a folder of them or a zip; GA4, Segment, Mixpanel, Amplitude) or drop it on the window.");
    }
    if let Some((message, columns)) = cx.analysis.failed_load.clone()
        && !cx.running(super::tasks::Kind::Load)
    {
        // The export could not be read as detected: say why, and offer every column for every
        // role, so the analyst fixes it here and reads it again.
        ui.separator();
        ui.colored_label(ui.visuals().error_fg_color, &message);
        ui.label("Choose the shape and the column roles below, then read it again.");
        load_settings(cx, None, ui);
        mapping(cx, &columns, None, ui);
        return;
    }
    let Some(loaded) = cx.analysis.loaded.clone() else {
        if cx.running(super::tasks::Kind::Load) {
            ui.spinner();
        }
        return;
    };
    ui.separator();
    load_settings(cx, Some(loaded.shape), ui);
    mapping(cx, &loaded.columns, Some(&loaded.mapping), ui);
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("summary")
        .max_height(ui.available_height() * 0.5)
        .show(ui, |ui| {
            if let Some(text) = &cx.analysis.summary {
                ui.label(RichText::new(text).monospace());
            }
        });
    ui.separator();
    super::warehouse::features_panel(cx, ui);
    ui.separator();
    let df = loaded.preview();
    ui.label(match &loaded.spill {
        Some(spill) => format!(
            "Preview of the canonical table: the first {} of {} rows × {} columns (streamed: the \
             export is larger than the memory budget; its events are on disk in {} parts by user)",
            df.height(),
            spill.rows,
            df.width(),
            spill.parts.len()
        ),
        None => format!(
            "Preview of the canonical table: {} rows × {} columns",
            df.height(),
            df.width()
        ),
    });
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
                        // The canonical timestamp is µs since epoch, UTC: shown as a date.
                        if c.name().as_str() == persona_lab::data::cols::TS {
                            ui.strong("time (UTC)");
                        } else {
                            ui.strong(c.name().as_str());
                        }
                    }
                    ui.end_row();
                    for i in rows {
                        for c in cols {
                            let v = if c.name().as_str() == persona_lab::data::cols::TS {
                                c.get(i)
                                    .ok()
                                    .and_then(|v| v.extract::<i64>())
                                    .and_then(chrono::DateTime::from_timestamp_micros)
                                    .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                                    .unwrap_or_default()
                            } else {
                                c.get(i).map(|v| v.to_string()).unwrap_or_default()
                            };
                            ui.monospace(v.trim_matches('"'));
                        }
                        ui.end_row();
                    }
                });
        });
}

/// How the file is read: shape, timestamp format, session gap, user-id hashing. Changes apply on Reload
/// (the export is read again).
/// `detected`: the shape the last load found (none when it failed).
fn load_settings(cx: &mut Cx, detected: Option<persona_lab::data::Shape>, ui: &mut egui::Ui) {
    use persona_lab::data::Shape;
    let mut changed = false;
    let mut opts = cx.analysis.load_options.clone();
    let mut cfg = cx.analysis.feature_config.clone();
    ui.horizontal_wrapped(|ui| {
        ui.strong("Reading:");
        let detected = match detected {
            Some(Shape::Events) => "detected: events",
            Some(Shape::Users) => "detected: users",
            None => "detect",
        }
        .to_string();
        let before = opts.shape;
        let label = ui.label("shape");
        egui::ComboBox::from_id_salt("shape")
            .selected_text(match opts.shape {
                None => detected.clone(),
                Some(Shape::Events) => "one row per event".into(),
                Some(Shape::Users) => "one row per user".into(),
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut opts.shape, None, detected);
                ui.selectable_value(&mut opts.shape, Some(Shape::Events), "one row per event");
                ui.selectable_value(&mut opts.shape, Some(Shape::Users), "one row per user");
            })
            .response
            .labelled_by(label.id);
        changed |= opts.shape != before;
        changed |= optional_text(
            ui,
            "timestamp format",
            &mut opts.time_format,
            "detected (or e.g. %d/%m/%Y %H:%M)",
            None,
        );
        // Times that do not say their zone (Mixpanel's raw export, naive text) are in this one.
        changed |= optional_text(
            ui,
            "time zone",
            &mut opts.time_zone,
            "UTC (or e.g. America/Los_Angeles)",
            Some(
                "The zone the export writes its times in when they carry none: Mixpanel's raw \
                 export (the project's zone), naive text times. An IANA name, UTC or +02:00.",
            ),
        );
        let l = ui.label("session gap");
        changed |= ui
            .add(
                egui::DragValue::new(&mut cfg.session_gap_minutes)
                    .range(1.0..=1440.0)
                    .suffix(" min"),
            )
            .labelled_by(l.id)
            .on_hover_text(
                "Inactivity that starts a new session when the export has no session column",
            )
            .changed();
        let st = &mut cx.state;
        let hash = ui
            .checkbox(&mut st.hash_ids, "hash user ids")
            .on_hover_text("Salted SHA-256 on load; the salt is never written anywhere");
        changed |= hash.changed();
        if st.hash_ids {
            let l = ui.label("salt");
            changed |= ui
                .add(
                    egui::TextEdit::singleline(&mut st.salt)
                        .password(true)
                        .desired_width(120.0),
                )
                .labelled_by(l.id)
                .changed();
        }
        let salt = (st.hash_ids && !st.salt.is_empty()).then(|| st.salt.clone());
        opts.hash_salt = salt;
        if st.hash_ids && st.salt.is_empty() {
            ui.label(egui::RichText::new("type a salt to hash ids").weak());
        }
    });
    if opts != cx.analysis.load_options {
        cx.edit(Edit::LoadOptions(opts));
    }
    if cfg != cx.analysis.feature_config {
        cx.edit(Edit::FeatureConfig(cfg));
    }
    if changed {
        cx.state.load_settings_changed = true;
    }
}

/// Column-role drop-downs: every role can be pointed at any column of the export (or unmapped); Reload
/// reads the file again with the corrected mapping.
/// `columns`: every column of the export (of every file), in the file's order, whatever it became;
/// `detected`: the roles the last load found (none when it failed).
fn mapping(
    cx: &mut Cx,
    columns: &[String],
    detected: Option<&persona_lab::data::RoleMapping>,
    ui: &mut egui::Ui,
) {
    use persona_lab::data::Role;
    let mut roles = cx.analysis.load_options.roles.clone();
    ui.strong("Column roles");
    // Label before control, four roles a row: the eye reads "timestamp: order_date".
    egui::Grid::new("roles_grid")
        .num_columns(8)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            for (i, role) in Role::ALL.into_iter().enumerate() {
                let current = roles
                    .get(role)
                    .map(|c| {
                        if c.is_empty() {
                            None
                        } else {
                            Some(c.to_string())
                        }
                    })
                    .unwrap_or_else(|| detected.and_then(|m| m.get(role)).map(str::to_string));
                let mut chosen = current.clone();
                let label = ui.label(role.label());
                egui::ComboBox::from_id_salt(("role", role.label()))
                    .selected_text(chosen.clone().unwrap_or_else(|| "(none)".into()))
                    // Long nested names (event_params.engagement_time_msec) are cut, shown whole
                    // on hover: the grid stays inside the window.
                    .width(190.0)
                    .truncate()
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut chosen, None, "(none)");
                        for c in columns {
                            ui.selectable_value(&mut chosen, Some(c.clone()), c);
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text(current.as_deref().unwrap_or("(none)"));
                if chosen != current {
                    // An explicit empty column unmaps a detected role.
                    roles.set(role, Some(chosen.unwrap_or_default()));
                }
                if i % 4 == 3 {
                    ui.end_row();
                }
            }
        });
    ui.horizontal(|ui| {
        if roles != cx.analysis.load_options.roles {
            cx.edit(Edit::Roles(roles.clone()));
        }
        let pending = roles != persona_lab::data::RoleMapping::default()
            || cx.state.load_settings_changed
            || detected.is_none();
        if ui
            .add_enabled(pending, egui::Button::new("Reload with these settings"))
            .clicked()
        {
            cx.push(Action::Reload);
        }
    });
}

/// A labelled text field for a setting that is detected when empty (None); true when it changed.
fn optional_text(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut Option<String>,
    hint: &str,
    hover: Option<&str>,
) -> bool {
    let l = ui.label(label);
    let mut text = value.clone().unwrap_or_default();
    let mut r = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .hint_text(hint)
                .desired_width(170.0),
        )
        .labelled_by(l.id);
    if let Some(h) = hover {
        r = r.on_hover_text(h);
    }
    if r.changed() {
        *value = (!text.trim().is_empty()).then(|| text.trim().to_string());
    }
    r.changed()
}
