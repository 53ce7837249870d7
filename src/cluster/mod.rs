//! Clustering and validation: k-means, hierarchical linkage, silhouette, projections, cluster profiles,
//! k sweeps. Every function takes a [`Job`](crate::job::Job) for progress and cancellation and a seed for
//! anything random.

pub mod hierarchical;
pub mod kmeans;
pub mod points;
pub mod silhouette;

pub use hierarchical::{Dendrogram, Hierarchical, HierarchicalFit, Linkage, Merge};
pub use kmeans::{KMeans, KMeansFit};
pub use points::Points;
pub use silhouette::{Silhouette, SilhouetteOptions, silhouette};
