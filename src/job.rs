//! Progress reporting and cancellation for long computations.
//!
//! A [`Job`] is handed to every long-running core function. The function reports how far it is and checks
//! the cancel flag between units of work; the GUI runs it on a worker thread and owns the other end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A computation stopped because its job was cancelled: the one cancelled error, which every
/// step's error type takes in (`From`), so a cancel is told apart by type, never by its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

type Reporter = Arc<dyn Fn(&str, f32) + Send + Sync>;

/// The handle a computation uses to report progress and notice a cancel request.
#[derive(Clone, Default)]
pub struct Job {
    cancel: Arc<AtomicBool>,
    reporter: Option<Reporter>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Job {
    /// A job nobody watches and nobody cancels (tests, the CLI without `--progress`).
    pub fn silent() -> Self {
        Self::default()
    }

    /// A job that calls `report(stage, fraction)` as it goes (fraction in 0..=1 within the stage).
    pub fn with_reporter(report: impl Fn(&str, f32) + Send + Sync + 'static) -> Self {
        Job {
            cancel: Arc::default(),
            reporter: Some(Arc::new(report)),
        }
    }

    /// The flag another thread sets to cancel the job.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancel was requested; call it between units of work.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    pub fn progress(&self, stage: &str, fraction: f32) {
        if let Some(r) = &self.reporter {
            r(stage, fraction.clamp(0.0, 1.0));
        }
    }
}
