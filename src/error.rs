//! Typed errors of the core library. Every variant names the file and, where it can, the column and rows,
//! so the CLI and the GUI can show the message as it is.

use std::path::PathBuf;

use thiserror::Error;

/// Errors raised while reading an export and turning it into a table of events or users.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: this is {what}; give an export file")]
    NotAFile { path: PathBuf, what: String },
    /// A folder, glob or archive with no export file to read.
    #[error("{path}: {message}")]
    NoFiles { path: PathBuf, message: String },
    #[error(
        "{path}: too large to analyse in memory here: it needs about {need} and {source_of_limit} is \
         {have}. Use a shorter period or a sample of users, or free memory (to try anyway, set \
         PERSONA_LAB_MEMORY=unlimited)"
    )]
    TooLarge {
        path: PathBuf,
        need: String,
        have: String,
        source_of_limit: &'static str,
    },
    #[error("{message}")]
    MemoryBudget { message: String },
    /// The export's time zone setting names no zone.
    #[error(
        "time zone: {message}; {}",
        crate::hints::how(crate::hints::Setting::TimeZone)
    )]
    TimeZone { message: String },
    #[error("{path}: the file has a header but no data rows")]
    HeaderOnly { path: PathBuf },
    #[error(
        "{path}: this is not a text export (binary bytes near offset {offset}); expected CSV, Parquet, NDJSON or Avro"
    )]
    Binary { path: PathBuf, offset: usize },
    #[error(
        "{path}: the file is UTF-16 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8; or \
         `iconv -f UTF-16 -t UTF-8 IN > OUT`)"
    )]
    Utf16 { path: PathBuf },
    #[error("{path}: line {line} is not valid UTF-8 text; re-export the file as UTF-8")]
    InvalidUtf8 { path: PathBuf, line: usize },
    #[error(
        "{path}: line {line} holds a carriage return that does not end the line (old Mac line \
         endings, or a mix of Windows, Unix and Mac ones); convert them to one kind, e.g. \
         `tr '\\r' '\\n' < IN > OUT` for old Mac files or `dos2unix`"
    )]
    LineEndings { path: PathBuf, line: usize },
    #[error(
        "{path}: the record starting on line {line} has {fields} fields where the header has \
         {header}: a delimiter inside a value that is not quoted, or a row shifted by a missing \
         quote; quote that value or fix the row"
    )]
    Ragged {
        path: PathBuf,
        line: usize,
        fields: usize,
        header: usize,
    },
    #[error(
        "{path}: duplicate column name {column:?} (columns {first} and {second}); rename one of them"
    )]
    DuplicateColumn {
        path: PathBuf,
        column: String,
        first: usize,
        second: usize,
    },
    #[error("{path}: could not parse the file as {format}: {message}")]
    Parse {
        path: PathBuf,
        format: String,
        message: String,
    },
    #[error("{path}: no user id column found among [{columns}]; {how}{hint}")]
    NoUserColumn {
        path: PathBuf,
        columns: String,
        /// How to name one (the flag, or the app's drop-down).
        how: String,
        hint: String,
    },
    #[error("{path}: column {column:?} given for {role} does not exist; columns are [{columns}]")]
    UnknownColumn {
        path: PathBuf,
        role: String,
        column: String,
        columns: String,
    },
    #[error("{path}: column {column:?} ({role}): {message}")]
    BadColumn {
        path: PathBuf,
        role: String,
        column: String,
        message: String,
    },
    #[error(
        "{path}: a users table needs at least one numeric feature column besides {user_column:?}"
    )]
    NoFeatureColumns { path: PathBuf, user_column: String },
    #[error("{path}: no rows left after {step}")]
    NothingLeft { path: PathBuf, step: String },
    #[error("hashing user ids needs a salt: pass --salt or set PERSONA_LAB_SALT")]
    MissingSalt,
    #[error("{0}")]
    Invalid(String),
    /// The streamed load's writer stopped before filling its disk (said with the export's name
    /// where the load is answered).
    #[error("the spill disk is full: {written} bytes written, {free} free")]
    SpillFull { written: u64, free: u64 },
    /// The file's length changed while it was read: it is still being written or copied.
    #[error(
        "{path}: the file changed while it was read ({before} bytes when the read began, {after} when it ended): it is still being written, copied or downloaded; load it again once it is complete"
    )]
    Changed {
        path: PathBuf,
        before: u64,
        after: u64,
    },
    #[error(transparent)]
    Cancelled(#[from] crate::job::Cancelled),
}

/// Errors raised while computing or transforming per-user features.
#[derive(Debug, Error)]
pub enum FeatureError {
    #[error("feature computation failed: {0}")]
    Polars(String),
    #[error("no usable features: {0}")]
    NoFeatures(String),
    #[error("unknown feature {0:?}; see `persona-lab features --list`")]
    UnknownFeature(String),
    #[error("feature {feature:?}: {message}")]
    Invalid { feature: String, message: String },
    #[error(transparent)]
    Cancelled(#[from] crate::job::Cancelled),
}

/// Errors of writing an output file (always atomic: temp file, then rename).
#[derive(Debug, Error)]
pub enum WriteError {
    #[error("{path}: cannot write: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot encode {format}: {message}")]
    Encode {
        path: PathBuf,
        format: String,
        message: String,
    },
    #[error("{path}: unknown output format; use .csv, .csv.gz, .parquet, .ndjson or .jsonl")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: {message}")]
    SamePath { path: PathBuf, message: String },
}

/// What to choose when k can be at most `max_k` (`cluster::most_segments`, and no more segments than
/// distinct users).
fn k_advice(max_k: usize) -> String {
    if max_k >= 2 {
        format!("choose k <= {max_k}")
    } else {
        "segmenting needs at least 3 users".into()
    }
}

/// Errors of clustering, validation and projections.
#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("k must be at least 2, got {0}")]
    KTooSmall(usize),
    #[error(
        "k = {k} is more than the {distinct} distinct users in the data; {}",
        k_advice((*.distinct).min(crate::cluster::most_segments(*.users)))
    )]
    KTooLarge {
        k: usize,
        distinct: usize,
        users: usize,
    },
    #[error(
        "k = {k} is not below the {users} users: a silhouette judges each user against another segment, so there must be fewer segments than users; {}",
        k_advice(crate::cluster::most_segments(*.users))
    )]
    KNotBelowUsers { k: usize, users: usize },
    #[error(
        "segment {segment} cannot be split: {}",
        if *.distinct < 2 {
            format!("its {} users have the same feature values", .users)
        } else {
            format!(
                "one more segment would make {} for {} users, and a silhouette needs fewer \
                 segments than users",
                .k + 1,
                .total
            )
        }
    )]
    CannotSplit {
        segment: usize,
        users: usize,
        distinct: usize,
        k: usize,
        total: usize,
    },
    #[error("clustering needs at least 2 users, got {0}")]
    TooFewUsers(usize),
    #[error("every user has the same feature values; there is nothing to cluster")]
    AllIdentical,
    #[error("the matrix has no columns; select at least one feature")]
    NoColumns,
    #[error("row {row} (user {user:?}), column {column:?}: value {value} is not a finite number")]
    NonFinite {
        row: usize,
        user: String,
        column: String,
        value: f64,
    },
    #[error("unknown clustering method {0:?}; use kmeans, ward, average, complete or single")]
    UnknownMethod(String),
    #[error("{parameter}: {message}")]
    InvalidParameter {
        parameter: &'static str,
        message: String,
    },
    #[error(
        "silhouette needs between 2 and n-1 clusters, got {clusters} clusters for {users} users"
    )]
    SilhouetteLabels { clusters: usize, users: usize },
    #[error("cancelled")]
    Cancelled,
}

/// Errors of reading a rule set file and of rule evaluation: the runtime crate's, so a deployment and
/// the app report the same thing.
pub use persona_lab_runtime::error::{RuleError, RuleSetError};

impl From<FeatureError> for RuleSetError {
    fn from(e: FeatureError) -> Self {
        RuleSetError::Other(Box::new(e))
    }
}

/// Errors reading a project file (`.plab`).
#[derive(Debug, Error)]
pub enum ProjectError {
    #[error("{path}: cannot read the project: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid project file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "{path}: project format version {found} is newer than this program understands (up to {supported}); update persona-lab"
    )]
    NewerVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path}: {field}: {message}")]
    Invalid {
        path: PathBuf,
        field: String,
        message: String,
    },
}

/// Errors of a whole analysis step that spans features and clustering.
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error(transparent)]
    Feature(#[from] FeatureError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Errors of churn / conversion prediction.
#[derive(Debug, Error)]
pub enum PredictError {
    #[error("{0}")]
    Invalid(String),
    #[error("no cutoff is possible: {0}; pick a cutoff with --cutoff, or a shorter --horizon-days")]
    NoCutoff(String),
    #[error(
        "the {class} class has {count} users; at least {min} are needed on each side to learn \
         (class balance: {positives} positive, {negatives} negative)"
    )]
    TooFewInClass {
        class: String,
        count: usize,
        min: usize,
        positives: usize,
        negatives: usize,
    },
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Feature(#[from] FeatureError),
    #[error("cancelled")]
    Cancelled,
}

/// Errors of rule monitoring and drift.
#[derive(Debug, Error)]
pub enum MonitorError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{path}: {message}")]
    Column { path: PathBuf, message: String },
    #[error("{path}: row {row}, column {column:?}: {message}")]
    Row {
        path: PathBuf,
        row: usize,
        column: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl From<crate::job::Cancelled> for ClusterError {
    fn from(_: crate::job::Cancelled) -> Self {
        ClusterError::Cancelled
    }
}

impl From<crate::job::Cancelled> for PredictError {
    fn from(_: crate::job::Cancelled) -> Self {
        PredictError::Cancelled
    }
}

impl From<crate::job::Cancelled> for PipelineError {
    fn from(c: crate::job::Cancelled) -> Self {
        PipelineError::Cluster(c.into())
    }
}
