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
        println!("{}", json()?);
    } else {
        print!("{}", text(&r, &o));
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
            println!("wrote      {}", path.display());
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
        for a in &rule.arms {
            let _ = writeln!(
                s,
                "  {:<14} users {:>6}  CTR {:>6.2}%  conversion {:>6.2}% [{:.2}%, {:.2}%]  revenue/user {:.2}",
                a.arm,
                a.users,
                100.0 * a.ctr,
                100.0 * a.conversion_rate,
                100.0 * a.conversion_ci.0,
                100.0 * a.conversion_ci.1,
                a.revenue_per_user
            );
        }
        for c in &rule.comparisons {
            let _ = writeln!(
                s,
                "  {:<14} {:<10} lift {:+.2} points [{:+.2}, {:+.2}]  relative {:+.1}%  p {:.4}  adjusted {:.4}{}",
                c.variant,
                c.metric,
                100.0 * c.abs_lift,
                100.0 * c.abs_ci.0,
                100.0 * c.abs_ci.1,
                100.0 * c.rel_lift,
                c.p,
                c.p_adjusted,
                if c.significant { "  significant" } else { "" }
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
