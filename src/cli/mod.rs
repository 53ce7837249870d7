//! The headless interface: one module per subcommand, each a thin call into the core library.

pub mod args;
pub mod features;
pub mod inspect;
pub mod monitor;
pub mod predict;
pub mod rules;
pub mod sample;
pub mod segment;
pub mod serve;
pub mod sql;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Persona Lab: turn behavioral exports into user segments, personas and personalization rules.
#[derive(Debug, Parser)]
#[command(name = "persona-lab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand the desktop app opens, with this export (default: the bundled sample)
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the per-user profile table (raw features + engagement score) of an export
    Features(features::FeaturesCmd),
    /// Show what is detected in an export (format, shape, roles, warnings, features) without writing
    Inspect(inspect::InspectCmd),
    /// Sweep k: inertia (elbow) and mean silhouette for each k, and the recommended k
    Sweep(segment::SweepCmd),
    /// Cluster users into k segments; write assignments, a JSON report and the rule set
    Segment(segment::SegmentCmd),
    /// Put every user of a new export into a segment with a rule set (the re-segmentation job)
    Assign(rules::AssignCmd),
    /// Decide what to show one user: the rules that fire, with variants and explanations (JSON)
    Decide(rules::DecideCmd),
    /// Check a rule set: model consistency and every rule (exit 1 on errors)
    Verify(rules::VerifyCmd),
    /// Serve a rule set as an HTTP JSON decision service (profiles and offer counts in Redis or here)
    Serve(serve::ServeCmd),
    /// Print the SQL that does the per-user work in a warehouse (Spark, BigQuery, Snowflake, DuckDB)
    Sql(sql::SqlCmd),
    /// Predict churn risk or conversion for every user; report metrics; add the model to a rule set
    Predict(predict::PredictCmd),
    /// How rules and variants perform against their holdout, from an outcomes export (text, JSON, HTML)
    Report(monitor::ReportCmd),
    /// Compare the deployed segmentation with a newer one on an export: transitions, shifts, verdict
    Drift(monitor::DriftCmd),
    /// Generate a realistic sample export with planted behavioral groups
    Sample(sample::SampleCmd),
    /// List the feature catalogue and its formulas
    Catalogue,
}

use persona_lab::output::{NamedPath, OutputKind};

fn named<'a>(name: &'a str, path: &'a std::path::Path) -> NamedPath<'a> {
    NamedPath { name, path }
}

impl Command {
    /// The files this command reads and the files it writes, named by their options, for the check
    /// that runs before any work (`output::check_run_paths`).
    #[allow(clippy::type_complexity)]
    pub fn paths(&self) -> (Vec<NamedPath<'_>>, Vec<(NamedPath<'_>, OutputKind)>) {
        use OutputKind::{File, Folder, Table};
        const EXPORT: &str = "the input export";
        let mut ins = Vec::new();
        let mut outs = Vec::new();
        fn opt<'a>(
            outs: &mut Vec<(NamedPath<'a>, OutputKind)>,
            name: &'a str,
            path: &'a Option<PathBuf>,
            kind: OutputKind,
        ) {
            if let Some(p) = path {
                outs.push((named(name, p), kind));
            }
        }
        match self {
            Command::Features(c) => {
                ins.push(named(EXPORT, &c.mapping.input));
                outs.push((named("--out", &c.out), Table));
            }
            Command::Inspect(c) => ins.push(named(EXPORT, &c.mapping.input)),
            Command::Sweep(c) => ins.push(named(EXPORT, &c.run.mapping.input)),
            Command::Segment(c) => {
                ins.push(named(EXPORT, &c.run.mapping.input));
                opt(&mut outs, "--assignments", &c.assignments, Table);
                opt(&mut outs, "--report", &c.report, File);
                opt(&mut outs, "--out", &c.out, File);
                opt(&mut outs, "--project", &c.project, File);
                if let Some(k) = &c.sign_key {
                    ins.push(named("--sign-key", k));
                }
            }
            Command::Assign(c) => {
                ins.push(named("--rules", &c.rules));
                ins.push(named(EXPORT, &c.mapping.input));
                opt(&mut outs, "--out", &c.out, Table);
                if let Some(to) = c.to_file() {
                    outs.push((named("--to", to), File));
                }
            }
            Command::Serve(c) => {
                ins.push(named("--rules", &c.rules));
                if let Some(p) = &c.profiles {
                    ins.push(named("--profiles", p));
                }
                opt(&mut outs, "--exposures", &c.exposures, File);
            }
            Command::Sql(c) => match &c.what {
                sql::SqlWhat::Assign(a) => {
                    ins.push(named("--rules", &a.rules));
                    opt(&mut outs, "--out", &a.out, File);
                }
                sql::SqlWhat::Features(f) => {
                    if let Some(r) = &f.rules {
                        ins.push(named("--rules", r));
                    }
                    opt(&mut outs, "--out", &f.out, File);
                }
            },
            Command::Decide(_) | Command::Verify(_) | Command::Catalogue => {}
            Command::Predict(c) => {
                // --into is read and then rewritten on purpose; it must only differ from the others.
                ins.push(named(EXPORT, &c.mapping.input));
                opt(&mut outs, "--report", &c.report, File);
                opt(&mut outs, "--scores", &c.scores, Table);
                opt(&mut outs, "--design", &c.design, Table);
                opt(&mut outs, "--into", &c.into, File);
                if let Some(k) = &c.sign_key {
                    ins.push(named("--sign-key", k));
                }
            }
            Command::Report(c) => {
                ins.push(named("the outcomes export", &c.outcomes));
                if let Some(r) = &c.rules {
                    ins.push(named("--rules", r));
                }
                opt(&mut outs, "--out", &c.out, File);
            }
            Command::Drift(c) => {
                ins.push(named("--from", &c.from));
                if let Some(t) = &c.to {
                    ins.push(named("--to", t));
                }
                ins.push(named(EXPORT, &c.mapping.input));
                opt(&mut outs, "--out", &c.out, File);
            }
            Command::Sample(c) => {
                let folder = matches!(c.style, sample::StyleArg::Ga4Bigquery)
                    && (c.out.is_dir() || c.out.to_string_lossy().ends_with('/'));
                outs.push((named("--out", &c.out), if folder { Folder } else { Table }));
                opt(&mut outs, "--truth", &c.truth, Table);
            }
        }
        (ins, outs)
    }
}

/// Say that CSV cells were written with a leading `'` (they would have run as formulas).
pub fn warn_defused(d: &persona_lab::spreadsheet::Defused, path: &std::path::Path) {
    if let Some(note) = d.note(path) {
        say_err!("warning: {note}");
    }
}
