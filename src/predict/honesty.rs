//! What keeps a churn or conversion model honest: the accuracy a model that always answers the majority
//! class would get, a warning when one class is rare, and an outcome window proposed from how often
//! users really come back (a fixed 30 days called 93% of an order log's customers churned).

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::labels::DAY_US;
use crate::data::{Loaded, cols};
use crate::error::PredictError;
use crate::features::transform::quantile;

/// Under this share (or over 1 minus it) of positives, accuracy says little.
pub const RARE_CLASS: f64 = 0.10;

/// The accuracy of always predicting the larger class.
pub fn majority_accuracy(positives: usize, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    positives.max(n - positives) as f64 / n as f64
}

/// A warning when one class holds under 10% of the users, in words naming the classes.
pub fn balance_warning(
    positives: usize,
    negatives: usize,
    positive: &str,
    negative: &str,
) -> Option<String> {
    let n = positives + negatives;
    if n == 0 {
        return None;
    }
    let share = positives as f64 / n as f64;
    let (rare, rare_share, common) = if share < RARE_CLASS {
        (positive, share, negative)
    } else if share > 1.0 - RARE_CLASS {
        (negative, 1.0 - share, positive)
    } else {
        return None;
    };
    Some(format!(
        "only {:.1}% of the users are \"{rare}\": a model that answers \"{common}\" for everyone is right {:.1}% \
         of the time. Judge the model by ROC AUC, PR AUC and the precision-recall curve against its \
         chance line, not by accuracy{}",
        rare_share * 100.0,
        majority_accuracy(positives, n) * 100.0,
        if rare == negative {
            "; for churn, a longer outcome window usually balances the classes"
        } else {
            ""
        }
    ))
}

/// An outcome window proposed from the gaps between a user's active days (on an order log: between
/// order days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonSuggestion {
    /// The proposed window: the gap 80% of returns come within, in whole days, at least 7.
    pub days: u32,
    pub median_gap_days: f64,
    pub p80_gap_days: f64,
    /// Returns measured (pairs of consecutive active days of one user).
    pub returns: usize,
}

/// The gaps, in days, between each user's consecutive active days (UTC days), over all users.
pub fn return_gaps(loaded: &Loaded) -> Result<Vec<f64>, PredictError> {
    super::labels::in_memory(loaded)?;
    let perr = |e: PolarsError| PredictError::Invalid(e.to_string());
    let days = loaded
        .table
        .clone()
        .lazy()
        .select([
            col(cols::USER),
            col(cols::TS).floor_div(lit(DAY_US)).alias("day"),
        ])
        .unique(None, UniqueKeepStrategy::Any)
        .sort(["user_id", "day"], Default::default())
        .collect()
        .map_err(perr)?;
    let u = days.column(cols::USER).map_err(perr)?.str().map_err(perr)?;
    let d = days.column("day").map_err(perr)?.i64().map_err(perr)?;
    let mut gaps = Vec::new();
    let mut prev: Option<(&str, i64)> = None;
    for (u, d) in u.iter().zip(d.iter()) {
        let (Some(u), Some(d)) = (u, d) else { continue };
        if let Some((pu, pd)) = prev
            && pu == u
        {
            gaps.push((d - pd) as f64);
        }
        prev = Some((u, d));
    }
    Ok(gaps)
}

/// The proposed window, when at least 20 returns were seen.
pub fn suggest_horizon(loaded: &Loaded) -> Result<Option<HorizonSuggestion>, PredictError> {
    let mut gaps = return_gaps(loaded)?;
    if gaps.len() < 20 {
        return Ok(None);
    }
    gaps.sort_by(f64::total_cmp);
    let (median, p80) = (quantile(&gaps, 0.5), quantile(&gaps, 0.8));
    Ok(Some(HorizonSuggestion {
        days: (p80.ceil() as u32).max(7),
        median_gap_days: median,
        p80_gap_days: p80,
        returns: gaps.len(),
    }))
}

impl HorizonSuggestion {
    /// The proposal in words.
    pub fn describe(&self) -> String {
        format!(
            "a {}-day window: users come back after {:.0} days at the median, and 4 returns in 5 come \
             within {:.0} days ({} returns measured)",
            self.days, self.median_gap_days, self.p80_gap_days, self.returns
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_and_rare_classes() {
        assert_eq!(majority_accuracy(936, 1000), 0.936);
        assert_eq!(majority_accuracy(100, 1000), 0.9);
        let w = balance_warning(936, 64, "churned", "retained").unwrap();
        assert!(
            w.contains("only 6.4% of the users are \"retained\"")
                && w.contains("\"churned\" for everyone is right 93.6%")
                && w.contains("longer outcome window"),
            "{w}"
        );
        let w = balance_warning(50, 950, "converted", "not converted").unwrap();
        assert!(
            w.contains("only 5.0% of the users are \"converted\""),
            "{w}"
        );
        assert!(!w.contains("window"), "{w}");
        assert_eq!(balance_warning(300, 700, "churned", "retained"), None);
    }

    #[test]
    fn quantiles_as_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        // numpy.quantile(v, [0.5, 0.8]) = [3.0, 5.2]
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.8) - 5.2).abs() < 1e-12);
    }
}
