//! Project files (`.plab`, RON): everything needed to redo an analysis and get the same segments: the
//! source file and its fingerprint, load options, feature settings, clustering parameters with the
//! seed, the persona texts, and the content rules. Results are not stored; they are recomputed, which is exact because every
//! random choice is seeded.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster::SegmentParams;
use crate::data::LoadOptions;
use crate::error::{ProjectError, WriteError};
use crate::features::{FeatureConfig, TransformSpec};
use crate::predict::PredictParams;
use crate::rules::{Guardrails, Rule};
use crate::ruleset::Persona;

pub const PROJECT_VERSION: u32 = 1;

/// The largest number of segments a project may ask for.
pub use crate::cluster::segment::MAX_K;

/// Whether a path names a project file (by its `.plab` extension, any case): what the app opens as a
/// project rather than as an export.
pub fn is_project_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("plab"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub format_version: u32,
    pub source: PathBuf,
    /// SHA-256 of the source file when the project was saved.
    pub source_fingerprint: String,
    pub load_options: LoadOptions,
    /// The user ids were salted hashes when the project was saved; the salt is never stored, so on
    /// opening the app asks for it again (without it, exports would hold raw ids). Written only when
    /// true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ids_hashed: bool,
    pub feature_config: FeatureConfig,
    pub spec: Option<TransformSpec>,
    pub params: SegmentParams,
    pub sweep_k: (usize, usize),
    pub personas: Vec<Persona>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub guardrails: Guardrails,
    /// The churn / conversion model's settings, when one was trained (it is trained again on open;
    /// every random choice is seeded, so it comes back the same).
    #[serde(default)]
    pub predict: Option<PredictParams>,
}

impl Project {
    pub fn write(&self, path: &Path) -> Result<(), WriteError> {
        crate::output::write_ron(path, self)
    }

    pub fn read(path: &Path) -> Result<Project, ProjectError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProjectError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse a project file's text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &Path) -> Result<Project, ProjectError> {
        let p: Project =
            ron::Options::default()
                .from_str(text)
                .map_err(|e| ProjectError::Parse {
                    path: origin.to_path_buf(),
                    message: e.to_string(),
                })?;
        if p.format_version > PROJECT_VERSION {
            return Err(ProjectError::NewerVersion {
                path: origin.to_path_buf(),
                found: p.format_version,
                supported: PROJECT_VERSION,
            });
        }
        p.check()
            .map_err(|(field, message)| ProjectError::Invalid {
                path: origin.to_path_buf(),
                field: field.into(),
                message,
            })?;
        Ok(p)
    }

    /// Settings no analysis asks for, refused when read: a hand-edited or damaged file must not set
    /// the app grinding through a billion restarts. (The algorithms check their own preconditions,
    /// such as k against the number of users, when they run.)
    fn check(&self) -> Result<(), (&'static str, String)> {
        let p = &self.params;
        let within = |field: &'static str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err((field, format!("{v} is outside {lo}..={hi}")))
            }
        };
        if let Err(crate::error::ClusterError::InvalidParameter { parameter, message }) = p.check()
        {
            let field = match parameter {
                "k" => "params.k",
                "n_init" => "params.n_init",
                "max_iter" => "params.max_iter",
                "tol" => "params.tol",
                "fit_sample" => "params.fit_sample",
                "exact_limit" => "params.exact_limit",
                _ => "params",
            };
            return Err((field, message));
        }
        within("sweep_k", self.sweep_k.0, 2, MAX_K)?;
        within("sweep_k", self.sweep_k.1, self.sweep_k.0, MAX_K)?;
        within(
            "feature_config.top_events",
            self.feature_config.top_events,
            0,
            1000,
        )?;
        Ok(())
    }
}
