//! The segment model's method: how the training run clustered (new users always go to the nearest
//! centroid, whatever the method).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    Ward,
    Average,
    Complete,
    Single,
}

impl Linkage {
    pub fn name(self) -> &'static str {
        match self {
            Linkage::Ward => "ward",
            Linkage::Average => "average",
            Linkage::Complete => "complete",
            Linkage::Single => "single",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    KMeans,
    Ward,
    Average,
    Complete,
    Single,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::KMeans,
        Method::Ward,
        Method::Average,
        Method::Complete,
        Method::Single,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::KMeans => "kmeans",
            Method::Ward => "ward",
            Method::Average => "average",
            Method::Complete => "complete",
            Method::Single => "single",
        }
    }

    pub fn linkage(self) -> Option<Linkage> {
        match self {
            Method::KMeans => None,
            Method::Ward => Some(Linkage::Ward),
            Method::Average => Some(Linkage::Average),
            Method::Complete => Some(Linkage::Complete),
            Method::Single => Some(Linkage::Single),
        }
    }
}

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s || (s == "k-means" && *m == Method::KMeans))
            .ok_or(UnknownMethod(s))
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A method name that is none of kmeans, ward, average, complete, single.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMethod(pub String);

impl fmt::Display for UnknownMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown clustering method {:?}; use kmeans, ward, average, complete or single",
            self.0
        )
    }
}

impl std::error::Error for UnknownMethod {}
