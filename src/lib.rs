//! Persona Lab core: loading behavioral exports, per-user features, clustering and validation, and (in
//! later modules) personas, rules and prediction. No GUI code lives here.

/// The runtime crate (rule set reading, checks, assignment, decisions), re-exported whole.
pub use persona_lab_runtime as runtime;

pub mod cluster;
pub mod data;
pub mod error;
pub mod features;
pub mod hints;
pub mod job;
pub mod monitor;
pub mod output;
pub mod palette;
pub mod pipeline;
pub mod predict;
pub mod project;
pub mod rules;
pub mod ruleset;
pub mod sample;
pub mod spreadsheet;
pub mod sql;
pub mod summary;
pub mod task;
pub mod terminal;
pub mod timing;
