//! Background tasks: every long computation runs on its own thread with progress, cancel, and panic
//! capture, so the window keeps drawing and a failing job becomes an error message, not a dead app.
//! In the core (it has no GUI code) so tests can check what cancelling does without a window.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Mutex};

use crate::job::Job;

/// The text a panic carried (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Why a task gave no result: cancelled (told by the job's flag, once, here), or failed with a
/// message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

pub struct Task<T> {
    pub label: String,
    rx: Receiver<Result<T, TaskError>>,
    job: Job,
    progress: Arc<Mutex<(String, f32)>>,
}

impl<T: Send + 'static> Task<T> {
    /// Run `work` on a new thread. `repaint` is called whenever there is news (progress or the result).
    pub fn spawn(
        label: impl Into<String>,
        repaint: impl Fn() + Send + Sync + Clone + 'static,
        work: impl FnOnce(&Job) -> Result<T, String> + Send + 'static,
    ) -> Self {
        let label = label.into();
        let progress = Arc::new(Mutex::new((label.clone(), 0.0)));
        let p2 = progress.clone();
        let r2 = repaint.clone();
        let job = Job::with_reporter(move |stage, f| {
            if let Ok(mut p) = p2.lock() {
                *p = (stage.to_string(), f);
            }
            r2();
        });
        let (tx, rx) = channel();
        let worker_job = job.clone();
        std::thread::spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| work(&worker_job))).unwrap_or_else(|p| {
                Err(format!(
                    "internal error (the job crashed): {}",
                    panic_message(p.as_ref())
                ))
            });
            // A cancelled job's result is never applied: drop it here, on the worker, so its memory
            // is freed now (a job that was past its last cancel check still finishes its result).
            // (Bound and dropped by name: with `Ok(_)` the value would stay alive in `result` until
            // the thread ends, after the app has already heard "cancelled"; a test caught that race.)
            // Cancelled is what the flag says: a job that noticed it returns some error (its step's
            // Cancelled, as text), one that finished first returns a result nobody will apply.
            let result = match result {
                Ok(done) if worker_job.is_cancelled() => {
                    drop(done);
                    Err(TaskError::Cancelled)
                }
                Err(_) if worker_job.is_cancelled() => Err(TaskError::Cancelled),
                Ok(done) => Ok(done),
                Err(message) => Err(TaskError::Failed(message)),
            };
            let _ = tx.send(result);
            repaint();
        });
        Task {
            label,
            rx,
            job,
            progress,
        }
    }

    /// The result, once the thread is done.
    pub fn poll(&self) -> Option<Result<T, TaskError>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(TaskError::Failed(
                "the job ended without a result".into(),
            ))),
        }
    }

    pub fn cancel(&self) {
        self.job.cancel();
    }

    /// What a progress bar shows: the label, the stage and fraction done, and whether it was cancelled.
    pub fn status(&self) -> (String, (String, f32), bool) {
        (self.label.clone(), self.progress(), self.is_cancelled())
    }

    pub fn is_cancelled(&self) -> bool {
        self.job.is_cancelled()
    }

    pub fn progress(&self) -> (String, f32) {
        self.progress
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|_| (self.label.clone(), 0.0))
    }
}
