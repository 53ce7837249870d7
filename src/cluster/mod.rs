//! Clustering and validation: k-means, hierarchical linkage, silhouette, projections, cluster profiles,
//! k sweeps. Every function takes a [`Job`](crate::job::Job) for progress and cancellation and a seed for
//! anything random.

pub mod compare;
pub mod hierarchical;
pub mod kmeans;
pub mod pca;
pub mod points;
pub mod profile;
pub mod segment;
pub mod silhouette;
pub mod stability;
pub mod sweep;
pub mod tsne;
pub mod value;

pub use compare::adjusted_rand_index;
pub use hierarchical::{Dendrogram, Hierarchical, HierarchicalFit, Linkage, Merge};
pub use kmeans::{KMeans, KMeansFit};
pub use pca::Pca;
pub use points::{Points, check_k_scored, most_segments};
pub use profile::{AttributeShares, ClusterProfile, FeatureStat, centroid_raw, everyone, profiles};
pub use segment::{Method, SegmentParams, Segmentation, segment};
pub use silhouette::{Silhouette, SilhouetteOptions, silhouette};
pub use stability::{Stability, stability};
pub use sweep::{Sweep, SweepPoint, sweep};
pub use tsne::{Tsne, TsneParams, tsne};
pub use value::Value;
