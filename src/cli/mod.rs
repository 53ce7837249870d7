//! The headless interface: one module per subcommand, each a thin call into the core library.

pub mod args;
pub mod features;
pub mod inspect;
pub mod monitor;
pub mod predict;
pub mod rules;
pub mod sample;
pub mod segment;
pub mod summary;

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
