//! What the fuzz targets share: each input goes through the same code the CLI and the app run on a
//! file, from bytes to the clustered result, so a panic anywhere on that path is a finding.
//!
//! The checks here are the invariants a reader must keep on any input: no panic, no hang (libFuzzer's
//! timeout), and a file that was read back is the same when written and read again.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use persona_lab::cluster::{Method, SegmentParams, SilhouetteOptions};
use persona_lab::data::{self, LoadOptions};
use persona_lab::features::{self, FeatureConfig, TransformSpec};
use persona_lab::job::Job;
use persona_lab::pipeline::{self, RunSettings};
use persona_lab::project::Project;
use persona_lab::rules::{Session, UserProfile};
use persona_lab::ruleset::RuleSet;

/// Set up the process for a fuzz target (after libFuzzer's own set-up): a panic that the loader's guard
/// turns into a named error is what the app does with a damaged file, not a finding; any other panic
/// aborts before unwinding (libFuzzer's behaviour), so it is reported with its stack.
pub fn init() {
    std::panic::set_hook(Box::new(|info| {
        if persona_lab::data::format::reading_guarded() {
            return;
        }
        eprintln!("{info}");
        std::process::abort();
    }));
}

/// Report, once per distinct message, a panic inside a file reader that the guard caught: a bug in
/// the reader (polars) that the app already survives, listed for the record.
fn note_guarded(e: &persona_lab::error::LoadError) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let text = e.to_string();
    if let Some(i) = text.find("the file is damaged (") {
        let what = text[i..].to_string();
        if let Ok(mut seen) = SEEN.lock()
            && !seen.contains(&what)
        {
            eprintln!("guarded reader panic: {what}");
            seen.push(what);
        }
    }
}

/// A per-process scratch file with the given extension (the loader detects the format by name and
/// content, as it does for a user's file). In /dev/shm when there is one: no disk writes per input.
pub fn scratch(ext: &str) -> PathBuf {
    let dir = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("persona-lab-fuzz-{}.{ext}", std::process::id()))
}

/// Load `bytes` as an export with the given extension and, when it loads, run what the app runs next:
/// the feature profile, the transform and a small clustering. Errors are fine; panics are not.
pub fn load_and_analyse(bytes: &[u8], ext: &str) {
    let path = scratch(ext);
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    analyse(
        &path,
        &LoadOptions::default(),
        &FeatureConfig::default(),
        None,
        None,
    );
}

/// Differential: an export read streamed (in batches of a size the input's first byte picks, 16 bytes
/// to 2 KB, into 1 to 4 parts by user) must give the profile of the export read whole, bit for bit,
/// whenever both load and both profile. Either may refuse what the other reads (a batch that
/// contradicts an earlier one is refused by name); a panic, or two different profiles, is a finding.
pub fn streamed_equals_whole(bytes: &[u8], ext: &str) {
    let Some((&cut, rest)) = bytes.split_first() else {
        return;
    };
    let path = scratch(ext);
    if std::fs::write(&path, rest).is_err() {
        return;
    }
    let streaming = data::stream::Streaming {
        batch_bytes: 16 << (cut % 8),
        parts: 1 + (cut / 8 % 4) as usize,
    };
    let opts = LoadOptions {
        streaming: Some(streaming),
        ..LoadOptions::default()
    };
    let (whole, streamed) = match (
        data::load(&path, &LoadOptions::default()),
        data::load(&path, &opts),
    ) {
        (Ok(w), Ok(s)) => (w, s),
        (w, s) => {
            for e in [w.err(), s.err()].iter().flatten() {
                note_guarded(e);
            }
            return;
        }
    };
    let cfg = FeatureConfig::default();
    let (Ok(a), Ok(b)) = (
        features::compute_profile(&whole, &cfg),
        features::compute_profile(&streamed, &cfg),
    ) else {
        return;
    };
    assert_eq!(a.features, b.features, "streamed features differ");
    assert!(
        a.table.equals_missing(&b.table),
        "streamed profile differs:\n{:?}\n{:?}",
        a.table,
        b.table
    );
}

/// The analysis path of the app for a file and settings; `params` None is k-means with k = 3.
pub fn analyse(
    path: &Path,
    opts: &LoadOptions,
    cfg: &FeatureConfig,
    spec: Option<TransformSpec>,
    params: Option<SegmentParams>,
) {
    let loaded = match data::load(path, opts) {
        Ok(l) => l,
        Err(e) => return note_guarded(&e),
    };
    // What the summary prints.
    let _ = loaded.n_users();
    let _ = loaded.time_span();
    let Ok(profile) = features::compute_profile(&loaded, cfg) else {
        return;
    };
    if profile.n_users() < 2 {
        return;
    }
    let spec = spec.unwrap_or_else(|| TransformSpec::default_for(&profile));
    let mut params = params.unwrap_or_else(|| SegmentParams::new(Method::KMeans, 3));
    params.n_init = params.n_init.min(3);
    let settings = RunSettings {
        params,
        silhouette: SilhouetteOptions::default(),
    };
    let _ = pipeline::cluster_profile(&profile, &spec, &settings, &Job::silent());
}

/// A small real export (the sample generator, 40 users), written once per process: the data the
/// project target's settings are applied to.
pub fn small_export() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = scratch("sample.csv");
        let opts = persona_lab::sample::SampleOptions {
            users: 40,
            seed: 7,
            days: 30,
            style: persona_lab::sample::SampleStyle::Ga4,
        };
        persona_lab::sample::write_sample(&opts, &path, None).expect("the sample generator writes");
        path
    })
}

/// Parse a project file and, when it parses, open it as the app does: its load options, feature
/// settings, transform and clustering parameters applied to a small real export.
pub fn project(text: &str) {
    let Ok(p) = Project::parse(text, Path::new("fuzz.plab")) else {
        return;
    };
    // Writing it back must give a file that reads the same.
    if let Ok(again) = ron::ser::to_string(&p) {
        let back = Project::parse(&again, Path::new("again.plab"))
            .expect("a project that was read must read again after writing");
        assert_eq!(
            ron::ser::to_string(&back).ok(),
            Some(again),
            "a project must write the same after a round trip"
        );
    }
    let _ = persona_lab::rules::validate(
        &p.rules,
        &persona_lab::rules::Known {
            personas: p
                .personas
                .iter()
                .map(|x| (x.id.as_str(), x.name.as_str()))
                .collect(),
            features: vec!["sessions", "recency_days"],
            scores: vec!["churn_risk"],
            empty_features: vec!["recency_days"],
        },
    );
    analyse(
        small_export(),
        &p.load_options,
        &p.feature_config,
        p.spec.clone(),
        Some(p.params.clone()),
    );
}

/// Parse a rule set and, when it parses, do what `verify` and `decide` do with it.
pub fn ruleset(text: &str) {
    let Ok(rs) = RuleSet::from_ron(text) else {
        return;
    };
    let _ = rs.validate();
    let _ = persona_lab::ruleset::checksum::check(&rs);
    let _ = rs.known();
    let text = rs
        .to_ron()
        .expect("a rule set that was read can be written");
    let back = RuleSet::from_ron(&text).expect("a written rule set reads again");
    assert_eq!(
        back.to_ron().ok(),
        Some(text),
        "a rule set must write the same after a round trip"
    );
    // Decide for a few users: every feature present, none present, odd values.
    let names: Vec<String> = rs.features.profile_features.clone();
    let values = [1.0, 0.0, -1.0, 1e12, f64::MIN_POSITIVE];
    let session: Session = serde_json::from_str(
        r#"{"now":"2025-01-02T10:00:00Z","events":[{"event":"view_item","time":"2025-01-02T09:59:00Z"},{"event":"view_item","time":"2025-01-02T09:58:00Z"}],"shown":[]}"#,
    )
    .expect("the fixed session parses");
    for (i, v) in values.iter().enumerate() {
        let mut p: UserProfile =
            serde_json::from_str(r#"{"user_id":"u1","consent":true}"#).expect("fixed profile");
        p.user_id = format!("user-{i}");
        for n in &names {
            p.features.insert(n.clone(), Some(*v));
        }
        let _ = rs.decide(&p, &session);
    }
    let empty: UserProfile = serde_json::from_str(r#"{"user_id":"u0"}"#).expect("fixed profile");
    let _ = rs.decide(&empty, &Session::default());
}
