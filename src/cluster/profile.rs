//! Cluster profiles: size and share, mean and median of every feature in raw units, the z-score of the
//! cluster mean against the population, and the features that set each cluster apart most.
//!
//! The z-score is computed on the transformed value (after the missing-value fill and log1p, before the
//! weight), as (cluster mean - population mean) / population standard deviation. On that scale skewed
//! counts do not let a few heavy users dominate; it is independent of the scaler chosen.

use serde::{Deserialize, Serialize};

use super::value::{self, Value};
use crate::error::FeatureError;
use crate::features::{FittedTransform, Profile, transform::quantile};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStat {
    pub feature: String,
    pub mean: f64,
    pub median: f64,
    pub z: f64,
    /// Quartiles and Tukey whiskers (the most extreme values within 1.5 IQR of the box), raw units:
    /// what a box plot of the feature by cluster draws.
    #[serde(default)]
    pub q1: f64,
    #[serde(default)]
    pub q3: f64,
    #[serde(default)]
    pub whisker_low: f64,
    #[serde(default)]
    pub whisker_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterProfile {
    pub id: usize,
    pub size: usize,
    pub share: f64,
    pub features: Vec<FeatureStat>,
    /// The features with the largest |z|, largest first (up to three).
    pub top: Vec<(String, f64)>,
    /// Per categorical attribute (platform, device category, country, ...), its most common
    /// values among the cluster's users with their share of the cluster (largest first, up to
    /// three): "64% mobile".
    #[serde(default)]
    pub attributes: Vec<AttributeShares>,
    /// The segment's revenue, orders and buyers (None when the export has neither revenue nor
    /// purchases); against everyone's with [`everyone`].
    #[serde(default)]
    pub value: Option<Value>,
}

/// The most common values of one attribute in a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeShares {
    pub attribute: String,
    /// (value, share of the cluster's users), largest share first, ties by value.
    pub values: Vec<(String, f64)>,
}

impl AttributeShares {
    /// "64% mobile, 30% desktop".
    pub fn describe(&self) -> String {
        self.values
            .iter()
            .map(|(v, s)| format!("{:.0}% {v}", s * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everyone's value, summed over the segments (None when the segments carry none).
pub fn everyone(profiles: &[ClusterProfile]) -> Option<Value> {
    value::total(profiles.iter().filter_map(|p| p.value.as_ref()))
}

impl ClusterProfile {
    /// What the segment is worth against everyone, in words (None without revenue or purchases).
    pub fn value_line(&self, everyone: Option<&Value>) -> Option<String> {
        Some(self.value.as_ref()?.describe(everyone?))
    }

    /// Who the cluster's users are, one entry per attribute: "platform: 80% WEB, 20% APP".
    pub fn who(&self) -> Vec<String> {
        self.attributes
            .iter()
            .filter(|a| !a.values.is_empty())
            .map(|a| format!("{}: {}", a.attribute, a.describe()))
            .collect()
    }
}

/// Shares of each attribute's values per cluster (users without a value count in the cluster's
/// size, so the shares say how many of the persona's users are mobile, not of those known).
fn attribute_shares(
    profile: &Profile,
    labels: &[usize],
    sizes: &[usize],
) -> Vec<Vec<AttributeShares>> {
    let k = sizes.len();
    let mut out: Vec<Vec<AttributeShares>> = vec![Vec::new(); k];
    for a in &profile.attributes {
        if a.values.len() != labels.len() {
            continue;
        }
        let mut counts: Vec<std::collections::BTreeMap<&str, usize>> = vec![Default::default(); k];
        for (v, &l) in a.values.iter().zip(labels) {
            if let Some(v) = v {
                *counts[l].entry(v.as_str()).or_default() += 1;
            }
        }
        for (c, m) in counts.into_iter().enumerate() {
            let mut v: Vec<(String, f64)> = m
                .into_iter()
                .map(|(name, n)| (name.to_string(), n as f64 / sizes[c].max(1) as f64))
                .collect();
            // Stable sort on a name-ordered list: ties keep the alphabetical order.
            v.sort_by(|a, b| b.1.total_cmp(&a.1));
            v.truncate(3);
            out[c].push(AttributeShares {
                attribute: a.name.clone(),
                values: v,
            });
        }
    }
    out
}

/// Profiles of the clusters `labels` (0..k) over the fitted features of `profile`.
pub fn profiles(
    profile: &Profile,
    fitted: &FittedTransform,
    labels: &[usize],
    k: usize,
) -> Result<Vec<ClusterProfile>, FeatureError> {
    let n = labels.len();
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let mut out: Vec<ClusterProfile> = (0..k)
        .map(|c| ClusterProfile {
            id: c,
            size: sizes[c],
            share: sizes[c] as f64 / n.max(1) as f64,
            features: Vec::new(),
            top: Vec::new(),
            attributes: Vec::new(),
            value: None,
        })
        .collect();
    if let Some(values) = value::by_segment(profile, labels, k) {
        for (c, v) in values.into_iter().enumerate() {
            out[c].value = Some(v);
        }
    }
    for (c, shares) in attribute_shares(profile, labels, &sizes)
        .into_iter()
        .enumerate()
    {
        out[c].attributes = shares;
    }
    for f in &fitted.features {
        let raw: Vec<f64> = profile
            .column(&f.id)?
            .into_iter()
            .map(|v| v.filter(|x| x.is_finite()).unwrap_or(f.fill))
            .collect();
        let t: Vec<f64> = raw.iter().map(|&v| f.scaled(Some(v))).collect();
        let mean_t = t.iter().sum::<f64>() / n as f64;
        let sd_t = (t.iter().map(|v| (v - mean_t).powi(2)).sum::<f64>() / n as f64).sqrt();
        let mut members: Vec<Vec<f64>> = vec![Vec::new(); k];
        let mut t_sums = vec![0.0; k];
        for (i, &l) in labels.iter().enumerate() {
            members[l].push(raw[i]);
            t_sums[l] += t[i];
        }
        for (c, m) in members.iter_mut().enumerate() {
            m.sort_by(f64::total_cmp);
            let size = m.len().max(1) as f64;
            let z = if sd_t > 0.0 {
                (t_sums[c] / size - mean_t) / sd_t
            } else {
                0.0
            };
            let (q1, q3) = (quantile(m, 0.25), quantile(m, 0.75));
            let iqr = q3 - q1;
            let whisker_low = m
                .iter()
                .copied()
                .find(|&v| v >= q1 - 1.5 * iqr)
                .unwrap_or(q1);
            let whisker_high = m
                .iter()
                .rev()
                .copied()
                .find(|&v| v <= q3 + 1.5 * iqr)
                .unwrap_or(q3);
            out[c].features.push(FeatureStat {
                feature: f.id.clone(),
                mean: m.iter().sum::<f64>() / size,
                median: quantile(m, 0.5),
                z,
                q1,
                q3,
                whisker_low,
                whisker_high,
            });
        }
    }
    for c in &mut out {
        let mut by_z: Vec<(String, f64)> = c
            .features
            .iter()
            .map(|s| (s.feature.clone(), s.z))
            .collect();
        by_z.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        by_z.truncate(3);
        c.top = by_z;
    }
    Ok(out)
}

/// A centroid (clustering space) back in raw units, feature by feature.
pub fn centroid_raw(fitted: &FittedTransform, centroid: &[f64]) -> Vec<f64> {
    fitted
        .features
        .iter()
        .zip(centroid)
        .map(|(f, &c)| f.raw_of(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{Attribute, Profile, SessionSource};

    #[test]
    fn attribute_shares_count_every_user_of_the_cluster() {
        let profile = Profile {
            table: polars::prelude::DataFrame::empty(),
            features: vec![],
            unavailable: vec![],
            reference_time: None,
            sessions: SessionSource::None,
            kinds_found: vec![],
            attributes: vec![Attribute {
                name: "device".into(),
                values: [
                    "mobile", "mobile", "desktop", "", "tablet", "desktop", "desktop",
                ]
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect(),
            }],
        };
        let labels = [0, 0, 0, 0, 1, 1, 1];
        let shares = attribute_shares(&profile, &labels, &[4, 3]);
        // Cluster 0: 2 of 4 mobile, 1 desktop, 1 unknown (counted in the size, not shown).
        assert_eq!(
            shares[0][0].values,
            [("mobile".to_string(), 0.5), ("desktop".to_string(), 0.25)]
        );
        assert_eq!(shares[0][0].describe(), "50% mobile, 25% desktop");
        // Cluster 1: 2 desktop, 1 tablet.
        assert_eq!(shares[1][0].values[0], ("desktop".to_string(), 2.0 / 3.0));
        assert_eq!(shares[1][0].values.len(), 2);
    }
}
