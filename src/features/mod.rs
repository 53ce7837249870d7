//! Per-user behavioral features: the catalogue, the aggregation of events into a profile table, and the
//! transforms (log1p, scalers, weights, engagement score) that make the matrix that gets clustered.

pub mod accumulate;
pub mod aggregate;
pub mod catalogue;
pub mod display;
pub mod distribution;
pub mod preview;
pub mod transform;

pub use aggregate::{
    Attribute, FeatureConfig, Profile, SessionSource, compute_profile, compute_profile_with,
};
pub use catalogue::{DEFAULT_SET, EventKind, FeatureKind, MissingPolicy};
pub use transform::{
    FeatureChoice, FittedFeature, FittedTransform, Matrix, ProfileTransform, Scaler, TransformSpec,
};
