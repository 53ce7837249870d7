//! The warehouse SQL panels: in Data, the query that computes the profile where the events are; in
//! Export, the query that assigns every user of a warehouse profile table. The SQL is the core's
//! (`persona_lab::sql`, the same text as `persona-lab sql`); these panels only choose the engine and the
//! table name, show it, and copy it.

use super::actions::Action;
use super::cx::Cx;
use super::files::FilePurpose;
use persona_lab::sql::{Dialect, assign, features};

/// The engine picker and a table name field; true when either changed.
fn controls(ui: &mut egui::Ui, dialect: &mut Dialect, table: &mut String, what: &str) {
    ui.horizontal(|ui| {
        super::widgets::combo(ui, "warehouse-dialect", "Engine", dialect.label(), |ui| {
            for d in Dialect::ALL {
                ui.selectable_value(dialect, d, d.label());
            }
        });
        let label = ui.label(what);
        ui.add(egui::TextEdit::singleline(table).desired_width(260.0))
            .labelled_by(label.id);
    });
}

/// The query, read-only and selectable.
fn query(ui: &mut egui::Ui, sql: &str, id: &str) {
    egui::ScrollArea::vertical()
        .id_salt(id)
        .max_height(260.0)
        .show(ui, |ui| {
            let mut text = sql;
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .code_editor()
                    .desired_width(f32::INFINITY),
            );
        });
}

/// Data view: the features query for the loaded export's mapping and the current feature settings.
pub fn features_panel(cx: &mut Cx, ui: &mut egui::Ui) {
    let Some(loaded) = cx.analysis.loaded.clone() else {
        return;
    };
    egui::CollapsingHeader::new("Warehouse: compute the profile where the events are (SQL)")
        .id_salt("warehouse-features")
        .show(ui, |ui| {
            ui.label(
                "For an export too large for this machine, or already in BigQuery, Snowflake or \
                 Spark: run this query there (it computes the same features, with the same names), \
                 save the result as CSV or Parquet and open it here.",
            );
            let w = &mut cx.state.warehouse;
            controls(ui, &mut w.dialect, &mut w.events_table, "Events table");
            let nested = features::is_ga4_nested(&loaded);
            if nested {
                ui.label(
                    "GA4's export schema: the query reads the event parameters out of the nested \
                     event_params, as BigQuery holds them (name the daily tables, e.g. \
                     project.analytics_123.events_*).",
                );
            }
            let source = if nested {
                let w = &cx.state.warehouse;
                let m = &loaded.mapping;
                Ok(features::ga4_source(
                    w.dialect,
                    &w.events_table,
                    &m.measures,
                    &m.attributes,
                ))
                .map(|(from, t)| (from, t, Vec::new()))
            } else {
                features::table_of(&loaded)
                    .map(|(t, notes)| (cx.state.warehouse.events_table.clone(), t, notes))
            };
            match source {
                Err(why) => {
                    ui.label(why);
                }
                Ok((from, table, notes)) => {
                    // The per-name counts and one-hot values of the current profile, pinned.
                    let cfg = match &cx.analysis.profile {
                        Some(p) => features::pinned_to(&cx.analysis.feature_config, &p.features),
                        None => cx.analysis.feature_config.clone(),
                    };
                    for n in notes {
                        ui.label(format!("Note: {n}."));
                    }
                    let w = &cx.state.warehouse;
                    let sql = match features::query(&cfg, &table, w.dialect, &from) {
                        Ok(q) => q.sql,
                        Err(e) => {
                            ui.label(format!("No query: {e}."));
                            return;
                        }
                    };
                    ui.horizontal(|ui| {
                        if ui.button("Copy SQL").clicked() {
                            ui.ctx().copy_text(sql.clone());
                        }
                        if ui
                            .button("Open the result…")
                            .on_hover_text("The profile table the query made (CSV or Parquet)")
                            .clicked()
                        {
                            cx.push(Action::AskFile(FilePurpose::OpenExport));
                        }
                    });
                    query(ui, &sql, "warehouse-features-sql");
                }
            }
        });
}

/// Export view: the assign query for the rule set as it would be exported.
pub fn assign_panel(cx: &mut Cx, ui: &mut egui::Ui) {
    let Some(rs) = cx.analysis.rule_set() else {
        return;
    };
    egui::CollapsingHeader::new("Warehouse: assign every user where the profiles are (SQL)")
        .id_salt("warehouse-assign")
        .show(ui, |ui| {
            ui.label(
                "The weekly re-segmentation in the warehouse: this query puts every user of a \
                 profile table into a segment exactly as the rule set does, with the persona and \
                 every model's score and band.",
            );
            let w = &mut cx.state.warehouse;
            controls(ui, &mut w.dialect, &mut w.profiles_table, "Profile table");
            let sql = assign::query(&rs, w.dialect, &w.profiles_table, "user_id");
            if ui.button("Copy SQL").clicked() {
                ui.ctx().copy_text(sql.clone());
            }
            query(ui, &sql, "warehouse-assign-sql");
        });
}
