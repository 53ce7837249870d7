//! `persona-lab assign`, `decide` and `verify`: the deployed side of a rule set, evaluated by the same
//! library code as the app.

use std::path::{Path, PathBuf};

use clap::Args;
use persona_lab::cluster::{self, Points, SilhouetteOptions};
use persona_lab::data;
use persona_lab::job::Job;
use persona_lab::rules::{Session, Severity, UserProfile};
use persona_lab::ruleset::{self, RuleSet};

use super::args::MappingArgs;

#[derive(Debug, Args)]
pub struct AssignCmd {
    /// The rule set (RON) exported by the app or by `segment --out`
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// Write one row per user: user_id, segment, persona, silhouette, distance (.csv, .csv.gz, .parquet)
    #[arg(long, value_name = "FILE", required_unless_present = "to")]
    pub out: Option<PathBuf>,
    /// Also write every user's decide profile (the features the rule set reads), segment, persona and
    /// scores for the decision service: to Redis (redis://HOST[:PORT][/DB], one hash per user, written
    /// in pipelined batches) or to an NDJSON file (`serve --profiles`)
    #[arg(long, value_name = "URL|FILE")]
    pub to: Option<String>,
    /// Seconds the Redis entries live (0: no expiry)
    #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECONDS")]
    pub to_ttl: u64,
    /// Silhouette: exact up to this many users, else on a stratified sample of this size
    #[arg(long, default_value_t = cluster::silhouette::DEFAULT_EXACT_LIMIT, value_name = "N")]
    pub silhouette_limit: usize,
}

#[derive(Debug, Args)]
pub struct DecideCmd {
    /// The rule set (RON)
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// The user's profile (JSON: user_id, features, scores, consent, returning, events); `-` reads stdin
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// The current session (JSON: now, events, shown)
    #[arg(long, value_name = "FILE")]
    pub session: Option<PathBuf>,
    /// Add `why_not`: for each rule whose condition missed the user, the parts that failed with
    /// the user's values ("recency_days > 21: this user has 2.5")
    #[arg(long)]
    pub why_not: bool,
}

#[derive(Debug, Args)]
pub struct VerifyCmd {
    /// The rule set (RON or JSON)
    pub rules: PathBuf,
    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,
    /// Check the signature with this key file: exit 1 unless the file was signed with it and not
    /// changed since
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

impl AssignCmd {
    /// `--to` when it names a file rather than Redis.
    pub fn to_file(&self) -> Option<&Path> {
        self.to
            .as_deref()
            .filter(|t| !t.starts_with("redis://"))
            .map(Path::new)
    }
}

fn read_rules(path: &Path) -> Result<RuleSet, String> {
    RuleSet::read(path).map_err(|e| e.to_string())
}

pub fn run_assign(cmd: &AssignCmd) -> Result<(), String> {
    let rs = read_rules(&cmd.rules)?;
    refuse_errors(&rs, &cmd.rules)?;
    if rs.source.ids_hashed && !cmd.mapping.hash_ids {
        // Refused rather than warned: the assignments would pair raw ids with segments learnt on
        // hashed ones, and raw ids would leave the app without anyone asking.
        return Err(format!(
            "{}: the rule set was made from hashed user ids; pass --hash-ids with the same salt \
             (--salt or PERSONA_LAB_SALT) so the assignments hold the same hashed ids",
            cmd.rules.display()
        ));
    }
    let opts = cmd.mapping.load_options()?;
    let loaded = data::load(&cmd.mapping.input, &opts).map_err(|e| e.to_string())?;
    let applied = ruleset::apply(&rs, &loaded)
        .map_err(|e| format!("{}: {e}", cmd.mapping.input.display()))?;
    let m = &applied.matrix;
    let sil = cluster::silhouette(
        &Points::of(m),
        &applied.labels,
        rs.segments.k,
        &SilhouetteOptions {
            exact_limit: cmd.silhouette_limit.max(2),
            sample_size: None,
            seed: rs.segments.seed,
        },
        &Job::silent(),
    );
    let names: Vec<String> = (0..rs.segments.k)
        .map(|s| {
            rs.persona_of(s)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| format!("Segment {s}"))
        })
        .collect();
    let (values, mean) = match &sil {
        Ok(s) => (s.values.clone(), Some(s.mean)),
        Err(_) => (vec![None; m.n_rows], None),
    };
    if let Some(out) = &cmd.out {
        let defused = persona_lab::output::write_assignments(
            out,
            &m.users,
            &applied.labels,
            &names,
            &values,
            &applied.distances,
        )
        .map_err(|e| e.to_string())?;
        super::warn_defused(&defused, out);
    }
    if let Some(to) = &cmd.to {
        let consent = loaded.mapping.consent.is_some().then_some(true);
        let stored = serving_profiles(&rs, &applied, consent)?;
        write_serving_profiles(&stored, to, cmd.to_ttl)?;
        say!(
            "wrote      {} profiles to {to}{}",
            stored.len(),
            if consent.is_none() {
                " (no consent column: the profiles carry no consent, so rules under \
                 require_consent will not fire for them)"
            } else {
                ""
            }
        );
    }
    say!(
        "assigned   {} users of {} with {} ({} segments, nearest centroid)",
        m.n_rows,
        cmd.mapping.input.display(),
        cmd.rules.display(),
        rs.segments.k
    );
    let mut sizes = vec![0usize; rs.segments.k];
    applied.labels.iter().for_each(|&l| sizes[l] += 1);
    for (s, n) in sizes.iter().enumerate() {
        say!(
            "{s:>4}  {n:>8}  {:>5.1}%  {}",
            100.0 * *n as f64 / m.n_rows.max(1) as f64,
            names[s]
        );
    }
    match (&sil, mean) {
        (Ok(s), Some(mean)) => say!(
            "quality    mean silhouette {mean:.4} ({})",
            if s.exact {
                "all users".to_string()
            } else {
                format!("stratified sample of {} users", s.sample_size)
            }
        ),
        (Err(e), _) => say!("quality    no silhouette: {e}"),
        _ => {}
    }
    if let Some(out) = &cmd.out {
        say!("wrote      {}", out.display());
    }
    Ok(())
}

/// A rule set with errors is not used for scoring: the message lists them.
pub fn refuse_errors(rs: &RuleSet, path: &Path) -> Result<(), String> {
    let errors: Vec<String> = rs.errors().iter().map(|f| format!("  {f}")).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: the rule set has errors (persona-lab verify lists them):\n{}",
            path.display(),
            errors.join("\n")
        ))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run_decide(cmd: &DecideCmd) -> Result<(), String> {
    let rs = read_rules(&cmd.rules)?;
    refuse_errors(&rs, &cmd.rules)?;
    let profile: UserProfile = read_json(&cmd.profile)?;
    let session: Session = match &cmd.session {
        Some(p) => read_json(p)?,
        None => Session::default(),
    };
    // An error names the file it comes from: the session's fields are `session.…`.
    let named = |e: persona_lab::error::RuleError| {
        let file = match (&e, &cmd.session) {
            (persona_lab::error::RuleError::BadTime { field, .. }, Some(s))
                if field.starts_with("session.") =>
            {
                s
            }
            _ => &cmd.profile,
        };
        format!("{}: {e}", file.display())
    };
    let d = rs.decide(&profile, &session).map_err(named)?;
    let mut out = serde_json::to_value(&d).map_err(|e| e.to_string())?;
    if cmd.why_not {
        let misses = rs.misses(&profile, &session).map_err(named)?;
        out["why_not"] = serde_json::to_value(misses).map_err(|e| e.to_string())?;
    }
    say!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
    );
    Ok(())
}

pub fn run_verify(cmd: &VerifyCmd) -> Result<(), String> {
    use persona_lab::ruleset::checksum::{self, Integrity};
    let rs = read_rules(&cmd.rules)?;
    let findings = rs.validate();
    let integrity = checksum::check(&rs);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let integrity_text = match &integrity {
        Integrity::Intact => "checksum ok: the content is as written".to_string(),
        Integrity::Unchecked => {
            "no checksum: the file was not written by persona-lab (or by an older version)".into()
        }
        Integrity::Edited {
            changed,
            added,
            removed,
        } => {
            let mut parts = Vec::new();
            for (what, list) in [("changed", changed), ("added", added), ("removed", removed)] {
                if !list.is_empty() {
                    parts.push(format!("{what}: {}", list.join(", ")));
                }
            }
            format!("edited after it was written ({})", parts.join("; "))
        }
    };
    let signature = match &cmd.key {
        Some(k) => Some(checksum::check_signature(
            &rs,
            &persona_lab::ruleset::read_key(k)?,
        )),
        None => None,
    };
    let signature_text = signature.map(|s| match s {
        checksum::Signature::Valid => {
            "signature ok: signed with this key, unchanged since".to_string()
        }
        checksum::Signature::Unsigned => "not signed: nothing shows who made this file".to_string(),
        checksum::Signature::Invalid => {
            "signature INVALID: not signed with this key, or changed since it was signed"
                .to_string()
        }
    });
    if cmd.json {
        say!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": cmd.rules.display().to_string(),
                "format_version": rs.format_version,
                "rules": rs.rules.len(),
                "integrity": integrity,
                "signature": signature,
                "findings": findings,
            }))
            .map_err(|e| e.to_string())?
        );
    } else {
        say!("{integrity_text}");
        if let Some(t) = &signature_text {
            say!("{t}");
        }
        for line in merged(&findings) {
            say!("{line}");
        }
        say!(
            "{}: {} rules, {} segments, {} errors, {} warnings",
            cmd.rules.display(),
            rs.rules.len(),
            rs.segments.k,
            errors,
            findings.len() - errors
        );
    }
    if errors > 0 {
        Err(format!("{}: {errors} errors", cmd.rules.display()))
    } else if matches!(integrity, Integrity::Edited { .. }) {
        Err(format!("{}: {integrity_text}", cmd.rules.display()))
    } else if let Some(t) = signature_text.filter(|_| signature != Some(checksum::Signature::Valid))
    {
        Err(format!("{}: {t}", cmd.rules.display()))
    } else {
        Ok(())
    }
}

/// The findings as lines, the same message for several rules said once with the rules listed (ten
/// thousand rules with one mistake are one line, not ten thousand).
fn merged(findings: &[persona_lab::rules::Finding]) -> Vec<String> {
    let mut groups: Vec<(&persona_lab::rules::Finding, Vec<&str>)> = Vec::new();
    for f in findings {
        match groups
            .iter_mut()
            .find(|(g, _)| g.severity == f.severity && g.message == f.message)
        {
            Some((_, rules)) => rules.extend(f.rule.as_deref()),
            None => groups.push((f, f.rule.as_deref().into_iter().collect())),
        }
    }
    groups
        .into_iter()
        .map(|(f, rules)| {
            if rules.len() <= 1 {
                return f.to_string();
            }
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let shown: Vec<String> = rules.iter().take(5).map(|r| format!("{r:?}")).collect();
            let more = match rules.len().saturating_sub(5) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            format!(
                "{sev}: {} rules ({}{more}): {}",
                rules.len(),
                shown.join(", "),
                f.message
            )
        })
        .collect()
}

/// What the decision service needs per user: the features the rule set reads (its vector, its
/// models' inputs, its enabled rules' features), the segment and persona, and the scores.
fn serving_profiles(
    rs: &RuleSet,
    applied: &persona_lab::ruleset::Applied,
    consent: Option<bool>,
) -> Result<Vec<persona_lab_server::store::StoredProfile>, String> {
    let mut needed: Vec<String> = rs
        .features
        .transform
        .features
        .iter()
        .map(|f| f.id.clone())
        .collect();
    for m in &rs.models {
        for f in &m.transform.features {
            if !needed.contains(&f.id) {
                needed.push(f.id.clone());
            }
        }
    }
    for r in rs.rules.iter().filter(|r| r.enabled) {
        r.when.features(&mut needed);
    }
    let users = persona_lab::ruleset::user_profiles(&applied.profile, consent)
        .map_err(|e| e.to_string())?;
    users
        .into_iter()
        .zip(&applied.labels)
        .map(|(mut p, &segment)| {
            p.features.retain(|k, _| needed.contains(k));
            if let Some(f) = needed.iter().find(|f| !p.features.contains_key(*f)) {
                return Err(format!(
                    "the export gives no feature {f:?}, which the rule set's rules read"
                ));
            }
            let scores = rs
                .models
                .iter()
                .map(|m| Ok((m.name.clone(), m.score(&p.features)?)))
                .collect::<Result<Vec<_>, String>>()
                .map_err(|f| format!("a model needs the feature {f:?}"))?;
            let persona = rs
                .persona_of(segment)
                .map(|x| x.id.clone())
                .unwrap_or_else(|| format!("segment_{segment}"));
            Ok(persona_lab_server::store::StoredProfile {
                persona_name: rs.persona_name(&persona),
                persona,
                segment,
                scores,
                profile: p,
            })
        })
        .collect()
}

fn write_serving_profiles(
    stored: &[persona_lab_server::store::StoredProfile],
    to: &str,
    ttl: u64,
) -> Result<(), String> {
    if to.starts_with("redis://") {
        let store = persona_lab_server::store::Store::redis(to, 1)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(store.put_profiles(stored, ttl))
            .map_err(|e| e.to_string())
    } else {
        let mut text = String::new();
        for s in stored {
            text.push_str(&serde_json::to_string(&s.profile).map_err(|e| e.to_string())?);
            text.push('\n');
        }
        persona_lab::output::write_bytes(Path::new(to), text.as_bytes()).map_err(|e| e.to_string())
    }
}
