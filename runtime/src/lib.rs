//! Persona Lab's runtime: everything a deployment needs to use a rule set file, and nothing else.
//!
//! - [`RuleSet::read`] / [`RuleSet::from_ron`] / [`RuleSet::from_json`]: read a file, upgrading older
//!   versions, refusing newer ones; [`RuleSet::validate`] and [`checksum::verify`] check it.
//! - [`RuleSet::assign_profile`]: the segment of a user from raw profile features.
//! - [`RuleSet::decide`]: what to show the user in a session, with the trace and the "Why am I seeing
//!   this?" text.
//!
//! The desktop app and the CLI use this crate for all of it, so a deployment decides exactly as the app
//! did. `docs/ruleset-format.md` is the contract; `docs/schema/` the JSON Schemas; `conformance/` the
//! cases every implementation must agree on.

pub mod error;
pub mod features;
pub mod rules;
pub mod ruleset;
pub mod scores;
pub mod segments;
pub mod time;

pub use error::{RuleError, RuleSetError};
pub use rules::{Session, UserProfile};
pub use ruleset::{Decisions, FORMAT_VERSION, FeatureSpec, Persona, RuleSet, SegmentModel, Source};
