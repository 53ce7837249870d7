//! The rule set file (RON): everything a deployment needs to place a new user in a segment and decide
//! what to show, with no other input: the feature specification (definitions, fitted transform,
//! weights), the segment model (nearest centroid), personas, content rules and guardrails.
//! `docs/ruleset-format.md` documents it field by field.

mod apply;
pub mod overview;
mod personas;
pub mod summary;

use std::path::Path;

pub use apply::{Applied, Coverage, apply, coverage, population, user_profiles};
pub use persona_lab_runtime::ruleset::{
    Decisions, FORMAT_VERSION, FeatureSpec, Misses, Persona, RuleSet, SegmentModel, Source,
    checksum,
};
pub use personas::{default_persona, default_personas};

use crate::cluster::{ClusterProfile, Segmentation};
use crate::error::WriteError;
use crate::features::{FeatureConfig, FittedTransform, Profile};
use crate::rules::Guardrails;

/// Describe an input whose fingerprint is known (the app took it when the file loaded).
pub fn new_source(
    fingerprint: String,
    input: &Path,
    shape: crate::data::Shape,
    users: usize,
    ids_hashed: bool,
) -> Source {
    Source {
        fingerprint,
        file_name: input
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        shape: format!("{shape:?}").to_lowercase(),
        users,
        ids_hashed,
    }
}

/// Describe an input file: its fingerprint (the file is read once more), name, shape, user count
/// and whether its ids were hashed.
pub fn describe_source(
    input: &Path,
    shape: crate::data::Shape,
    users: usize,
    ids_hashed: bool,
) -> std::io::Result<Source> {
    Ok(new_source(
        fingerprint(input)?,
        input,
        shape,
        users,
        ids_hashed,
    ))
}

/// A rule set from an analysis: the profile's event names and kinds are pinned so a new export
/// yields the same feature columns.
pub fn build(
    source: Source,
    config: &FeatureConfig,
    profile: &Profile,
    fitted: &FittedTransform,
    seg: &Segmentation,
    profiles: &[ClusterProfile],
) -> RuleSet {
    let mut config = config.clone();
    if profile.reference_time.is_some() {
        config.event_names = Some(crate::features::catalogue::counted_names(&profile.features));
        config.event_kinds = Some(profile.kinds_found.iter().map(|(k, _)| *k).collect());
        if config.one_hot_attributes {
            config.one_hot_values = Some(
                profile
                    .features
                    .iter()
                    .filter(|f| f.starts_with(crate::features::aggregate::ONE_HOT_PREFIX))
                    .cloned()
                    .collect(),
            );
        }
    }
    RuleSet {
        format_version: FORMAT_VERSION,
        app_version: env!("CARGO_PKG_VERSION").into(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        source,
        features: FeatureSpec {
            config,
            profile_features: profile.features.clone(),
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
        models: vec![],
        rules: vec![],
        guardrails: Guardrails::default(),
        checksum: None,
    }
}

/// Write the rule set, sealed with the checksum of its content, atomically: JSON when the name ends
/// in `.json`, else RON (the same content and checksum either way).
pub fn write(rs: &RuleSet, path: &Path) -> Result<(), WriteError> {
    write_signed(rs, path, None)
}

/// [`write`], signed with `key` when one is given (`Checksum.signature`, an HMAC-SHA256 the
/// deployment checks with `verify --key` or `serve --verify-key`).
pub fn write_signed(rs: &RuleSet, path: &Path, key: Option<&[u8]>) -> Result<(), WriteError> {
    let sealed = match key {
        Some(k) => rs.signed(k),
        None => rs.sealed(),
    };
    let encoding = persona_lab_runtime::ruleset::Encoding::of(path);
    let text = sealed.encode(encoding).map_err(|e| WriteError::Encode {
        path: path.to_path_buf(),
        format: "rule set".into(),
        message: e.to_string(),
    })?;
    crate::output::write_bytes(path, text.as_bytes())
}

/// A signing key from a file: its bytes, a final line break ignored (keys are usually written by
/// `openssl rand -hex 32 > key`). An empty key is refused.
pub fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes =
        std::fs::read(path).map_err(|e| format!("{}: cannot read the key: {e}", path.display()))?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(format!("{}: the key file is empty", path.display()));
    }
    Ok(bytes)
}

/// SHA-256 of the export's content, hex: a file's bytes, or every file of a folder or glob with its
/// name (see `data::source::fingerprint`).
pub fn fingerprint(path: &Path) -> std::io::Result<String> {
    crate::data::source::fingerprint(path)
}
