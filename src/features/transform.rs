//! From raw feature values to the clustering matrix, with every parameter kept so production can repeat
//! it exactly:
//!
//! 1. fill missing values: `x = fill` where missing (0 for counts, money, per-session rates and
//!    seconds; the median of the observed values otherwise);
//! 2. optional `t = ln(1 + x)` (on by default for counts, money and seconds);
//! 3. scale: `z = (t - center) / scale` with (center, scale) = (mean, population std) for `Standard`,
//!    (median, q75 - q25) for `Robust`, (min, max - min) for `MinMax`, (0, 1) for `None`;
//! 4. weight: the clustering column is `w * z`;
//! 5. engagement score: `sum_i s_i * w_i * z_i` over the selected features, where the sign `s_i` is -1
//!    for features that grow as engagement falls (`recency_days`: days since the last visit) and +1
//!    otherwise.
//!
//! A feature whose transformed values are all equal (zero variance) is left out and reported; nothing is
//! ever divided by zero.

use serde::{Deserialize, Serialize};

use super::aggregate::Profile;
use super::catalogue::{self, FeatureKind, MissingPolicy};
use crate::error::FeatureError;

pub use persona_lab_runtime::features::{FittedFeature, FittedTransform, Scaler};

/// The analyst's choice for one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureChoice {
    pub id: String,
    /// Multiplies the scaled column (default 1).
    pub weight: f64,
    /// None: the default of the feature's kind.
    pub log1p: Option<bool>,
    /// None: the default of the feature's kind.
    pub missing: Option<MissingPolicy>,
}

impl FeatureChoice {
    pub fn new(id: impl Into<String>) -> Self {
        FeatureChoice {
            id: id.into(),
            weight: 1.0,
            log1p: None,
            missing: None,
        }
    }
}

/// Which features go into the matrix, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformSpec {
    pub features: Vec<FeatureChoice>,
    pub scaler: Scaler,
}

impl TransformSpec {
    /// The default set where the export has it (events); every numeric column (users tables).
    pub fn default_for(profile: &Profile) -> Self {
        let from_events = profile.sessions != super::aggregate::SessionSource::None;
        // One-hot attributes exist only when the analyst asked for them: then they are chosen too.
        let defaults: Vec<FeatureChoice> = catalogue::DEFAULT_SET
            .iter()
            .filter(|id| profile.features.iter().any(|f| f == *id))
            .map(|id| FeatureChoice::new(*id))
            .chain(
                profile
                    .features
                    .iter()
                    .filter(|f| f.starts_with(super::aggregate::ONE_HOT_PREFIX))
                    .map(FeatureChoice::new),
            )
            .collect();
        let features = if defaults.is_empty() || !from_events {
            profile.features.iter().map(FeatureChoice::new).collect()
        } else {
            defaults
        };
        TransformSpec {
            features,
            scaler: Scaler::Standard,
        }
    }

    /// Every feature of the profile.
    pub fn all(profile: &Profile) -> Self {
        TransformSpec {
            features: profile.features.iter().map(FeatureChoice::new).collect(),
            scaler: Scaler::Standard,
        }
    }
}

/// A dense row-major matrix of users x features.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub users: Vec<String>,
    pub columns: Vec<String>,
    pub n_rows: usize,
    pub n_cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.n_cols..(i + 1) * self.n_cols]
    }

    /// Pearson correlation of every pair of columns, row-major d x d (numpy's `corrcoef` of the
    /// columns); a column with no variance correlates NaN.
    pub fn correlation(&self) -> Vec<f64> {
        let (d, n) = (self.n_cols, self.n_rows as f64);
        let means: Vec<f64> = (0..d)
            .map(|j| (0..self.n_rows).map(|i| self.data[i * d + j]).sum::<f64>() / n)
            .collect();
        let mut cov = vec![0.0; d * d];
        for i in 0..self.n_rows {
            let row = self.row(i);
            for a in 0..d {
                for b in a..d {
                    cov[a * d + b] += (row[a] - means[a]) * (row[b] - means[b]);
                }
            }
        }
        let mut corr = vec![0.0; d * d];
        for a in 0..d {
            for b in a..d {
                let r = cov[a * d + b] / (cov[a * d + a] * cov[b * d + b]).sqrt();
                corr[a * d + b] = r;
                corr[b * d + a] = r;
            }
        }
        corr
    }
}

fn median(sorted: &[f64]) -> f64 {
    quantile(sorted, 0.5)
}

/// Quantile with linear interpolation between order statistics (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn skewness(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let m2 = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let m3 = v.iter().map(|x| (x - mean).powi(3)).sum::<f64>() / n;
    if m2 <= 0.0 { 0.0 } else { m3 / m2.powf(1.5) }
}

/// Fit the transform on a profile.
pub fn fit(profile: &Profile, spec: &TransformSpec) -> Result<FittedTransform, FeatureError> {
    let mut out = FittedTransform {
        scaler: spec.scaler,
        features: Vec::new(),
        excluded: Vec::new(),
        filled: Vec::new(),
        notes: Vec::new(),
    };
    // By hash: a users table of 100,000 columns made the "selected twice" check quadratic.
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for choice in &spec.features {
        if !choice.weight.is_finite() || choice.weight < 0.0 {
            return Err(FeatureError::Invalid {
                feature: choice.id.clone(),
                message: format!(
                    "weight must be a non-negative number, got {}",
                    choice.weight
                ),
            });
        }
        if !seen.insert(choice.id.as_str()) {
            return Err(FeatureError::Invalid {
                feature: choice.id.clone(),
                message: "selected twice".into(),
            });
        }
        let raw = profile.column(&choice.id)?;
        if choice.weight == 0.0 {
            out.excluded.push((choice.id.clone(), "weight 0".into()));
            continue;
        }
        let kind = catalogue::kind_of(&choice.id);
        let observed: Vec<f64> = raw
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if observed.is_empty() {
            out.excluded
                .push((choice.id.clone(), "no user has a value".into()));
            continue;
        }
        let mut sorted = observed.clone();
        sorted.sort_by(f64::total_cmp);
        let missing = choice.missing.unwrap_or(kind.default_missing());
        let fill = match missing {
            MissingPolicy::Zero => 0.0,
            MissingPolicy::Median => median(&sorted),
        };
        let n_missing = raw.len() - observed.len();
        if n_missing > 0 {
            out.filled
                .push((choice.id.clone(), n_missing, missing, fill));
        }
        let min = sorted[0];
        let wants_log = choice.log1p.unwrap_or(match kind {
            FeatureKind::Other => min >= 0.0 && skewness(&observed) > 1.0,
            k => k.default_log1p(),
        });
        let log1p = if wants_log && min < 0.0 {
            out.notes.push(format!(
                "{}: has negative values (min {min}); log1p not applied",
                choice.id
            ));
            false
        } else {
            wants_log
        };
        let t: Vec<f64> = raw
            .iter()
            .map(|v| {
                let x = v.filter(|x| x.is_finite()).unwrap_or(fill);
                if log1p { x.ln_1p() } else { x }
            })
            .collect();
        let mut ts = t.clone();
        ts.sort_by(f64::total_cmp);
        let (tmin, tmax) = (ts[0], ts[ts.len() - 1]);
        if tmax - tmin <= f64::EPSILON * tmax.abs().max(1.0) {
            out.excluded.push((
                choice.id.clone(),
                format!("zero variance (every user has {})", sorted[0]),
            ));
            continue;
        }
        let (center, scale) = match spec.scaler {
            Scaler::Standard => {
                let n = t.len() as f64;
                let mean = t.iter().sum::<f64>() / n;
                let var = t.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
                (mean, var.sqrt())
            }
            Scaler::Robust => {
                let iqr = quantile(&ts, 0.75) - quantile(&ts, 0.25);
                let scale = if iqr > 0.0 {
                    iqr
                } else {
                    out.notes.push(format!(
                        "{}: interquartile range is 0; scaled by 1 (as scikit-learn does)",
                        choice.id
                    ));
                    1.0
                };
                (median(&ts), scale)
            }
            Scaler::MinMax => (tmin, tmax - tmin),
            Scaler::None => (0.0, 1.0),
        };
        if !(center.is_finite() && scale.is_finite()) {
            return Err(FeatureError::Invalid {
                feature: choice.id.clone(),
                message: format!(
                    "values up to {} are too large to scale (the {} overflows a 64-bit number)",
                    sorted[sorted.len() - 1],
                    if center.is_finite() {
                        "spread"
                    } else {
                        "centre"
                    }
                ),
            });
        }
        out.features.push(FittedFeature {
            id: choice.id.clone(),
            kind,
            missing,
            fill,
            log1p,
            center,
            scale,
            weight: choice.weight,
        });
    }
    if out.features.is_empty() {
        let why = out
            .excluded
            .iter()
            .map(|(f, r)| format!("{f}: {r}"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(FeatureError::NoFeatures(if why.is_empty() {
            "no feature selected".into()
        } else {
            why
        }));
    }
    Ok(out)
}

/// What the analysis does with a fitted transform beyond scaling one value (which the runtime crate
/// does): the whole profile as a matrix, and the engagement score, whose signs come from the catalogue.
pub trait ProfileTransform {
    /// The weighted clustering matrix of a profile.
    fn matrix(&self, profile: &Profile) -> Result<Matrix, FeatureError>;
    /// Engagement score of every row of a matrix made by [`ProfileTransform::matrix`].
    fn scores(&self, m: &Matrix) -> Vec<f64>;
    /// Engagement score of one user's raw values, in the order of the transform's features.
    fn score_raw(&self, raw: &[Option<f64>]) -> f64;
}

impl ProfileTransform for FittedTransform {
    fn matrix(&self, profile: &Profile) -> Result<Matrix, FeatureError> {
        let n = profile.n_users();
        let d = self.features.len();
        let mut data = vec![0.0; n * d];
        for (j, f) in self.features.iter().enumerate() {
            let raw = profile.column(&f.id)?;
            for (i, v) in raw.into_iter().enumerate() {
                data[i * d + j] = f.weighted(v);
            }
        }
        Ok(Matrix {
            users: profile.user_ids(),
            columns: self.features.iter().map(|f| f.id.clone()).collect(),
            n_rows: n,
            n_cols: d,
            data,
        })
    }

    fn scores(&self, m: &Matrix) -> Vec<f64> {
        let signs: Vec<f64> = m
            .columns
            .iter()
            .map(|c| catalogue::engagement_sign(c))
            .collect();
        (0..m.n_rows)
            .map(|i| m.row(i).iter().zip(&signs).map(|(v, s)| s * v).sum())
            .collect()
    }

    fn score_raw(&self, raw: &[Option<f64>]) -> f64 {
        self.features
            .iter()
            .zip(raw)
            .map(|(f, v)| catalogue::engagement_sign(&f.id) * f.weighted(*v))
            .sum()
    }
}

#[cfg(test)]
mod correlation_tests {
    use super::*;

    #[test]
    fn correlation_is_numpys_corrcoef() {
        let m = Matrix {
            users: vec![String::new(); 4],
            columns: vec!["a".into(), "b".into(), "c".into()],
            n_rows: 4,
            n_cols: 3,
            data: vec![1.0, 2.0, 0.5, 2.0, 4.5, 0.1, 3.0, 5.5, 0.9, 4.0, 9.0, 0.2],
        };
        // numpy.corrcoef(m.T) for these rows.
        let want = [
            1.0,
            0.978987150877966,
            -0.035921060405355,
            0.978987150877966,
            1.0,
            -0.231777600204514,
            -0.035921060405355,
            -0.231777600204514,
            1.0,
        ];
        for (got, want) in m.correlation().iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }
}
