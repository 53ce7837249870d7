//! The clustering engine against scikit-learn and scipy on the same matrix. Expected values come from
//! tests/oracle/cluster_oracle.py (fixture tests/fixtures/cluster/).
//!
//! Tolerances: silhouette values 1e-9 absolute; linkage heights 1e-9 relative (merge order and sizes
//! exact); PCA variance ratios 1e-9 absolute; k-means inertia no worse than scikit-learn's best of 10
//! restarts by more than 0.1%.

mod common;

use common::floats;
use persona_lab::cluster::{
    Hierarchical, KMeans, Linkage, Method, Pca, Points, SegmentParams, SilhouetteOptions, segment,
    silhouette,
};
use persona_lab::job::Job;
use serde_json::Value;

fn fixture() -> (Vec<f64>, usize, usize, Value) {
    let text = std::fs::read_to_string(common::repo("tests/fixtures/cluster/users.csv")).unwrap();
    let mut data = Vec::new();
    let mut n = 0;
    let mut d = 0;
    for line in text.lines().skip(1) {
        let vals: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        d = vals.len();
        data.extend(vals);
        n += 1;
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo("tests/fixtures/cluster/expected.json")).unwrap(),
    )
    .unwrap();
    (data, n, d, expected)
}

#[test]
fn kmeans_inertia_is_no_worse_than_sklearn() {
    let (data, n, d, exp) = fixture();
    let p = Points::new(&data, n, d);
    for k in [3usize, 5] {
        let theirs = exp["kmeans"][k.to_string()]["inertia"].as_f64().unwrap();
        for seed in [0u64, 1, 2] {
            let fit = KMeans::new(k).seed(seed).fit(&p, &Job::silent()).unwrap();
            assert!(
                fit.inertia <= theirs * 1.001,
                "k={k} seed={seed}: ours {} vs sklearn {theirs}",
                fit.inertia
            );
            assert!(fit.converged);
        }
    }
}

#[test]
fn silhouette_equals_sklearn_silhouette_samples() {
    let (data, n, d, exp) = fixture();
    let p = Points::new(&data, n, d);
    for k in [3usize, 5] {
        let e = &exp["kmeans"][k.to_string()];
        let labels: Vec<usize> = e["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let want = floats(&e["silhouette"]);
        let s = silhouette(
            &p,
            &labels,
            k,
            &SilhouetteOptions::default(),
            &Job::silent(),
        )
        .unwrap();
        assert!(s.exact);
        assert_eq!(s.sample_size, n);
        for (i, (got, want)) in s.values.iter().zip(&want).enumerate() {
            let got = got.unwrap();
            assert!((got - want).abs() < 1e-9, "k={k} user {i}: {got} vs {want}");
        }
        let mean = want.iter().sum::<f64>() / n as f64;
        assert!((s.mean - mean).abs() < 1e-9);
    }
}

#[test]
fn linkage_matrices_equal_scipy_for_all_four_methods() {
    let (data, n, d, exp) = fixture();
    let p = Points::new(&data, n, d);
    for (name, linkage) in [
        ("ward", Linkage::Ward),
        ("average", Linkage::Average),
        ("complete", Linkage::Complete),
        ("single", Linkage::Single),
    ] {
        let fit = Hierarchical::new(linkage).fit(&p, &Job::silent()).unwrap();
        assert!(fit.sample.is_none());
        let ours = fit.dendrogram.linkage_matrix();
        let theirs = exp["linkage"][name].as_array().unwrap();
        assert_eq!(ours.len(), n - 1);
        for (t, (o, row)) in ours.iter().zip(theirs).enumerate() {
            let row = floats(row);
            assert!(
                (o[2] - row[2]).abs() <= 1e-9 * row[2].abs().max(1e-12),
                "{name} step {t}: height {} vs {}",
                o[2],
                row[2]
            );
            assert_eq!(o[3], row[3], "{name} step {t}: size");
            assert_eq!((o[0], o[1]), (row[0], row[1]), "{name} step {t}: clusters");
        }
    }
}

#[test]
fn pca_variance_and_components_equal_sklearn() {
    let (data, n, d, exp) = fixture();
    let p = Points::new(&data, n, d);
    let pca = Pca::fit(&p, 2, &Job::silent()).unwrap();
    for (a, b) in pca
        .explained_variance_ratio
        .iter()
        .zip(floats(&exp["pca"]["explained_variance_ratio"]))
    {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    for (a, b) in pca
        .explained_variance
        .iter()
        .zip(floats(&exp["pca"]["explained_variance"]))
    {
        assert!((a - b).abs() < 1e-9 * b, "{a} vs {b}");
    }
    let comps: Vec<f64> = exp["pca"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(floats)
        .collect();
    for (a, b) in pca.components.iter().zip(&comps) {
        assert!((a - b).abs() < 1e-9, "component {a} vs {b}");
    }
    let rows: Vec<f64> = exp["pca"]["first_rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(floats)
        .collect();
    let ours = pca.transform(&p);
    for (a, b) in ours[..10].iter().zip(&rows) {
        assert!((a - b).abs() < 1e-9, "projection {a} vs {b}");
    }
}

#[test]
fn segment_is_reproducible_and_numbers_segments_by_size() {
    let (data, n, d, _) = fixture();
    let p = Points::new(&data, n, d);
    for method in Method::ALL {
        let params = SegmentParams {
            seed: 42,
            ..SegmentParams::new(method, 4)
        };
        let a = segment(&p, &params, &Job::silent()).unwrap();
        let b = segment(&p, &params, &Job::silent()).unwrap();
        assert_eq!(a, b, "{method}");
        assert_eq!(a.sizes.iter().sum::<usize>(), n);
        assert!(
            a.sizes.windows(2).all(|w| w[0] >= w[1]),
            "{method}: {:?}",
            a.sizes
        );
        assert_eq!(a.dendrogram.is_some(), method != Method::KMeans);
    }
}

#[test]
fn hierarchical_above_the_limit_samples_and_says_so() {
    let (data, n, d, _) = fixture();
    let p = Points::new(&data, n, d);
    let params = SegmentParams {
        exact_limit: Some(100),
        ..SegmentParams::new(Method::Average, 3)
    };
    let seg = segment(&p, &params, &Job::silent()).unwrap();
    assert_eq!(seg.fitted_on, Some(100));
    assert_eq!(seg.dendrogram.as_ref().unwrap().n, 100);
    assert_eq!(seg.labels.len(), n);
    assert!(seg.notes.iter().any(|s| s.contains("sample of 100 of 400")));
}

/// scikit-learn's `trustworthiness`: how well the embedding's k nearest neighbours were neighbours in
/// the input (1 = perfectly).
fn trustworthiness(x: &[f64], d: usize, emb: &[f64], n: usize, k: usize) -> f64 {
    let dist = |v: &[f64], dim: usize, i: usize, j: usize| -> f64 {
        (0..dim)
            .map(|t| (v[i * dim + t] - v[j * dim + t]).powi(2))
            .sum()
    };
    let mut total = 0.0;
    for i in 0..n {
        let mut orig: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        orig.sort_by(|&a, &b| dist(x, d, i, a).total_cmp(&dist(x, d, i, b)));
        let mut rank = vec![0usize; n];
        for (r, &j) in orig.iter().enumerate() {
            rank[j] = r + 1;
        }
        let mut near: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        near.sort_by(|&a, &b| dist(emb, 2, i, a).total_cmp(&dist(emb, 2, i, b)));
        for &j in &near[..k] {
            total += (rank[j] as f64 - k as f64).max(0.0);
        }
    }
    let (n, k) = (n as f64, k as f64);
    1.0 - total * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
}

#[test]
fn tsne_keeps_neighbourhoods_as_well_as_sklearn() {
    let (data, n, d, exp) = fixture();
    let p = Points::new(&data, n, d);
    let e = persona_lab::cluster::tsne(&p, &Default::default(), &Job::silent()).unwrap();
    assert_eq!(e.rows.len(), n);
    let ours = trustworthiness(&data, d, &e.embedding, n, 5);
    let theirs = exp["tsne"]["trustworthiness_5"].as_f64().unwrap();
    assert!(
        ours >= theirs - 0.01,
        "trustworthiness ours {ours} vs sklearn {theirs}"
    );
}
