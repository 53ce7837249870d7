//! `persona-lab report` (rule and variant performance against the holdout) and `persona-lab drift`
//! (how users moved between two segmentations).

use std::path::PathBuf;

use clap::Args;
use persona_lab::monitor::{html, outcomes, report};
use persona_lab::ruleset::RuleSet;

#[derive(Debug, Args)]
pub struct ReportCmd {
    /// The outcomes export: one row per exposure (user, rule, variant or holdout flag, time, clicked,
    /// converted, revenue, persona)
    pub outcomes: PathBuf,
    /// The deployed rule set (names the rules and checks the outcomes against it)
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Write the report: .html (tables and charts) or .json
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the report as JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Seed of the revenue bootstrap
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_name = "COL")]
    pub user_col: Option<String>,
    #[arg(long, value_name = "COL")]
    pub rule_col: Option<String>,
    #[arg(long, value_name = "COL")]
    pub variant_col: Option<String>,
    /// Column saying whether the user was in the holdout (default: a variant named holdout/control)
    #[arg(long, value_name = "COL")]
    pub holdout_col: Option<String>,
    #[arg(long, value_name = "COL")]
    pub time_col: Option<String>,
    #[arg(long, value_name = "COL")]
    pub clicked_col: Option<String>,
    #[arg(long, value_name = "COL")]
    pub converted_col: Option<String>,
    #[arg(long, value_name = "COL")]
    pub revenue_col: Option<String>,
    #[arg(long, value_name = "COL")]
    pub persona_col: Option<String>,
}

pub fn run_report(cmd: &ReportCmd) -> Result<(), String> {
    let rs = match &cmd.rules {
        Some(p) => Some(RuleSet::read(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let cols = outcomes::OutcomeColumns {
        user: cmd.user_col.clone(),
        rule: cmd.rule_col.clone(),
        variant: cmd.variant_col.clone(),
        holdout: cmd.holdout_col.clone(),
        time: cmd.time_col.clone(),
        clicked: cmd.clicked_col.clone(),
        converted: cmd.converted_col.clone(),
        revenue: cmd.revenue_col.clone(),
        persona: cmd.persona_col.clone(),
    };
    let o = outcomes::read(&cmd.outcomes, &cols).map_err(|e| e.to_string())?;
    let r = report::report(rs.as_ref(), &o, cmd.seed);
    let json = || serde_json::to_string_pretty(&r).map_err(|e| e.to_string());
    if cmd.json {
        say!("{}", json()?);
    } else {
        say_part!("{}", text(&r, &o));
    }
    if let Some(path) = &cmd.out {
        let body = match path.extension().and_then(|e| e.to_str()) {
            Some("html") | Some("htm") => html::render(&r),
            Some("json") => json()?,
            _ => {
                return Err(format!(
                    "{}: write the report as .html or .json",
                    path.display()
                ));
            }
        };
        persona_lab::output::write_bytes(path, body.as_bytes()).map_err(|e| e.to_string())?;
        if !cmd.json {
            say!("wrote      {}", path.display());
        }
    }
    Ok(())
}

fn text(r: &report::Report, o: &outcomes::Outcomes) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let cols: Vec<String> = o.columns.iter().map(|(r, c)| format!("{r}={c}")).collect();
    let _ = writeln!(
        s,
        "outcomes   {} ({} rows; {})",
        r.outcomes,
        r.rows,
        cols.join(", ")
    );
    if o.arm_conflicts > 0 {
        let _ = writeln!(
            s,
            "warning    {} exposures put a user in a second arm of the same rule; each user counts in their first arm",
            o.arm_conflicts
        );
    }
    for rule in &r.rules {
        let _ = writeln!(
            s,
            "\nrule {}{}",
            rule.rule,
            if rule.name.is_empty() {
                String::new()
            } else {
                format!(" ({})", rule.name)
            }
        );
        // Intervals: rates in percent, lifts in percentage points.
        let rate_ci = |(lo, hi): (f64, f64)| format!("[{:.2}%, {:.2}%]", 100.0 * lo, 100.0 * hi);
        let points_ci = |(lo, hi): (f64, f64)| format!("[{:+.2}, {:+.2}]", 100.0 * lo, 100.0 * hi);
        for a in &rule.arms {
            let _ = writeln!(
                s,
                "  {:<14} users {:>6}  CTR {:>6.2}%  conversion {:>6.2}% {}  revenue/user {:.2}",
                a.arm,
                a.users,
                100.0 * a.ctr,
                100.0 * a.conversion_rate,
                rate_ci(a.conversion_ci),
                a.revenue_per_user
            );
        }
        for c in &rule.comparisons {
            let relative = if c.rel_lift.is_finite() {
                format!("{:+.1}%", 100.0 * c.rel_lift)
            } else {
                "-".into()
            };
            let flag = if c.significant { "  significant" } else { "" };
            let _ = writeln!(
                s,
                "  {:<14} {:<10} lift {:+.2} points {}  relative {relative}  p {:.4}  adjusted {:.4}{flag}",
                c.variant,
                c.metric,
                100.0 * c.abs_lift,
                points_ci(c.abs_ci),
                c.p,
                c.p_adjusted,
            );
        }
    }
    let _ = writeln!(s, "\nneeds attention");
    if r.flags.is_empty() {
        let _ = writeln!(s, "  nothing");
    }
    for f in &r.flags {
        let _ = writeln!(s, "  - {f}");
    }
    s
}

#[derive(Debug, Args)]
pub struct DriftCmd {
    /// The deployed rule set
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// A newer rule set to compare with (default: re-cluster INPUT with the deployed settings)
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
    #[command(flatten)]
    pub mapping: super::args::MappingArgs,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Also write the result as JSON to this file
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run_drift(cmd: &DriftCmd) -> Result<(), String> {
    use persona_lab::monitor::drift;
    let old = RuleSet::read(&cmd.from).map_err(|e| e.to_string())?;
    let new = match &cmd.to {
        Some(p) => Some(RuleSet::read(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = cmd.mapping.load_options()?;
    let loaded = persona_lab::data::load(&cmd.mapping.input, &opts).map_err(|e| e.to_string())?;
    let d = drift::drift(
        &old,
        new.as_ref(),
        &loaded,
        &persona_lab::job::Job::silent(),
    )
    .map_err(|e| format!("{}: {e}", cmd.mapping.input.display()))?;
    let json = serde_json::to_string_pretty(&d).map_err(|e| e.to_string())?;
    if cmd.json {
        say!("{json}");
    } else {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "users      {} ({} deployed segments; new: {}, {} segments)",
            d.users, d.old_k, d.new_source, d.new_k
        );
        let _ = writeln!(
            s,
            "transitions (rows: deployed segment, columns: new segment)"
        );
        let _ = write!(s, "  {:>10}", "");
        for b in 0..d.new_k {
            let _ = write!(s, "{b:>8}");
        }
        let _ = writeln!(s);
        for (a, row) in d.transitions.iter().enumerate() {
            let _ = write!(s, "  {a:>10}");
            for c in row {
                let _ = write!(s, "{c:>8}");
            }
            let _ = writeln!(s);
        }
        for f in &d.flows {
            let _ = writeln!(
                s,
                "segment {} ({}): {} users, {:.1}% went to new segment {} ({})",
                f.old_segment,
                f.old_persona,
                f.users,
                100.0 * f.stayed_share,
                f.to.map_or("-".into(), |b| b.to_string()),
                f.to_persona
            );
            let mut shifts = f.shifts.clone();
            shifts.sort_by(|a, b| b.in_scale_units.abs().total_cmp(&a.in_scale_units.abs()));
            for sh in shifts.iter().take(3) {
                let _ = writeln!(
                    s,
                    "    {:<26} {:.3} -> {:.3} ({:+.2} scale units)",
                    sh.feature, sh.old, sh.new, sh.in_scale_units
                );
            }
        }
        let _ = writeln!(
            s,
            "changed    {:.1}% of users\nsilhouette {:.3} (deployed segments on this data)\nverdict    {}",
            100.0 * d.changed_share,
            d.deployed_silhouette,
            d.recommendation
        );
        say_part!("{s}");
    }
    if let Some(p) = &cmd.out {
        persona_lab::output::write_bytes(p, json.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(())
}
