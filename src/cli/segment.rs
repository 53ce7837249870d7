//! `persona-lab sweep` and `persona-lab segment`: export → profile → clustering matrix → k sweep or
//! segmentation, with the assignments CSV, the report JSON and the rule set as outputs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use persona_lab::cluster::{self, Method, Points, SegmentParams, SilhouetteOptions};
use persona_lab::data::{self, Loaded};
use persona_lab::features::{self, FeatureConfig, Profile, TransformSpec};
use persona_lab::job::Job;
use persona_lab::pipeline::{self, ClusterRun, RunSettings};
use persona_lab::ruleset;
use serde_json::json;

use super::args::{FeatureArgs, MappingArgs};
use persona_lab::error::ClusterError;

/// Clustering settings shared by `sweep` and `segment`.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// kmeans, ward, average, complete or single
    #[arg(long, default_value = "kmeans")]
    pub method: String,
    /// Seed of every random choice (k-means++ draws, samples); stored with the result
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// k-means restarts (the lowest inertia wins)
    #[arg(long, default_value_t = 10)]
    pub n_init: usize,
    /// k-means iteration limit per restart
    #[arg(long, default_value_t = 300)]
    pub max_iter: usize,
    /// k-means: fit on a seeded sample of this many users, then assign everyone to the nearest centroid
    #[arg(long, value_name = "N")]
    pub fit_sample: Option<usize>,
    /// Hierarchical: cluster at most this many users exactly (default 50000 for ward, 20000 otherwise);
    /// above it a seeded sample is clustered and the rest assigned to the nearest centroid
    #[arg(long, value_name = "N")]
    pub exact_limit: Option<usize>,
    /// Silhouette: exact up to this many users, else on a stratified sample of this size
    #[arg(long, default_value_t = cluster::silhouette::DEFAULT_EXACT_LIMIT, value_name = "N")]
    pub silhouette_limit: usize,
    /// Print progress to stderr
    #[arg(long)]
    pub progress: bool,
}

impl ClusterArgs {
    fn params(&self, k: usize) -> Result<SegmentParams, String> {
        let method: Method = self
            .method
            .parse()
            .map_err(|e: persona_lab::runtime::segments::UnknownMethod| e.to_string())?;
        let p = SegmentParams {
            seed: self.seed,
            n_init: self.n_init,
            max_iter: self.max_iter,
            fit_sample: self.fit_sample,
            exact_limit: self.exact_limit,
            ..SegmentParams::new(method, k)
        };
        // Checked before any work, naming the flag.
        p.check().map_err(|e| match &e {
            ClusterError::InvalidParameter { parameter, .. } => {
                format!("{e} (--{})", parameter.replace('_', "-"))
            }
            _ => e.to_string(),
        })?;
        Ok(p)
    }

    fn silhouette(&self) -> SilhouetteOptions {
        SilhouetteOptions {
            exact_limit: self.silhouette_limit.max(2),
            sample_size: None,
            seed: self.seed,
        }
    }

    fn job(&self) -> Job {
        if self.progress {
            let last = std::sync::Mutex::new(String::new());
            Job::with_reporter(move |stage, f| {
                let line = format!("{stage} {:>3.0}%", f * 100.0);
                if let Ok(mut l) = last.lock()
                    && *l != line
                {
                    say_err!("{line}");
                    *l = line;
                }
            })
        } else {
            Job::silent()
        }
    }
}

/// What every clustering run reads: the export and its mapping, the features
/// and the cluster settings (sweep and segment share it).
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub features: FeatureArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct SweepCmd {
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, default_value_t = 2)]
    pub k_min: usize,
    #[arg(long, default_value_t = 10)]
    pub k_max: usize,
    /// Re-cluster this many seeded 80% subsamples per k to measure stability (0: skip)
    #[arg(long, default_value_t = persona_lab::cluster::stability::DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Print the sweep as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SegmentCmd {
    #[command(flatten)]
    pub run: RunArgs,
    /// Number of segments
    #[arg(long)]
    pub k: usize,
    /// Write one row per user: user_id, segment, persona, silhouette, distance (.csv, .csv.gz, .parquet)
    #[arg(long, value_name = "FILE")]
    pub assignments: Option<PathBuf>,
    /// Write the full result as JSON
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the rule set (RON; JSON when the name ends in .json): feature spec, centroids, personas
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Sign the rule set with this key file (HMAC-SHA256), so a deployment holding the key can tell
    /// it from any other file (`verify --key`, `serve --verify-key`)
    #[arg(long, value_name = "FILE", requires = "out")]
    pub sign_key: Option<PathBuf>,
    /// Write a project file (.plab) the app opens to the same segments, to name personas and write rules
    #[arg(long, value_name = "FILE")]
    pub project: Option<PathBuf>,
}

/// Everything up to the feature spec.
pub struct Prepared {
    pub loaded: Loaded,
    pub config: FeatureConfig,
    pub profile: Profile,
    pub spec: TransformSpec,
}

pub fn prepare(mapping: &MappingArgs, f: &FeatureArgs) -> Result<Prepared, String> {
    let opts = mapping.load_options()?;
    let config = super::features::feature_config(f)?;
    let loaded = data::load(&mapping.input, &opts).map_err(|e| e.to_string())?;
    let profile = features::compute_profile(&loaded, &config).map_err(|e| e.to_string())?;
    if profile.n_users() < 2 {
        return Err(persona_lab::error::ClusterError::TooFewUsers(profile.n_users()).to_string());
    }
    let spec = super::features::transform_spec(f, &profile)?;
    Ok(Prepared {
        loaded,
        config,
        profile,
        spec,
    })
}

pub fn run_sweep(cmd: &SweepCmd) -> Result<(), String> {
    let prep = prepare(&cmd.run.mapping, &cmd.run.features)?;
    let (_, matrix) =
        pipeline::clustering_matrix(&prep.profile, &prep.spec).map_err(|e| e.to_string())?;
    let p = Points::of(&matrix);
    let params = cmd.run.cluster.params(cmd.k_min)?;
    let sweep = cluster::sweep(
        &p,
        &params,
        cmd.k_min,
        cmd.k_max,
        &cmd.run.cluster.silhouette(),
        cmd.resamples,
        &cmd.run.cluster.job(),
    )
    .map_err(|e| e.to_string())?;
    if cmd.json {
        let out = json!({
            "method": params.method.name(),
            "seed": params.seed,
            "users": p.n,
            "features": matrix.columns,
            "silhouette_sample_size": sweep.silhouette_sample_size,
            "recommended_k": sweep.recommended_k,
            "elbow_k": sweep.elbow_k,
            "reasons": sweep.reasons,
            "weak_structure": sweep.weak_structure,
            "resamples": sweep.resamples,
            "points": sweep.points,
        });
        say!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    say!(
        "sweep      {} users x {} features ({}), {}, seed {}",
        p.n,
        p.d,
        matrix.columns.join(", "),
        params.method,
        params.seed
    );
    if sweep.silhouette_sample_size < p.n {
        say!(
            "silhouette on a stratified sample of {} users",
            sweep.silhouette_sample_size
        );
    }
    say!(
        "{:>4}  {:>14}  {:>10}  {:>9}  {:>8}",
        "k",
        "inertia",
        "silhouette",
        "stability",
        "smallest"
    );
    for pt in &sweep.points {
        let mut mark = String::new();
        if pt.k == sweep.recommended_k {
            mark.push_str("  <- recommended");
        }
        if Some(pt.k) == sweep.elbow_k {
            mark.push_str("  <- elbow");
        }
        let stability = pt
            .stability
            .map_or_else(|| "-".to_string(), |s| format!("{s:.3}"));
        say!(
            "{:>4}  {:>14.4}  {:>10.4}  {:>9}  {:>7.1}%{mark}",
            pt.k,
            pt.inertia,
            pt.silhouette,
            stability,
            pt.min_share * 100.0
        );
    }
    if sweep.resamples > 0 {
        say!(
            "stability  adjusted Rand index against {} re-clusterings of 80% subsamples",
            sweep.resamples
        );
    }
    say!("recommended k = {}", sweep.recommended_k);
    for r in &sweep.reasons {
        say!("  {r}");
    }
    if sweep.weak_structure {
        say!("{}", persona_lab::cluster::sweep::WEAK_STRUCTURE_NOTE);
    }
    Ok(())
}

pub fn run_segment(cmd: &SegmentCmd) -> Result<(), String> {
    let mut timer = persona_lab::timing::Timer::start();
    let prep = prepare(&cmd.run.mapping, &cmd.run.features)?;
    timer.lap("load + features");
    let settings = RunSettings {
        params: cmd.run.cluster.params(cmd.k)?,
        silhouette: cmd.run.cluster.silhouette(),
    };
    let run =
        pipeline::cluster_profile(&prep.profile, &prep.spec, &settings, &cmd.run.cluster.job())
            .map_err(|e| e.to_string())?;
    timer.lap("segment, silhouette, profiles");
    say_part!("{}", summary(&run));
    if let Some(path) = &cmd.assignments {
        let names: Vec<String> = run.suggested.iter().map(|p| p.name.clone()).collect();
        let defused = run
            .write_assignments(path, &names)
            .map_err(|e| e.to_string())?;
        super::warn_defused(&defused, path);
        say!(
            "wrote      {} ({} users)",
            path.display(),
            run.matrix.n_rows
        );
    }
    if let Some(path) = &cmd.report {
        let report = report(&run);
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        persona_lab::output::write_bytes(path, text.as_bytes()).map_err(|e| e.to_string())?;
        say!("wrote      {}", path.display());
    }
    if let Some(path) = &cmd.out {
        let rs = run.rule_set(
            source(
                &prep.loaded,
                &cmd.run.mapping.input,
                run.matrix.n_rows,
                cmd.run.mapping.hash_ids,
            )?,
            &prep.config,
            &prep.profile,
        );
        let key = cmd.sign_key.as_deref().map(ruleset::read_key).transpose()?;
        ruleset::write_signed(&rs, path, key.as_deref()).map_err(|e| e.to_string())?;
        say!(
            "wrote      {} (rule set: features, {} segment centroids, personas)",
            path.display(),
            run.segmentation.k
        );
    }
    if let Some(path) = &cmd.project {
        let project = project(cmd, &prep, &run, &settings)?;
        project.write(path).map_err(|e| e.to_string())?;
        say!(
            "wrote      {} (project: open it in the app)",
            path.display()
        );
    }
    timer.lap("write");
    Ok(())
}

/// The project the app would save after this run: same source, settings and seed, so it reopens to the
/// same segments; the suggested personas; no rules yet.
fn project(
    cmd: &SegmentCmd,
    prep: &Prepared,
    run: &ClusterRun,
    settings: &RunSettings,
) -> Result<persona_lab::project::Project, String> {
    let input = &cmd.run.mapping.input;
    let source = input.canonicalize().unwrap_or_else(|_| input.clone());
    Ok(persona_lab::project::Project {
        format_version: persona_lab::project::PROJECT_VERSION,
        source_fingerprint: ruleset::fingerprint(&source)
            .map_err(|e| format!("{}: cannot read: {e}", input.display()))?,
        source,
        load_options: cmd.run.mapping.load_options()?,
        ids_hashed: cmd.run.mapping.hash_ids,
        feature_config: prep.config.clone(),
        spec: Some(prep.spec.clone()),
        params: settings.params.clone(),
        sweep_k: (2, 10),
        personas: run.suggested.clone(),
        rules: Vec::new(),
        guardrails: Default::default(),
        predict: None,
    })
}

fn source(
    loaded: &Loaded,
    input: &Path,
    users: usize,
    ids_hashed: bool,
) -> Result<ruleset::Source, String> {
    ruleset::describe_source(input, loaded.shape, users, ids_hashed)
        .map_err(|e| format!("{}: cannot read: {e}", input.display()))
}

fn summary(run: &ClusterRun) -> String {
    let (seg, sil, profiles) = (&run.segmentation, &run.silhouette, &run.profiles);
    let mut s = String::new();
    let m = &run.matrix;
    let _ = writeln!(
        s,
        "segments   k = {}, {}, seed {}{}: {} users x {} features ({})",
        seg.k,
        seg.params.method,
        seg.params.seed,
        if seg.params.method == Method::KMeans {
            format!(", n_init {}", seg.params.n_init)
        } else {
            String::new()
        },
        m.n_rows,
        m.n_cols,
        m.columns.join(", ")
    );
    let _ = writeln!(
        s,
        "quality    inertia {:.4}, mean silhouette {:.4} ({})",
        seg.inertia,
        sil.mean,
        if sil.exact {
            "all users".to_string()
        } else {
            format!("stratified sample of {} users", sil.sample_size)
        }
    );
    let _ = writeln!(
        s,
        "{:>4}  {:>8}  {:>6}  {:>10}  distinguishing features (z-score of the mean)",
        "id", "users", "share", "silhouette"
    );
    for p in profiles {
        let top: Vec<String> = p.top.iter().map(|(f, z)| format!("{f} {z:+.2}")).collect();
        let _ = writeln!(
            s,
            "{:>4}  {:>8}  {:>5.1}%  {:>10.4}  {}",
            p.id,
            p.size,
            100.0 * p.share,
            sil.cluster_means[p.id],
            top.join(", ")
        );
    }
    // The drafted personas, in words (the rule set and the app start from these).
    for p in &run.suggested {
        let _ = writeln!(s, "persona {:>2} {}: {}", p.segment, p.name, p.description);
    }
    // What each segment is worth (revenue, buyers), against everyone.
    let everyone = persona_lab::cluster::everyone(profiles);
    for p in profiles {
        if let Some(v) = p.value_line(everyone.as_ref()) {
            let _ = writeln!(s, "value   {:>2} {v}", p.id);
        }
    }
    for n in &seg.notes {
        let _ = writeln!(s, "note       {n}");
    }
    s
}

fn report(run: &ClusterRun) -> serde_json::Value {
    let (seg, sil, profiles) = (&run.segmentation, &run.silhouette, &run.profiles);
    let names = &run.matrix.columns;
    let clusters: Vec<serde_json::Value> = profiles
        .iter()
        .map(|p| {
            let raw = cluster::centroid_raw(&run.fitted, seg.centroid(p.id));
            json!({
                "id": p.id,
                "size": p.size,
                "share": p.share,
                "silhouette_mean": sil.cluster_means[p.id],
                "centroid": names.iter().cloned().zip(raw).map(|(n, v)| (n, json!(v))).collect::<serde_json::Map<String, serde_json::Value>>(),
                "centroid_scaled": seg.centroid(p.id),
                "top_features": p.top.iter().map(|(f, z)| json!({"feature": f, "z": z})).collect::<Vec<_>>(),
                "features": p.features,
                "attributes": p.attributes.iter().map(|a| json!({
                    "attribute": a.attribute,
                    "values": a.values.iter().map(|(v, s)| json!({"value": v, "share": s})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "value": p.value,
            })
        })
        .collect();
    json!({
        "app_version": env!("CARGO_PKG_VERSION"),
        "users": run.matrix.n_rows,
        "k": seg.k,
        "method": seg.params.method.name(),
        "seed": seg.params.seed,
        "n_init": seg.params.n_init,
        "inertia": seg.inertia,
        "n_iter": seg.n_iter,
        "converged": seg.converged,
        "fitted_on": seg.fitted_on.unwrap_or(run.matrix.n_rows),
        "silhouette_mean": sil.mean,
        "silhouette_sample_size": sil.sample_size,
        "value": cluster::everyone(profiles),
        "clusters": clusters,
        "linkage": seg.dendrogram.as_ref().map(|d| d.linkage_matrix()),
        "features": {
            "names": names,
            "weights": run.fitted.features.iter().map(|f| f.weight).collect::<Vec<_>>(),
            "transforms": run.fitted.features,
            "scaler": run.fitted.scaler,
            "excluded": run.fitted.excluded,
        },
        "notes": seg.notes,
    })
}
