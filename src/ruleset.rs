//! The rule set file (RON): everything a deployment needs to place a new user in a segment, with no
//! other input. This first version carries the feature specification (definitions, fitted transform,
//! weights) and the segment model (nearest centroid); personas are placeholders named from their
//! distinguishing features, and rules arrive with the rules module.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cluster::{ClusterProfile, Method, Segmentation};
use crate::error::{RuleSetError, WriteError};
use crate::features::{FeatureConfig, FittedTransform};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    pub format_version: u32,
    pub app_version: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub source: Source,
    pub features: FeatureSpec,
    pub segments: SegmentModel,
    pub personas: Vec<Persona>,
}

/// Where the model came from, without any raw identifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// SHA-256 of the input file's bytes.
    pub fingerprint: String,
    pub file_name: String,
    pub shape: String,
    pub users: usize,
}

/// How raw per-user values become the clustering vector.
impl Source {
    /// Describe an input file: its fingerprint (the file is read once more), name, shape and user count.
    pub fn describe(
        input: &Path,
        shape: crate::data::Shape,
        users: usize,
    ) -> std::io::Result<Source> {
        Ok(Source {
            fingerprint: fingerprint(input)?,
            file_name: input
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            shape: format!("{shape:?}").to_lowercase(),
            users,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub config: FeatureConfig,
    pub transform: FittedTransform,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentModel {
    pub method: Method,
    pub k: usize,
    pub seed: u64,
    /// New users go to the nearest centroid (Euclidean, in the clustering space), whatever the method.
    pub assignment: String,
    /// One row per segment, in the order of `features.transform.features`.
    pub centroids: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Persona {
    pub id: String,
    pub segment: usize,
    pub name: String,
    pub description: String,
    pub traits: Vec<String>,
}

impl RuleSet {
    pub fn new(
        source: Source,
        config: &FeatureConfig,
        fitted: &FittedTransform,
        seg: &Segmentation,
        profiles: &[ClusterProfile],
    ) -> Self {
        RuleSet {
            format_version: FORMAT_VERSION,
            app_version: env!("CARGO_PKG_VERSION").into(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            source,
            features: FeatureSpec {
                config: config.clone(),
                transform: fitted.clone(),
            },
            segments: SegmentModel {
                method: seg.params.method,
                k: seg.k,
                seed: seg.params.seed,
                assignment: "nearest_centroid".into(),
                centroids: (0..seg.k).map(|c| seg.centroid(c).to_vec()).collect(),
            },
            personas: default_personas(profiles),
        }
    }

    /// The segment of a user given its raw feature values (in the order of the transform's features).
    pub fn assign(&self, raw: &[Option<f64>]) -> Result<usize, RuleSetError> {
        let feats = &self.features.transform.features;
        if raw.len() != feats.len() {
            return Err(RuleSetError::Invalid(format!(
                "expected {} feature values, got {}",
                feats.len(),
                raw.len()
            )));
        }
        let x: Vec<f64> = feats.iter().zip(raw).map(|(f, v)| f.weighted(*v)).collect();
        let mut best = (0, f64::INFINITY);
        for (c, cen) in self.segments.centroids.iter().enumerate() {
            let d: f64 = cen.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best.1 {
                best = (c, d);
            }
        }
        Ok(best.0)
    }

    pub fn write(&self, path: &Path) -> Result<(), WriteError> {
        crate::output::write_ron(path, self)
    }

    pub fn read(path: &Path) -> Result<RuleSet, RuleSetError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleSetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // Read the version first so a newer file gets a clear message rather than a field error.
        let parse = |e: ron::error::SpannedError| RuleSetError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let opts = ron::Options::default();
        if let Ok(v) = opts.from_str::<VersionOnly>(&text)
            && v.format_version > FORMAT_VERSION
        {
            return Err(RuleSetError::NewerVersion {
                path: path.to_path_buf(),
                found: v.format_version,
                supported: FORMAT_VERSION,
            });
        }
        opts.from_str(&text).map_err(parse)
    }
}

/// Only the version field; every other field is ignored.
#[derive(Deserialize)]
#[serde(rename = "RuleSet")]
struct VersionOnly {
    format_version: u32,
}

/// Starting personas for all segments, names made unique (a repeated name gets the segment number).
pub fn default_personas(profiles: &[ClusterProfile]) -> Vec<Persona> {
    let mut out: Vec<Persona> = profiles.iter().map(default_persona).collect();
    for i in 0..out.len() {
        if out[..i].iter().any(|p| p.name == out[i].name) {
            out[i].name = format!("{} (segment {})", out[i].name, out[i].segment);
        }
    }
    out
}

/// A starting persona for a segment, named from its most distinctive features (e.g. "High sessions,
/// low recency_days"); strategists rename it.
pub fn default_persona(p: &ClusterProfile) -> Persona {
    let traits: Vec<String> = p
        .top
        .iter()
        .filter(|(_, z)| z.abs() >= 0.25)
        .map(|(f, z)| {
            format!(
                "{} {f} (z = {z:+.2})",
                if *z > 0.0 { "high" } else { "low" }
            )
        })
        .collect();
    let name = match p
        .top
        .iter()
        .filter(|(_, z)| z.abs() >= 0.25)
        .take(2)
        .collect::<Vec<_>>()[..]
    {
        [] => format!("Segment {}", p.id),
        [(f, z)] => format!("{} {f}", if *z > 0.0 { "High" } else { "Low" }),
        [(f1, z1), (f2, z2), ..] => format!(
            "{} {f1}, {} {f2}",
            if *z1 > 0.0 { "High" } else { "Low" },
            if *z2 > 0.0 { "high" } else { "low" }
        ),
    };
    Persona {
        id: format!("segment_{}", p.id),
        segment: p.id,
        name,
        description: format!("{} users ({:.1}%)", p.size, 100.0 * p.share),
        traits,
    }
}

/// SHA-256 of a file's bytes, hex.
pub fn fingerprint(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
