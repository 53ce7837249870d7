//! Rule and variant performance against the rule's holdout: per arm the users, click-through and
//! conversion rates with Wilson intervals and revenue per user; per variant the absolute lift over
//! control (Newcombe interval) and relative lift (log interval), a pooled z-test with Holm's adjustment
//! across every comparison of the report, the revenue lift with a seeded bootstrap interval, and the
//! users per arm needed to detect the observed difference. Per persona: conversion in the first and
//! second half of the period. Flags say what needs attention.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::outcomes::{Arm, Outcomes, UserOutcome};
use super::stats;
use crate::ruleset::RuleSet;

pub const ALPHA: f64 = 0.05;
const BOOTSTRAP: usize = 2000;

#[derive(Debug, Clone, Serialize)]
pub struct ArmStats {
    pub arm: String,
    pub users: u64,
    pub clicks: u64,
    pub ctr: f64,
    pub ctr_ci: (f64, f64),
    pub conversions: u64,
    pub conversion_rate: f64,
    pub conversion_ci: (f64, f64),
    pub revenue_per_user: f64,
}

/// One variant against the control on one metric.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub rule: String,
    pub variant: String,
    /// "conversion" or "ctr".
    pub metric: String,
    pub variant_rate: f64,
    pub control_rate: f64,
    /// variant − control, with Newcombe's 95% interval.
    pub abs_lift: f64,
    pub abs_ci: (f64, f64),
    /// variant / control − 1, with the log 95% interval (NaN when a rate is 0).
    pub rel_lift: f64,
    pub rel_ci: (f64, f64),
    pub z: f64,
    pub p: f64,
    /// Holm-adjusted over every comparison of the report.
    pub p_adjusted: f64,
    pub significant: bool,
    /// Users per arm a test needs to detect the observed difference (80% power, alpha 0.05).
    pub needed_per_arm: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevenueLift {
    pub variant: String,
    /// Difference of revenue per user, variant − control, with a seeded bootstrap 95% interval.
    pub lift: f64,
    pub ci: (f64, f64),
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub rule: String,
    pub name: String,
    pub arms: Vec<ArmStats>,
    pub comparisons: Vec<Comparison>,
    pub revenue: Vec<RevenueLift>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonaReport {
    pub persona: String,
    pub users: u64,
    pub conversion_rate: f64,
    pub conversion_ci: (f64, f64),
    /// Conversion of users first exposed in the first / second half of the period.
    pub first_half: Option<(u64, u64)>,
    pub second_half: Option<(u64, u64)>,
    /// Two-sided p-value of the change between halves.
    pub change_p: Option<f64>,
    /// Per week of first exposure (weeks from the first exposure of the export): (week, users,
    /// conversions), for the conversion-over-time chart.
    pub weekly: Vec<(u32, u64, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub outcomes: String,
    pub rows: usize,
    pub alpha: f64,
    pub seed: u64,
    pub rules: Vec<RuleReport>,
    pub personas: Vec<PersonaReport>,
    /// What needs attention, most serious first.
    pub flags: Vec<String>,
}

fn arm_stats(arm: &Arm, users: &[&UserOutcome]) -> ArmStats {
    let n = users.len() as u64;
    let clicks = users.iter().filter(|u| u.clicked).count() as u64;
    let conv = users.iter().filter(|u| u.converted).count() as u64;
    let rate = |k: u64| if n > 0 { k as f64 / n as f64 } else { f64::NAN };
    ArmStats {
        arm: arm.to_string(),
        users: n,
        clicks,
        ctr: rate(clicks),
        ctr_ci: stats::wilson(clicks, n, ALPHA),
        conversions: conv,
        conversion_rate: rate(conv),
        conversion_ci: stats::wilson(conv, n, ALPHA),
        revenue_per_user: if n > 0 {
            users.iter().map(|u| u.revenue).sum::<f64>() / n as f64
        } else {
            f64::NAN
        },
    }
}

fn compare(rule: &str, variant: &ArmStats, control: &ArmStats, metric: &str) -> Comparison {
    let (k1, k2) = match metric {
        "ctr" => (variant.clicks, control.clicks),
        _ => (variant.conversions, control.conversions),
    };
    let (n1, n2) = (variant.users, control.users);
    let (p1, p2) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let (z, p) = stats::two_prop_ztest(k1, n1, k2, n2);
    let (lo, hi) = stats::ratio_log(k1, n1, k2, n2, ALPHA);
    Comparison {
        rule: rule.to_string(),
        variant: variant.arm.clone(),
        metric: metric.to_string(),
        variant_rate: p1,
        control_rate: p2,
        abs_lift: p1 - p2,
        abs_ci: stats::newcombe_diff(k1, n1, k2, n2, ALPHA),
        rel_lift: if p2 > 0.0 { p1 / p2 - 1.0 } else { f64::NAN },
        rel_ci: (lo - 1.0, hi - 1.0),
        z,
        p,
        p_adjusted: p,
        significant: false,
        needed_per_arm: stats::needed_n1(stats::cohens_h(p1, p2), 1.0, ALPHA, 0.8).map(f64::ceil),
    }
}

/// Percentile bootstrap of the difference of mean revenue (seeded).
fn revenue_lift(variant: &[f64], control: &[f64], seed: u64) -> (f64, (f64, f64)) {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let lift = mean(variant) - mean(control);
    if variant.is_empty() || control.is_empty() {
        return (lift, (f64::NAN, f64::NAN));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut diffs: Vec<f64> = (0..BOOTSTRAP)
        .map(|_| {
            let a: f64 = (0..variant.len())
                .map(|_| variant[rng.random_range(0..variant.len())])
                .sum::<f64>()
                / variant.len() as f64;
            let b: f64 = (0..control.len())
                .map(|_| control[rng.random_range(0..control.len())])
                .sum::<f64>()
                / control.len() as f64;
            a - b
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let q = |p: f64| diffs[((BOOTSTRAP - 1) as f64 * p).round() as usize];
    (lift, (q(ALPHA / 2.0), q(1.0 - ALPHA / 2.0)))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub fn report(rules: Option<&RuleSet>, outcomes: &Outcomes, seed: u64) -> Report {
    let mut flags_bad = Vec::new();
    let mut flags_other = Vec::new();
    let mut reports = Vec::new();
    for (rule, users) in &outcomes.by_rule {
        let name = rules
            .and_then(|rs| rs.rules.iter().find(|r| &r.id == rule))
            .map(|r| r.name.clone())
            .unwrap_or_default();
        if rules.is_some() && name.is_empty() {
            flags_other.push(format!(
                "rule {rule:?} is in the outcomes but not in the rule set"
            ));
        }
        let mut arms: Vec<Arm> = users.iter().map(|u| u.arm.clone()).collect();
        arms.sort();
        arms.dedup();
        let members = |a: &Arm| users.iter().filter(|u| &u.arm == a).collect::<Vec<_>>();
        let arm_stats_all: Vec<ArmStats> = arms.iter().map(|a| arm_stats(a, &members(a))).collect();
        let control = arms
            .iter()
            .position(|a| *a == Arm::Control)
            .map(|i| arm_stats_all[i].clone());
        let mut comparisons = Vec::new();
        let mut revenue = Vec::new();
        match &control {
            None => flags_other.push(format!(
                "rule {rule:?} has no holdout in the outcomes: its lift cannot be measured \
                 (give it a holdout share)"
            )),
            Some(c) => {
                let control_rev: Vec<f64> =
                    members(&Arm::Control).iter().map(|u| u.revenue).collect();
                for (a, s) in arms.iter().zip(&arm_stats_all) {
                    if *a == Arm::Control {
                        continue;
                    }
                    for metric in ["conversion", "ctr"] {
                        comparisons.push(compare(rule, s, c, metric));
                    }
                    let v: Vec<f64> = members(a).iter().map(|u| u.revenue).collect();
                    let (lift, ci) = revenue_lift(&v, &control_rev, seed);
                    revenue.push(RevenueLift {
                        variant: s.arm.clone(),
                        lift,
                        ci,
                    });
                }
            }
        }
        reports.push(RuleReport {
            rule: rule.clone(),
            name,
            arms: arm_stats_all,
            comparisons,
            revenue,
        });
    }
    // Holm over every comparison of the report.
    let ps: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.comparisons.iter().map(|c| c.p))
        .collect();
    let adjusted = stats::holm(&ps);
    let mut k = 0;
    for r in &mut reports {
        let control_users = r
            .arms
            .iter()
            .find(|a| a.arm == "control")
            .map_or(0, |a| a.users);
        for c in &mut r.comparisons {
            c.p_adjusted = adjusted[k];
            k += 1;
            c.significant = c.p_adjusted < ALPHA;
            let variant_users = r
                .arms
                .iter()
                .find(|a| a.arm == c.variant)
                .map_or(0, |a| a.users);
            if c.significant && c.abs_lift < 0.0 {
                flags_bad.push(format!(
                    "rule {:?} {}: {} is significantly worse than control ({} vs {}, adjusted p {:.4})",
                    c.rule, c.variant, c.metric, pct(c.variant_rate), pct(c.control_rate), c.p_adjusted
                ));
            } else if !c.significant
                && let Some(need) = c.needed_per_arm
                && need > variant_users.min(control_users) as f64
            {
                flags_other.push(format!(
                    "rule {:?} {}: too few users to judge {} ({} treated, {} control); about {} per \
                     arm are needed to detect the observed difference ({} vs {})",
                    c.rule,
                    c.variant,
                    c.metric,
                    variant_users,
                    control_users,
                    need,
                    pct(c.variant_rate),
                    pct(c.control_rate)
                ));
            }
        }
    }
    let personas = personas(outcomes, &mut flags_bad);
    flags_bad.extend(flags_other);
    Report {
        outcomes: outcomes.path.display().to_string(),
        rows: outcomes.rows,
        alpha: ALPHA,
        seed,
        rules: reports,
        personas,
        flags: flags_bad,
    }
}

/// Conversion per persona (each user once, over all rules), and its change between the halves of
/// the period.
fn personas(outcomes: &Outcomes, flags: &mut Vec<String>) -> Vec<PersonaReport> {
    use std::collections::BTreeMap;
    let mut users: BTreeMap<&str, (&str, Option<i64>, bool)> = BTreeMap::new();
    for u in outcomes.by_rule.values().flatten() {
        let Some(p) = u.persona.as_deref() else {
            continue;
        };
        let e = users.entry(&u.user).or_insert((p, u.first, false));
        e.2 |= u.converted;
        e.1 = match (e.1, u.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let times: Vec<i64> = users.values().filter_map(|v| v.1).collect();
    let mid = match (times.iter().min(), times.iter().max()) {
        (Some(a), Some(b)) if a < b => Some(a + (b - a) / 2),
        _ => None,
    };
    let mut by: BTreeMap<&str, Vec<(Option<i64>, bool)>> = BTreeMap::new();
    for (p, t, c) in users.values() {
        by.entry(p).or_default().push((*t, *c));
    }
    by.into_iter()
        .map(|(p, v)| {
            let n = v.len() as u64;
            let k = v.iter().filter(|x| x.1).count() as u64;
            let half = |first: bool| {
                mid.map(|m| {
                    let h: Vec<&(Option<i64>, bool)> = v
                        .iter()
                        .filter(|x| x.0.is_some_and(|t| (t <= m) == first))
                        .collect();
                    (h.iter().filter(|x| x.1).count() as u64, h.len() as u64)
                })
            };
            let (a, b) = (half(true), half(false));
            let first = times.iter().min().copied();
            let mut weekly: std::collections::BTreeMap<u32, (u64, u64)> = Default::default();
            if let Some(t0) = first {
                for (t, c) in v.iter() {
                    if let Some(t) = t {
                        let w = ((t - t0) / (7 * 86_400_000_000)) as u32;
                        let e = weekly.entry(w).or_default();
                        e.0 += 1;
                        e.1 += u64::from(*c);
                    }
                }
            }
            let change_p = match (a, b) {
                (Some((k1, n1)), Some((k2, n2))) if n1 > 0 && n2 > 0 => {
                    let (_, pv) = stats::two_prop_ztest(k2, n2, k1, n1);
                    if pv < ALPHA && (k2 as f64 / n2 as f64) < (k1 as f64 / n1 as f64) {
                        flags.push(format!(
                            "persona {p:?}: conversion fell from {} to {} between the first and \
                             second half of the period (p {pv:.4})",
                            pct(k1 as f64 / n1 as f64),
                            pct(k2 as f64 / n2 as f64),
                        ));
                    }
                    Some(pv)
                }
                _ => None,
            };
            PersonaReport {
                persona: p.to_string(),
                users: n,
                conversion_rate: k as f64 / n as f64,
                conversion_ci: stats::wilson(k, n, ALPHA),
                first_half: a,
                second_half: b,
                change_p,
                weekly: weekly.into_iter().map(|(w, (n, k))| (w, n, k)).collect(),
            }
        })
        .collect()
}
