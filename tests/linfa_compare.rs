//! Where linfa 0.8.1 is right, our engine agrees with it: k-means on well-separated groups (same
//! partition, same centroids) and the mean silhouette when no cluster is a singleton (linfa scores
//! singletons 1 where scikit-learn and we score 0, so those are avoided here).

use linfa::DatasetBase;
use linfa::metrics::SilhouetteScore;
use linfa::prelude::{Fit, Predict};
use linfa_clustering::KMeans as LinfaKMeans;
use ndarray::Array2;
use persona_lab::cluster::{KMeans, Points, SilhouetteOptions, adjusted_rand_index, silhouette};
use persona_lab::job::Job;

/// Four groups far apart in 3-D, with deterministic jitter.
fn groups() -> (Vec<f64>, usize, usize) {
    let centres = [
        [0.0, 0.0, 0.0],
        [12.0, 0.0, 3.0],
        [0.0, 15.0, -4.0],
        [-9.0, -9.0, 9.0],
    ];
    let mut data = Vec::new();
    for (g, c) in centres.iter().enumerate() {
        for i in 0..75 {
            for (j, cj) in c.iter().enumerate() {
                data.push(cj + ((i * 31 + j * 17 + g * 7) as f64 * 0.61).sin() * 1.5);
            }
        }
    }
    (data, 300, 3)
}

#[test]
fn kmeans_agrees_with_linfa_on_separated_groups() {
    let (data, n, d) = groups();
    let p = Points::new(&data, n, d);
    let ours = KMeans::new(4).seed(1).fit(&p, &Job::silent()).unwrap();

    let x = Array2::from_shape_vec((n, d), data.clone()).unwrap();
    let ds = DatasetBase::from(x.clone());
    // linfa's tolerance is absolute; a tiny one lets it reach the same fixed point as ours.
    let model = LinfaKMeans::params(4)
        .tolerance(1e-12)
        .max_n_iterations(1000)
        .fit(&ds)
        .expect("linfa k-means");
    let theirs: Vec<usize> = model.predict(&x).to_vec();
    assert_eq!(adjusted_rand_index(&ours.labels, &theirs), 1.0);
    // Same centroids, up to order.
    for c in 0..4 {
        let mine = &ours.centroids[c * d..(c + 1) * d];
        let best = model
            .centroids()
            .rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .zip(mine)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            })
            .fold(f64::INFINITY, f64::min);
        assert!(best < 1e-9, "centroid {c} differs from linfa's by {best}");
    }
}

#[test]
fn mean_silhouette_agrees_with_linfa_without_singletons() {
    let (data, n, d) = groups();
    let p = Points::new(&data, n, d);
    // A deliberately imperfect labelling, so the value is not trivially near 1.
    let labels: Vec<usize> = (0..n)
        .map(|i| (i / 75 + usize::from(i % 9 == 0)) % 4)
        .collect();
    let ours = silhouette(
        &p,
        &labels,
        4,
        &SilhouetteOptions::default(),
        &Job::silent(),
    )
    .unwrap();
    let x = Array2::from_shape_vec((n, d), data).unwrap();
    let ds = DatasetBase::new(x, ndarray::Array1::from(labels));
    let theirs: f64 = ds.silhouette_score().unwrap();
    assert!(
        (ours.mean - theirs).abs() < 1e-9,
        "ours {} vs linfa {theirs}",
        ours.mean
    );
}
