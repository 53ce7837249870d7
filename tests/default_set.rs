//! The default feature set is the catalogue subset that separates planted behaviour best: measured by
//! the silhouette of the planted groups (true labels) in each candidate feature space.

use persona_lab::features::ProfileTransform as _;
use std::collections::HashMap;
use std::path::Path;

use persona_lab::data::{self, LoadOptions};
use persona_lab::features::{self, FeatureChoice, FeatureConfig, Scaler, TransformSpec, transform};
use persona_lab::sample::{self, SampleOptions, SampleStyle};

/// Mean silhouette of given labels (Euclidean), as scikit-learn's silhouette_score.
fn silhouette(data: &[f64], d: usize, labels: &[usize]) -> f64 {
    let n = labels.len();
    let k = labels.iter().max().unwrap() + 1;
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    let mut total = 0.0;
    for i in 0..n {
        let mut sums = vec![0.0; k];
        for j in 0..n {
            if i == j {
                continue;
            }
            let dist: f64 = (0..d)
                .map(|c| (data[i * d + c] - data[j * d + c]).powi(2))
                .sum::<f64>()
                .sqrt();
            sums[labels[j]] += dist;
        }
        let own = labels[i];
        if sizes[own] <= 1 {
            continue;
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && sizes[c] > 0)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        total += (b - a) / a.max(b);
    }
    total / n as f64
}

fn truth(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut it = l.split(',');
            (
                it.next().unwrap().to_string(),
                it.next().unwrap().to_string(),
            )
        })
        .collect()
}

fn score(
    prof: &features::Profile,
    truth: &HashMap<String, String>,
    ids: &[&str],
    log: Option<bool>,
) -> f64 {
    let spec = TransformSpec {
        features: ids
            .iter()
            .filter(|id| prof.features.iter().any(|f| f == *id))
            .map(|id| FeatureChoice {
                log1p: log,
                ..FeatureChoice::new(*id)
            })
            .collect(),
        scaler: Scaler::Standard,
    };
    let fitted = transform::fit(prof, &spec).unwrap();
    let m = fitted.matrix(prof).unwrap();
    let mut names: Vec<&String> = truth.values().collect();
    names.sort();
    names.dedup();
    let labels: Vec<usize> = m
        .users
        .iter()
        .map(|u| names.iter().position(|n| *n == &truth[u]).unwrap())
        .collect();
    silhouette(&m.data, m.n_cols, &labels)
}

const VOLUMES: &[&str] = &[
    "events",
    "sessions",
    "active_days",
    "time_total",
    "page_views",
    "product_views",
    "cart_adds",
    "searches",
    "video_plays",
    "purchases",
    "revenue",
];

fn check(style: SampleStyle, file: &str) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(file);
    let t = d.path().join("truth.csv");
    let opts = SampleOptions {
        users: 900,
        seed: 21,
        days: 90,
        style,
    };
    sample::write_sample(&opts, &p, Some(&t)).unwrap();
    let l = data::load(&p, &LoadOptions::default()).unwrap();
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let truth = truth(&t);
    let all: Vec<&str> = prof.features.iter().map(|s| s.as_str()).collect();
    let default = score(&prof, &truth, features::DEFAULT_SET, None);
    let raw_default = score(&prof, &truth, features::DEFAULT_SET, Some(false));
    let volumes = score(&prof, &truth, VOLUMES, None);
    let everything = score(&prof, &truth, &all, None);
    println!(
        "{style:?}: silhouette of planted groups: default {default:.3}, default without log1p \
         {raw_default:.3}, volumes {volumes:.3}, all {} features {everything:.3}",
        all.len()
    );
    assert!(default > volumes, "rates should beat volumes");
    assert!(
        default > everything,
        "the default set should beat everything"
    );
    assert!(default > 0.1, "planted groups should be visibly separated");
}

#[test]
fn default_feature_set_separates_planted_groups_ga4() {
    check(SampleStyle::Ga4, "s.csv");
}

#[test]
fn default_feature_set_separates_planted_groups_segment() {
    check(SampleStyle::Segment, "s.ndjson");
}
