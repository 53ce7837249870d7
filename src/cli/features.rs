//! `persona-lab features`: export → per-user profile table (raw features + engagement score).

use persona_lab::features::ProfileTransform as _;
use std::path::PathBuf;

use clap::Args;
use persona_lab::data::{self, cols, timestamp};
use persona_lab::error::FeatureError;
use persona_lab::features::{self, FeatureChoice, FeatureConfig, TransformSpec, transform};
use polars::prelude::*;

use super::args::{FeatureArgs, MappingArgs};
use persona_lab::summary;

#[derive(Debug, Args)]
pub struct FeaturesCmd {
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Output file: .csv, .csv.gz, .parquet, .ndjson or .avro
    #[arg(long, short)]
    pub out: PathBuf,
}

pub fn feature_config(f: &FeatureArgs) -> Result<FeatureConfig, String> {
    let as_of = match &f.as_of {
        None => None,
        Some(s) => Some(
            timestamp::parse_instant(s)
                .ok_or_else(|| format!("--as-of: {s:?} is not a date (use YYYY-MM-DD)"))?,
        ),
    };
    Ok(FeatureConfig {
        top_events: f.top_events,
        half_life_days: f.half_life,
        session_gap_minutes: f.session_gap,
        as_of,
        one_hot_attributes: f.one_hot_attributes,
        ..Default::default()
    })
}

pub fn transform_spec(
    f: &FeatureArgs,
    profile: &features::Profile,
) -> Result<TransformSpec, String> {
    let mut spec = TransformSpec::default_for(profile);
    spec.scaler = f.scaler.parse()?;
    if !f.features.is_empty() {
        spec.features = f.features.iter().map(FeatureChoice::new).collect();
    }
    // By hash: a users table of 100,000 columns made this check quadratic (minutes).
    let available: std::collections::HashSet<&str> =
        profile.features.iter().map(String::as_str).collect();
    for id in spec.features.iter().map(|c| c.id.clone()) {
        if !available.contains(id.as_str()) {
            let why = profile
                .unavailable
                .iter()
                .find(|(f, _)| *f == id)
                .map(|(_, w)| format!(": {w}"))
                .unwrap_or_else(|| format!("; available: {}", profile.features.join(", ")));
            return Err(format!("feature {id:?} is not available{why}"));
        }
    }
    for w in &f.weights {
        let (id, val) = w
            .split_once('=')
            .ok_or_else(|| format!("--weights: {w:?} is not ID=WEIGHT"))?;
        let val: f64 = val
            .trim()
            .parse()
            .map_err(|_| format!("--weights: weight of {id:?} is not a number: {val:?}"))?;
        let choice = spec
            .features
            .iter_mut()
            .find(|c| c.id == id.trim())
            .ok_or_else(|| format!("--weights: {id:?} is not among the selected features"))?;
        choice.weight = val;
    }
    if f.no_log.iter().any(|id| id == "*") {
        spec.features.iter_mut().for_each(|c| c.log1p = Some(false));
    }
    for (list, on) in [(&f.no_log, false), (&f.log, true)] {
        for id in list.iter().filter(|id| *id != "*") {
            let choice = spec
                .features
                .iter_mut()
                .find(|c| &c.id == id)
                .ok_or_else(|| format!("{id:?} is not among the selected features"))?;
            choice.log1p = Some(on);
        }
    }
    Ok(spec)
}

pub fn run(cmd: &FeaturesCmd) -> Result<(), String> {
    let opts = cmd.mapping.load_options()?;
    let cfg = feature_config(&cmd.features)?;
    let mut timer = persona_lab::timing::Timer::start();
    let loaded = data::load(&cmd.mapping.input, &opts).map_err(|e| e.to_string())?;
    timer.lap("load");
    let profile = features::compute_profile(&loaded, &cfg).map_err(|e| e.to_string())?;
    timer.lap("features");
    let spec = transform_spec(&cmd.features, &profile)?;
    let mut table = profile.table.clone();
    // Raw features are still worth writing when no score can be fitted (one user, constant data).
    let fitted = match transform::fit(&profile, &spec) {
        Ok(fitted) => {
            let matrix = fitted.matrix(&profile).map_err(|e| e.to_string())?;
            let scores = fitted.scores(&matrix);
            table
                .with_column(Column::new("engagement_score".into(), scores))
                .map_err(|e| e.to_string())?;
            Some(fitted)
        }
        Err(FeatureError::NoFeatures(why)) => {
            table
                .with_column(Column::full_null(
                    "engagement_score".into(),
                    table.height(),
                    &DataType::Float64,
                ))
                .map_err(|e| e.to_string())?;
            say_err!("warning: no engagement score: no usable feature ({why})");
            None
        }
        Err(e) => return Err(e.to_string()),
    };
    timer.lap("transform");
    let defused =
        persona_lab::output::write_table(&mut table, &cmd.out).map_err(|e| e.to_string())?;
    super::warn_defused(&defused, &cmd.out);
    timer.lap("write");
    let users = summary::users_of(&loaded, &profile, &cfg);
    say_part!("{}", summary::load_summary(&loaded, users));
    if let Some(fitted) = &fitted {
        say_part!("{}", summary::profile_summary(&profile, fitted));
    }
    timer.lap("summary");
    if profile.n_users() < 2 {
        say_err!("warning: only one user; segmenting needs at least two");
    }
    say!(
        "wrote      {} ({} users, columns: {}, {} features, engagement_score)",
        cmd.out.display(),
        table.height(),
        cols::USER,
        profile.features.len()
    );
    Ok(())
}
