//! Closing the loop: how rules and their variants perform against their holdout, and how segments
//! drift between two segmentations of the same population.

pub mod drift;
pub mod html;
pub mod outcomes;
pub mod report;
pub mod stats;
