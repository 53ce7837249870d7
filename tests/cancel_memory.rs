//! Cancelling a background job frees what it allocated: the task drops a cancelled result on its
//! worker thread, so after the app hears "cancelled" the memory is back to where it was. Live heap
//! bytes are counted by a wrapping global allocator (exact, unlike the process's resident size, which
//! malloc does not always give back to the system).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use persona_lab::data::{self, LoadOptions};
use persona_lab::features::{self, FeatureConfig};
use persona_lab::sample::{SampleOptions, SampleStyle, write_sample};
use persona_lab::task::{Task, TaskError};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: usize = 1 << 20;

/// The app's load task: read the export and compute the profile.
fn load_task(path: std::path::PathBuf) -> Task<(data::Loaded, features::Profile)> {
    Task::spawn(
        "Loading",
        || {},
        move |job| {
            job.progress("loading", 0.0);
            let loaded = data::load(&path, &LoadOptions::default()).map_err(|e| e.to_string())?;
            job.check().map_err(|e| e.to_string())?;
            job.progress("features", 0.5);
            let profile = features::compute_profile(&loaded, &FeatureConfig::default())
                .map_err(|e| e.to_string())?;
            Ok((loaded, profile))
        },
    )
}

fn wait<T: Send + 'static>(t: &Task<T>) -> Result<T, TaskError> {
    let start = Instant::now();
    loop {
        if let Some(r) = t.poll() {
            return r;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the task hangs");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_cancelled_load_gives_its_memory_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.csv");
    let opts = SampleOptions {
        users: 3000,
        seed: 5,
        days: 90,
        style: SampleStyle::Ga4,
    };
    write_sample(&opts, &path, None).unwrap();

    // Warm up: the first runs build polars' and rayon's lasting state (thread pools, caches).
    for _ in 0..2 {
        let (loaded, profile) = wait(&load_task(path.clone())).unwrap();
        assert!(profile.n_users() > 2000 && loaded.n_users() > 2000);
    }
    let baseline = LIVE.load(Ordering::Relaxed);

    // Cancel once the job is computing features (the export is in memory by then).
    let t = load_task(path.clone());
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    let start = Instant::now();
    while t.progress().0 != "features" {
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::yield_now();
    }
    let during = LIVE.load(Ordering::Relaxed);
    t.cancel();
    let r = wait(&t);
    assert_eq!(r.err(), Some(TaskError::Cancelled));
    let peak = PEAK.load(Ordering::Relaxed);
    let after = LIVE.load(Ordering::Relaxed);
    eprintln!(
        "baseline {:.1} MiB, at cancel {:.1} MiB, peak {:.1} MiB, after {:.1} MiB",
        baseline as f64 / MIB as f64,
        during as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        after as f64 / MIB as f64
    );
    assert!(
        peak > baseline + 10 * MIB,
        "the job held the export in memory"
    );
    assert!(
        after < baseline + MIB,
        "a cancelled job keeps {:.1} MiB",
        (after as f64 - baseline as f64) / MIB as f64
    );
}

/// A job that finished its work after the cancel (past its last check) is reported cancelled, not
/// applied, and its result is dropped on the worker.
#[test]
fn a_result_finished_after_cancel_is_never_delivered() {
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let t = Task::spawn(
        "work",
        || {},
        move |_job| {
            go_rx.recv().unwrap();
            Ok(vec![0u8; 64])
        },
    );
    t.cancel();
    go_tx.send(()).unwrap();
    assert_eq!(wait(&t).err(), Some(TaskError::Cancelled));
}
