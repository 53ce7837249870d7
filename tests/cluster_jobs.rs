//! Long clustering work reports progress and stops promptly when cancelled from another thread (what the
//! GUI's worker threads rely on); fitting on a sample assigns everyone; hierarchical sweeps cut one tree.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use persona_lab::cluster::{KMeans, Method, Points, SegmentParams, segment, sweep};
use persona_lab::error::ClusterError;
use persona_lab::job::Job;

fn data(n: usize, d: usize) -> Vec<f64> {
    (0..n * d)
        .map(|i| ((i * 7919 % 10007) as f64 * 0.013).sin() * (1 + i % 5) as f64)
        .collect()
}

#[test]
fn cancelling_from_another_thread_stops_kmeans_promptly() {
    let v = data(200_000, 8);
    let p = Points::new(&v, 200_000, 8);
    let seen = Arc::new(Mutex::new(Vec::<(String, f32)>::new()));
    let s2 = seen.clone();
    let job = Job::with_reporter(move |stage, f| s2.lock().unwrap().push((stage.into(), f)));
    let flag = job.cancel_flag();
    let started = seen.clone();
    // Cancel once the fit is under way, not after a fixed delay: on a loaded CI machine 300 ms could pass
    // before the first restart began, and a job cancelled before it starts reports nothing.
    let canceller = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while started.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(200));
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
        Instant::now()
    });
    // 1,000 restarts would take minutes.
    let r = KMeans::new(8).n_init(1000).fit(&p, &job);
    let stopped = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert!(matches!(r, Err(ClusterError::Cancelled)), "{r:?}");
    assert!(
        stopped.duration_since(cancelled_at) < Duration::from_secs(2),
        "took {:?} to stop",
        stopped.duration_since(cancelled_at)
    );
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "progress was reported");
    assert!(
        seen.iter()
            .all(|(s, f)| s == "k-means" && (0.0..=1.0).contains(f))
    );
}

#[test]
fn fitting_on_a_sample_assigns_everyone_and_loses_little() {
    let v = data(20_000, 4);
    let p = Points::new(&v, 20_000, 4);
    let full = segment(&p, &SegmentParams::new(Method::KMeans, 5), &Job::silent()).unwrap();
    let params = SegmentParams {
        fit_sample: Some(2_000),
        ..SegmentParams::new(Method::KMeans, 5)
    };
    let sampled = segment(&p, &params, &Job::silent()).unwrap();
    assert_eq!(sampled.labels.len(), 20_000);
    assert_eq!(sampled.fitted_on, Some(2_000));
    assert!(sampled.notes.iter().any(|n| n.contains("sample of 2000")));
    assert!(
        sampled.inertia <= full.inertia * 1.05,
        "sampled {} vs full {}",
        sampled.inertia,
        full.inertia
    );
}

#[test]
fn hierarchical_sweep_cuts_one_tree_like_segment_does() {
    let v = data(600, 3);
    let p = Points::new(&v, 600, 3);
    let base = SegmentParams::new(Method::Complete, 2);
    let s = sweep(&p, &base, 2, 6, &Default::default(), 0, &Job::silent()).unwrap();
    assert_eq!(s.points.len(), 5);
    for pt in &s.points {
        let seg = segment(
            &p,
            &SegmentParams {
                k: pt.k,
                ..base.clone()
            },
            &Job::silent(),
        )
        .unwrap();
        assert!(
            (seg.inertia - pt.inertia).abs() <= 1e-9 * seg.inertia,
            "k={}: {} vs {}",
            pt.k,
            seg.inertia,
            pt.inertia
        );
    }
    let best = s
        .points
        .iter()
        .max_by(|a, b| a.silhouette.total_cmp(&b.silhouette))
        .unwrap();
    assert_eq!(s.recommended_k, best.k);
}

#[test]
fn merging_and_splitting_segments_recompute_everything() {
    use persona_lab::pipeline;
    let (profile, run) = fashion_run(4);
    let sizes = run.segmentation.sizes.clone();
    let merged = pipeline::merged_labels(&run.segmentation.labels, 1, 3);
    let m = pipeline::relabel(
        &run,
        &profile,
        &merged,
        "merged".into(),
        &Default::default(),
        &Job::silent(),
    )
    .unwrap();
    assert_eq!(m.segmentation.k, 3);
    assert!(m.segmentation.sizes.contains(&(sizes[1] + sizes[3])));
    assert_eq!(m.profiles.len(), 3);
    assert_eq!(m.silhouette.values.len(), run.silhouette.values.len());
    // Members of the old segments 1 and 3 now share a segment; 0 and 2 are untouched.
    let l = &m.segmentation.labels;
    let old = &run.segmentation.labels;
    let joint: Vec<usize> = (0..l.len())
        .filter(|&i| old[i] == 1 || old[i] == 3)
        .map(|i| l[i])
        .collect();
    assert!(joint.windows(2).all(|w| w[0] == w[1]));

    let split = pipeline::split_labels(&run, 0, 5, &Job::silent()).unwrap();
    let s = pipeline::relabel(
        &run,
        &profile,
        &split,
        "split".into(),
        &Default::default(),
        &Job::silent(),
    )
    .unwrap();
    assert_eq!(s.segmentation.k, 5);
    assert_eq!(s.segmentation.sizes.iter().sum::<usize>(), l.len());
    assert!(s.segmentation.inertia < run.segmentation.inertia);
}

/// The Clusters view's selection export is the core's table: the chosen users in the order given,
/// their segment and silhouette, and each feature in its own units (the profile's value).
#[test]
fn a_selection_table_holds_the_profile_values_of_the_chosen_users() {
    let (profile, run) = fashion_run(3);
    let sel = [5usize, 0, 17, run.matrix.n_rows + 3];
    let t = run.selection_table(&sel).unwrap();
    assert_eq!(t.height(), 3, "a position past the run is left out");
    let ids = t.column("user_id").unwrap().str().unwrap().clone();
    let users = profile.user_ids();
    for (r, &i) in sel[..3].iter().enumerate() {
        let id = ids.get(r).unwrap();
        assert_eq!(id, run.matrix.users[i]);
        let seg = t.column("segment").unwrap().u32().unwrap().get(r).unwrap();
        assert_eq!(seg as usize, run.segmentation.labels[i]);
        let row = users.iter().position(|u| u == id).unwrap();
        for f in &run.fitted.features {
            let want = profile.column(&f.id).unwrap()[row].unwrap();
            let got = t.column(&f.id).unwrap().f64().unwrap().get(r).unwrap();
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{id} {}: {got} vs {want}",
                f.id
            );
        }
    }
}

/// The fashion sample's users table, profiled and clustered by k-means with `k` segments.
fn fashion_run(
    k: usize,
) -> (
    persona_lab::features::Profile,
    persona_lab::pipeline::ClusterRun,
) {
    use persona_lab::features::{FeatureConfig, TransformSpec};
    use persona_lab::pipeline::{self, RunSettings};
    let loaded = persona_lab::data::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/fashion_users.csv"),
        &Default::default(),
    )
    .unwrap();
    let profile =
        persona_lab::features::compute_profile(&loaded, &FeatureConfig::default()).unwrap();
    let spec = TransformSpec::default_for(&profile);
    let settings = RunSettings {
        params: SegmentParams::new(Method::KMeans, k),
        silhouette: Default::default(),
    };
    let run = pipeline::cluster_profile(&profile, &spec, &settings, &Job::silent()).unwrap();
    (profile, run)
}
