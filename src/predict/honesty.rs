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

/// A variance inflation factor above this (R^2 above 0.9 on the other features) is the usual sign that
/// a regression cannot tell a feature's effect from its neighbours' (statsmodels' documentation,
/// Kutner et al.).
pub const VIF_HIGH: f64 = 10.0;

/// The variance inflation factor of each of the `d` columns whose correlation matrix is `corr`
/// (row-major d x d): the diagonal of its inverse, that is 1 / (1 - R^2) of the column regressed on
/// the others with an intercept (statsmodels' `variance_inflation_factor` with a constant added).
/// A column that is an exact combination of others gets a huge factor (a 1e-10 ridge keeps the
/// inversion finite); None when a correlation is not finite (a column without variance).
pub fn variance_inflation(corr: &[f64], d: usize) -> Option<Vec<f64>> {
    if corr.len() != d * d || corr.iter().any(|r| !r.is_finite()) {
        return None;
    }
    invert_diagonal(corr, d, 0.0).or_else(|| invert_diagonal(corr, d, 1e-10))
}

/// The diagonal of (A + ridge I)^-1 by Gauss-Jordan elimination with partial pivoting; None when a
/// pivot vanishes.
fn invert_diagonal(a: &[f64], d: usize, ridge: f64) -> Option<Vec<f64>> {
    let w = 2 * d;
    let mut m = vec![0.0; d * w];
    for r in 0..d {
        for c in 0..d {
            m[r * w + c] = a[r * d + c] + if r == c { ridge } else { 0.0 };
        }
        m[r * w + d + r] = 1.0;
    }
    for col in 0..d {
        let pivot =
            (col..d).max_by(|&x, &y| m[x * w + col].abs().total_cmp(&m[y * w + col].abs()))?;
        if m[pivot * w + col].abs() < 1e-12 {
            return None;
        }
        for c in 0..w {
            m.swap(col * w + c, pivot * w + c);
        }
        let p = m[col * w + col];
        for c in 0..w {
            m[col * w + c] /= p;
        }
        for r in (0..d).filter(|&r| r != col) {
            let f = m[r * w + col];
            if f != 0.0 {
                for c in 0..w {
                    m[r * w + c] -= f * m[col * w + c];
                }
            }
        }
    }
    Some((0..d).map(|j| m[j * w + d + j]).collect())
}

/// The model's features that the others largely explain (variance inflation above 10): a logistic
/// model splits their shared effect between them, so a coefficient can point the opposite way to what
/// its feature means alone (on the bundled sample, `events` +2.8 beside `decayed_events` -1.7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collinearity {
    /// Each such feature with its variance inflation factor, highest first.
    pub inflated: Vec<(String, f64)>,
    /// The most correlated pair among them, and their r: the first to thin out.
    pub closest: Option<(String, String, f64)>,
}

impl Collinearity {
    /// From the correlation `corr` of `names`' columns over the analysed users; None when no feature
    /// is above 10 (or a correlation is not finite).
    pub fn of(names: &[String], corr: &[f64]) -> Option<Collinearity> {
        let d = names.len();
        let vif = variance_inflation(corr, d)?;
        let mut high: Vec<usize> = (0..d).filter(|&j| vif[j] > VIF_HIGH).collect();
        if high.is_empty() {
            return None;
        }
        high.sort_by(|&a, &b| vif[b].total_cmp(&vif[a]).then(a.cmp(&b)));
        let closest = high
            .iter()
            .flat_map(|&a| high.iter().filter(move |&&b| b > a).map(move |&b| (a, b)))
            .max_by(|x, y| {
                corr[x.0 * d + x.1]
                    .abs()
                    .total_cmp(&corr[y.0 * d + y.1].abs())
            })
            .map(|(a, b)| (names[a].clone(), names[b].clone(), corr[a * d + b]));
        Some(Collinearity {
            inflated: high.iter().map(|&j| (names[j].clone(), vif[j])).collect(),
            closest,
        })
    }

    /// In words, each feature named by `name` (ids on the command line, display names in the app).
    pub fn describe(&self, name: &dyn Fn(&str) -> String) -> String {
        let listed: Vec<String> = self
            .inflated
            .iter()
            .map(|(f, v)| {
                if *v < 1e6 {
                    format!("{} {v:.0}", name(f))
                } else {
                    format!("{} (a combination of others)", name(f))
                }
            })
            .collect();
        let thin = self.closest.as_ref().map_or(String::new(), |(a, b, r)| {
            format!(
                "; {} and {} move together most (r = {r:.2}): keeping one of them is the first step",
                name(a),
                name(b)
            )
        });
        format!(
            "{} of the model's features are largely explained by the others (variance inflation above 10: {}): the model splits their shared effect, so read their coefficients together, not by sign alone{thin}",
            self.inflated.len(),
            listed.join(", ")
        )
    }
}

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

    /// Two columns nearly alike and a third apart: the two are named with their factors (statsmodels
    /// gives 1 / (1 - 0.95^2) = 10.256 for a pair at r = 0.95 with an unrelated third), the third is
    /// not; an exact duplicate is "a combination of others"; a constant column says nothing.
    #[test]
    fn collinear_features_are_named_with_their_inflation() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        #[rustfmt::skip]
        let corr = [
            1.0,  0.95, 0.0,
            0.95, 1.0,  0.0,
            0.0,  0.0,  1.0,
        ];
        let vif = variance_inflation(&corr, 3).unwrap();
        let want = 1.0 / (1.0 - 0.95f64 * 0.95);
        assert!(
            (vif[0] - want).abs() < 1e-9 && (vif[1] - want).abs() < 1e-9,
            "{vif:?}"
        );
        assert!((vif[2] - 1.0).abs() < 1e-12, "{vif:?}");
        let id = |f: &str| f.to_string();
        let c = Collinearity::of(&names, &corr).unwrap();
        assert_eq!(c.closest, Some(("a".into(), "b".into(), 0.95)));
        let note = c.describe(&id);
        // a and b tie (to rounding): either order.
        assert!(
            ["a 10, b 10)", "b 10, a 10)"].iter().any(|l| note.starts_with(&format!(
                "2 of the model's features are largely explained by the others (variance inflation above 10: {l}"
            ))),
            "{note}"
        );
        assert!(
            note.ends_with(
                "a and b move together most (r = 0.95): keeping one of them is the first step"
            ),
            "{note}"
        );

        #[rustfmt::skip]
        let dup = [
            1.0, 1.0, 0.3,
            1.0, 1.0, 0.3,
            0.3, 0.3, 1.0,
        ];
        let note = Collinearity::of(&names, &dup).unwrap().describe(&id);
        assert!(
            note.contains("a (a combination of others), b (a combination of others)"),
            "{note}"
        );
        assert!(!note.contains("c "), "{note}");

        let apart = [1.0, 0.5, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(Collinearity::of(&names, &apart), None);
        assert_eq!(
            variance_inflation(&[1.0, f64::NAN, f64::NAN, f64::NAN], 2),
            None
        );
    }

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
