//! `persona-lab predict`: churn risk or conversion score for every user, with held-out metrics, a
//! report, the scores table, and the model added to a rule set so rules can condition on it.

use persona_lab::features::ProfileTransform as _;
use std::path::PathBuf;

use clap::Args;
use persona_lab::data::{self, timestamp};
use persona_lab::job::Job;
use persona_lab::predict::{self, ForestParams, ModelKind, PredictParams, Prediction, Target};
use persona_lab::ruleset::RuleSet;
use polars::prelude::*;
use serde_json::json;

use super::args::{FeatureArgs, MappingArgs};

#[derive(Debug, Args)]
pub struct PredictCmd {
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub features: FeatureArgs,
    /// What to predict: churn (no activity in the outcome window) or convert (a purchase in it)
    #[arg(long, default_value = "churn")]
    pub target: String,
    /// Features from events up to this date, labels from the window after it (default: the last
    /// event minus the horizon)
    #[arg(long, value_name = "DATE")]
    pub cutoff: Option<String>,
    /// Length of the outcome window after the cutoff, in days
    #[arg(long, default_value_t = 30)]
    pub horizon_days: u32,
    /// convert: count a user as converted when the window's revenue exceeds this (default: any purchase)
    #[arg(long, value_name = "AMOUNT")]
    pub revenue_threshold: Option<f64>,
    /// Per-user tables: the column holding the label (0 / 1)
    #[arg(long, value_name = "COL")]
    pub label_col: Option<String>,
    /// logistic or forest
    #[arg(long, default_value = "logistic")]
    pub model: String,
    /// Logistic regression: inverse regularisation strength (as scikit-learn's C)
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Forest: number of trees
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Forest: maximum depth (0: unlimited)
    #[arg(long, default_value_t = 8)]
    pub max_depth: usize,
    /// Forest: fewest users in a leaf
    #[arg(long, default_value_t = 5)]
    pub min_samples_leaf: usize,
    /// Share of users held out to measure the model
    #[arg(long, default_value_t = 0.25)]
    pub test_share: f64,
    /// Also cross-validate with K stratified folds
    #[arg(long, value_name = "K")]
    pub folds: Option<usize>,
    /// Seed of the split, the folds and the forest
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Decision threshold for accuracy, precision, recall and the confusion matrix
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Risk bands: low below the first, high from the second
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.3,0.7",
        value_name = "LOW,HIGH"
    )]
    pub bands: Vec<f64>,
    /// Write metrics, class balance and the model's parameters as JSON
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write user_id,score,band for every user known before the cutoff (.csv, .csv.gz, .parquet)
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
    /// Add the model to this rule set (replacing a model of the same name), so rules can use the score
    #[arg(long, value_name = "FILE")]
    pub into: Option<PathBuf>,
    /// With --into: accept a rule set edited by hand since it was written (its edits are sealed
    /// with the new checksum)
    #[arg(long)]
    pub accept_edits: bool,
    /// With --into: sign the rule set with this key file (HMAC-SHA256). A signed rule set rewritten
    /// without it loses its signature (said in the output)
    #[arg(long, value_name = "FILE", requires = "into")]
    pub sign_key: Option<PathBuf>,
    /// Write the model's input: user_id, the scaled features, label and held-out flag (to check the
    /// model in another tool)
    #[arg(long, value_name = "FILE")]
    pub design: Option<PathBuf>,
}

pub fn params(cmd: &PredictCmd) -> Result<PredictParams, String> {
    let cutoff = match &cmd.cutoff {
        None => None,
        Some(s) => Some(
            timestamp::parse_instant(s)
                .ok_or_else(|| format!("--cutoff: {s:?} is not a date (use YYYY-MM-DD)"))?,
        ),
    };
    let bands = match cmd.bands[..] {
        [a, b] if (0.0..=1.0).contains(&a) && (a..=1.0).contains(&b) => (a, b),
        _ => {
            return Err(format!(
                "--bands: two increasing probabilities are needed, e.g. 0.3,0.7; got {:?}",
                cmd.bands
            ));
        }
    };
    Ok(PredictParams {
        target: Target::parse(&cmd.target).map_err(|e| e.to_string())?,
        cutoff,
        horizon_days: cmd.horizon_days,
        revenue_threshold: cmd.revenue_threshold,
        label_col: cmd.label_col.clone(),
        model: ModelKind::parse(&cmd.model).map_err(|e| e.to_string())?,
        c: cmd.c,
        forest: ForestParams {
            n_trees: cmd.trees,
            max_depth: (cmd.max_depth > 0).then_some(cmd.max_depth),
            min_samples_leaf: cmd.min_samples_leaf,
            max_features: None,
            seed: cmd.seed,
        },
        test_share: cmd.test_share,
        folds: cmd.folds,
        seed: cmd.seed,
        threshold: cmd.threshold,
        bands,
    })
}

pub fn run(cmd: &PredictCmd) -> Result<(), String> {
    let params = params(cmd)?;
    // Read (and refuse) the target rule set before the work, and again when writing (it may change).
    if let Some(path) = &cmd.into {
        read_into(cmd, path)?;
    }
    let opts = cmd.mapping.load_options()?;
    let config = super::features::feature_config(&cmd.features)?;
    let loaded = data::load(&cmd.mapping.input, &opts).map_err(|e| e.to_string())?;
    let input = cmd.mapping.input.display().to_string();
    let prep = predict::prepare(&loaded, &config, &params).map_err(|e| format!("{input}: {e}"))?;
    let spec = if cmd.features.features.is_empty() {
        None
    } else {
        Some(super::features::transform_spec(
            &cmd.features,
            &prep.profile,
        )?)
    };
    let p = predict::train(&prep, spec.as_ref(), &params, &Job::silent())
        .map_err(|e| format!("{input}: {e}"))?;
    say_part!("{}", summary(&p));
    // With a rule set to add the model to: the score per persona of its segments.
    let by_persona = match &cmd.into {
        Some(path) => persona_risk(&read_into(cmd, path)?, &loaded, &p),
        None => None,
    };
    if let Some((names, risk)) = &by_persona {
        say_part!("{}", persona_lines(&p, names, risk));
    }
    if let Some(path) = &cmd.scores {
        let bands: Vec<&str> = p.scores.iter().map(|&s| p.model.band(s)).collect();
        let mut df = DataFrame::new(
            p.users.len(),
            vec![
                Column::new(data::cols::USER.into(), &p.users),
                Column::new("score".into(), &p.scores),
                Column::new("band".into(), bands),
            ],
        )
        .map_err(|e| e.to_string())?;
        let defused = persona_lab::output::write_table(&mut df, path).map_err(|e| e.to_string())?;
        super::warn_defused(&defused, path);
        say!("wrote      {} ({} users)", path.display(), p.users.len());
    }
    if let Some(path) = &cmd.report {
        let mut r = report(&p);
        if let Some((names, risk)) = &by_persona {
            r["by_persona"] = persona_json(names, risk);
        }
        let text = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?;
        persona_lab::output::write_bytes(path, text.as_bytes()).map_err(|e| e.to_string())?;
        say!("wrote      {}", path.display());
    }
    if let Some(path) = &cmd.design {
        write_design(&p, &prep.profile, path)?;
        say!("wrote      {}", path.display());
    }
    if let Some(path) = &cmd.into {
        let mut rs = read_into(cmd, path)?;
        rs.set_model(p.model.clone());
        let key = cmd
            .sign_key
            .as_deref()
            .map(persona_lab::ruleset::read_key)
            .transpose()?;
        let was_signed = rs.checksum.as_ref().is_some_and(|c| c.signature.is_some());
        persona_lab::ruleset::write_signed(&rs, path, key.as_deref()).map_err(|e| e.to_string())?;
        if was_signed && key.is_none() {
            say!(
                "note       {} was signed; written without --sign-key, it no longer is",
                path.display()
            );
        }
        say!(
            "wrote      {} (model {:?} added; rules can test it)",
            path.display(),
            p.model.name
        );
    }
    Ok(())
}

/// The model's scores per persona of `rs`'s segments (the export's users put in them as `assign`
/// does), with each persona's name; None, said, when the rule set cannot place this export's users.
fn persona_risk(
    rs: &RuleSet,
    loaded: &data::Loaded,
    p: &Prediction,
) -> Option<(Vec<String>, predict::SegmentRisk)> {
    let applied = match persona_lab::ruleset::apply(rs, loaded) {
        Ok(a) => a,
        Err(e) => {
            say!("note       no score per persona: the rule set's segments: {e}");
            return None;
        }
    };
    let k = rs.segments.k;
    let risk = predict::profile_risk(p, &applied.profile, &applied.labels, k);
    let names = (0..k).map(|s| rs.segment_name(s)).collect();
    Some((names, risk))
}

/// "persona    Lapsed visitors: 299 scored, mean 0.676, 47.8% high; revenue at risk 1900 (39% of
/// their revenue)", one line a persona.
fn persona_lines(p: &Prediction, names: &[String], risk: &predict::SegmentRisk) -> String {
    let mut s = String::new();
    for seg in &risk.by_segment {
        let name = persona_lab::terminal::clean_line(&names[seg.segment]);
        if seg.users == 0 {
            s.push_str(&format!("persona    {name}: no user scored\n"));
            continue;
        }
        s.push_str(&format!(
            "persona    {name}: {} scored, mean {:.3}, {:.1}% high",
            seg.users,
            seg.mean,
            100.0 * seg.high_share
        ));
        if let Some(a) = risk.at_risk.as_ref().and_then(|a| a.get(seg.segment)) {
            s.push_str(&format!(
                "; {} {}",
                predict::AtRisk::heading(p.params.target),
                a.amount()
            ));
        }
        s.push('\n');
    }
    s
}

fn persona_json(names: &[String], risk: &predict::SegmentRisk) -> serde_json::Value {
    risk.by_segment
        .iter()
        .map(|seg| {
            let a = risk.at_risk.as_ref().and_then(|a| a.get(seg.segment));
            json!({
                "segment": seg.segment,
                "persona": names[seg.segment],
                "users_scored": seg.users,
                "mean_score": (seg.users > 0).then_some(seg.mean),
                "high_share": seg.high_share,
                "revenue": a.map(|a| a.revenue),
                "revenue_high": a.map(|a| a.high),
            })
        })
        .collect()
}

fn date(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn summary(p: &Prediction) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let m = &p.metrics;
    let _ = writeln!(
        s,
        "target     {} ({}){}",
        p.model.name,
        match p.params.target {
            Target::Churn => format!(
                "no activity in the {} days after the cutoff",
                p.params.horizon_days
            ),
            Target::Convert => format!(
                "a purchase in the {} days after the cutoff",
                p.params.horizon_days
            ),
        },
        p.cutoff
            .map(|c| format!(", cutoff {}", date(c)))
            .unwrap_or_default()
    );
    let share = 100.0 * p.positives as f64 / (p.positives + p.negatives).max(1) as f64;
    let _ = writeln!(
        s,
        "balance    {} positive, {} negative ({share:.1}% positive)\n\
         model      {:?}, fitted on {} users, measured on {} held out",
        p.positives,
        p.negatives,
        p.params.model,
        p.train_size(),
        m.n
    );
    let _ = writeln!(
        s,
        "held out   ROC AUC {:.4}  PR AUC {:.4}  accuracy {:.4} (always the larger class: {:.4})  precision {:.4}  recall {:.4} (threshold {})",
        m.roc_auc, m.pr_auc, m.accuracy, m.baseline_accuracy, m.precision, m.recall, m.threshold
    );
    if let Some(w) = &p.balance_warning {
        let _ = writeln!(s, "warning    {w}");
    }
    if let Some(h) = &p.horizon
        && h.days != p.params.horizon_days
    {
        let _ = writeln!(
            s,
            "window     {} days were used; the data suggest {} (--horizon-days {})",
            p.params.horizon_days,
            h.describe(),
            h.days
        );
    }
    let _ = writeln!(
        s,
        "confusion  TN {}  FP {}  FN {}  TP {}",
        m.confusion[0][0], m.confusion[0][1], m.confusion[1][0], m.confusion[1][1]
    );
    if let Some(cv) = &p.cv {
        let _ = writeln!(
            s,
            "cross-val  ROC AUC {:.4}  PR AUC {:.4} ({} folds, out-of-fold over all users)",
            cv.roc_auc,
            cv.pr_auc,
            p.params.folds.unwrap_or(0)
        );
    }
    let mut imp = p.importance.clone();
    imp.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let _ = writeln!(
        s,
        "{}",
        match p.params.model {
            ModelKind::Logistic => "coefficients (scaled features; positive raises the score)",
            ModelKind::Forest => "importance (mean decrease in impurity)",
        }
    );
    for (f, v) in imp.iter().take(10) {
        let _ = writeln!(s, "  {f:<28} {v:+.4}");
    }
    if let Some(c) = &p.collinearity {
        let _ = writeln!(s, "collinear  {}", c.describe(&|f| f.to_string()));
    }
    let counts = ["low", "medium", "high"]
        .map(|b| p.scores.iter().filter(|&&x| p.model.band(x) == b).count());
    let _ = writeln!(
        s,
        "bands      low {}  medium {}  high {} (thresholds {} / {})",
        counts[0], counts[1], counts[2], p.params.bands.0, p.params.bands.1
    );
    for n in &p.notes {
        let _ = writeln!(s, "note       {n}");
    }
    s
}

pub fn report(p: &Prediction) -> serde_json::Value {
    let model = match &p.model.model {
        predict::Fitted::Logistic(l) => json!({
            "kind": "logistic",
            "c": l.c,
            "intercept": l.intercept,
            "coefficients": p.importance.iter().map(|(f, w)| json!({"feature": f, "coefficient": w})).collect::<Vec<_>>(),
        }),
        predict::Fitted::Forest(f) => json!({
            "kind": "forest",
            "trees": f.trees.len(),
            "max_depth": p.params.forest.max_depth,
            "min_samples_leaf": p.params.forest.min_samples_leaf,
            "importance": p.importance.iter().map(|(f, w)| json!({"feature": f, "importance": w})).collect::<Vec<_>>(),
        }),
    };
    json!({
        "target": p.params.target,
        "score": p.model.name,
        "cutoff": p.cutoff.map(date),
        "horizon_days": p.params.horizon_days,
        "seed": p.params.seed,
        "class_balance": {"positive": p.positives, "negative": p.negatives},
        "train_size": p.train_size(),
        "test_size": p.metrics.n,
        "metrics": p.metrics,
        "cross_validation": p.cv,
        "bands": {"low_below": p.params.bands.0, "high_from": p.params.bands.1},
        "model": model,
        "features": p.model.transform.features,
        "collinearity": p.collinearity,
        "notes": p.notes,
        "balance_warning": p.balance_warning,
        "suggested_horizon": p.horizon,
    })
}

fn write_design(
    p: &Prediction,
    profile: &persona_lab::features::Profile,
    path: &std::path::Path,
) -> Result<(), String> {
    let m = p
        .model
        .transform
        .matrix(profile)
        .map_err(|e| e.to_string())?;
    let mut columns = vec![Column::new(data::cols::USER.into(), &m.users)];
    for (j, name) in m.columns.iter().enumerate() {
        let v: Vec<f64> = (0..m.n_rows).map(|i| m.data[i * m.n_cols + j]).collect();
        columns.push(Column::new(name.as_str().into(), v));
    }
    columns.push(Column::new(
        "label".into(),
        p.labels.iter().map(|&b| u32::from(b)).collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "test".into(),
        p.in_test.iter().map(|&b| u32::from(b)).collect::<Vec<_>>(),
    ));
    let mut df = DataFrame::new(m.n_rows, columns).map_err(|e| e.to_string())?;
    let defused = persona_lab::output::write_table(&mut df, path).map_err(|e| e.to_string())?;
    super::warn_defused(&defused, path);
    Ok(())
}

/// The rule set `--into` names, refused when it was edited by hand since it was written: adding the
/// model seals the file anew, and the edit would then pass `verify` as if exported.
fn read_into(cmd: &PredictCmd, path: &std::path::Path) -> Result<RuleSet, String> {
    use persona_lab::ruleset::checksum::{self, Integrity};
    let rs = RuleSet::read(path).map_err(|e| e.to_string())?;
    if let Integrity::Edited {
        changed,
        added,
        removed,
    } = checksum::check(&rs)
        && !cmd.accept_edits
    {
        let sections: Vec<String> = changed.into_iter().chain(added).chain(removed).collect();
        return Err(format!(
            "{}: the rule set was edited after it was written ({}); adding the model would seal \
             the edit as if exported. Check the edit with `persona-lab verify`, then pass \
             --accept-edits to keep it",
            path.display(),
            sections.join(", ")
        ));
    }
    Ok(rs)
}
