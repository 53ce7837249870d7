//! Persona Lab core: loading behavioral exports, per-user features, and (in later modules) clustering,
//! personas, rules and prediction. No GUI code lives here.

pub mod data;
pub mod error;
pub mod features;
pub mod output;
pub mod sample;
pub mod timing;
