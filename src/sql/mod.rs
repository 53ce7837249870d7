//! SQL for the warehouse: the queries that compute, where the data lives, what Persona Lab computes
//! on one machine. `features`: the profile table from an events table; `assign`: a rule set's
//! segments, personas and scores over a profile table.

pub mod assign;
pub mod dialect;
pub mod features;

pub use dialect::Dialect;
