//! The runtime's errors. Written by hand (no thiserror) to keep the crate's dependencies to four.

use std::fmt;
use std::path::PathBuf;

/// Errors of reading a rule set file.
#[derive(Debug)]
pub enum RuleSetError {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Parse {
        path: PathBuf,
        message: String,
    },
    NewerVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    Invalid(String),
    FeatureUnavailable {
        feature: String,
        reason: String,
    },
    /// An error of the analysis library that applied the file (features of a new export).
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for RuleSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSetError::Io { path, source } => {
                write!(f, "{}: cannot read the rule set: {source}", path.display())
            }
            RuleSetError::Parse { path, message } => {
                write!(f, "{}: not a valid rule set: {message}", path.display())
            }
            RuleSetError::NewerVersion {
                path,
                found,
                supported,
            } => write!(
                f,
                "{}: rule set format version {found} is newer than this program understands (up to \
                 {supported}); update persona-lab",
                path.display()
            ),
            RuleSetError::Invalid(m) => write!(f, "rule set: {m}"),
            RuleSetError::FeatureUnavailable { feature, reason } => write!(
                f,
                "the rule set needs the feature {feature:?}, which this export cannot give: {reason}"
            ),
            RuleSetError::Other(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for RuleSetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RuleSetError::Io { source, .. } => Some(source),
            RuleSetError::Other(e) => e.source(),
            _ => None,
        }
    }
}

/// Errors of rule evaluation: what a profile or session lacks or gets wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleError {
    BadTime { field: String, value: String },
    MissingFeature { feature: String, needed_by: String },
    NotFinite { feature: String, value: f64 },
    MissingScore { score: String, rule: String },
    NoUserId,
    UnknownReturning { rule: String },
    Invalid(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::BadTime { field, value } => write!(
                f,
                "{field}: {value:?} is not a time (RFC 3339, e.g. 2026-11-25T10:00:00Z, or YYYY-MM-DD)"
            ),
            RuleError::MissingFeature { feature, needed_by } => write!(
                f,
                "profile: feature {feature:?} is missing ({needed_by}); give it a value, or null for a \
                 missing value"
            ),
            RuleError::NotFinite { feature, value } => {
                write!(
                    f,
                    "profile: feature {feature:?} is not a finite number ({value})"
                )
            }
            RuleError::MissingScore { score, rule } => write!(
                f,
                "profile: score {score:?} is missing (rule {rule:?} needs it and the rule set has no \
                 model for it)"
            ),
            RuleError::NoUserId => write!(
                f,
                "profile: user_id is empty (it is needed to bucket users into variants)"
            ),
            RuleError::UnknownReturning { rule } => write!(
                f,
                "profile: whether the user is returning is unknown (rule {rule:?} needs it): give \
                 `returning` or the `sessions` feature"
            ),
            RuleError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RuleError {}

impl RuleError {
    /// The error's kind in snake case, as the JSON error object names it.
    pub fn kind(&self) -> &'static str {
        match self {
            RuleError::BadTime { .. } => "bad_time",
            RuleError::MissingFeature { .. } => "missing_feature",
            RuleError::NotFinite { .. } => "not_finite",
            RuleError::MissingScore { .. } => "missing_score",
            RuleError::NoUserId => "no_user_id",
            RuleError::UnknownReturning { .. } => "unknown_returning",
            RuleError::Invalid(_) => "invalid",
        }
    }

    /// The error as JSON: `{"error": kind, "message": text, ...the fields that name what is wrong}`
    /// (the contract's error object: `decide` in the conformance cases and the decision service).
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        o.insert("error".into(), self.kind().into());
        o.insert("message".into(), self.to_string().into());
        let mut put = |k: &str, v: serde_json::Value| {
            o.insert(k.into(), v);
        };
        match self {
            RuleError::BadTime { field, value } => {
                put("field", field.as_str().into());
                put("value", value.as_str().into());
            }
            RuleError::MissingFeature { feature, needed_by } => {
                put("feature", feature.as_str().into());
                put("needed_by", needed_by.as_str().into());
            }
            RuleError::NotFinite { feature, .. } => put("feature", feature.as_str().into()),
            RuleError::MissingScore { score, rule } => {
                put("score", score.as_str().into());
                put("rule", rule.as_str().into());
            }
            RuleError::UnknownReturning { rule } => put("rule", rule.as_str().into()),
            RuleError::NoUserId | RuleError::Invalid(_) => {}
        }
        serde_json::Value::Object(o)
    }
}
