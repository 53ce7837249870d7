//! The app's background work in one registry: at most one running task per kind (starting one cancels
//! the one it replaces), results arriving as one `Done` enum in a fixed order, a cancelled task told
//! apart once, here, from a failed one. `PersonaApp::apply` is the one place results are applied.

use std::collections::BTreeMap;
use std::sync::Arc;

use persona_lab::cluster::{Stability, Sweep, Tsne};
use persona_lab::monitor::{drift::Drift, report::Report};
use persona_lab::pipeline::ClusterRun;
use persona_lab::predict::Prediction;
use persona_lab::rules::Population;
use persona_lab::ruleset::Coverage;
use persona_lab::task::{Task, TaskError};

use super::app::LoadOutcome;
use super::cache::{CoverageKey, SilLayout};
use super::charts::DrawnCurves;
use super::measure::Answer;
use super::state::{Basis, ProjectQuestion, Selection};
use persona_lab::features::preview::Preview;

/// What a task does; results are applied in this order when several finish in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Project,
    Load,
    Cluster,
    Sweep,
    Stability,
    Tsne,
    Preview,
    Monitor,
    Drift,
    Predict,
    Population,
    Measure,
    Coverage,
    Risk,
    Silhouette,
    Select,
    SimUser,
    Template,
    Export,
    Clipboard,
}

/// A finished task's result.
pub enum Done {
    Project(ProjectQuestion),
    Load(LoadOutcome),
    Cluster(Box<ClusterRun>),
    Sweep(Sweep),
    Stability((Arc<ClusterRun>, Stability)),
    Tsne((Arc<ClusterRun>, Tsne)),
    Preview(Preview),
    Monitor(Report),
    Drift(Drift),
    /// A trained model, and its curves as drawn.
    Predict(Box<(Prediction, DrawnCurves)>),
    Population((Basis, Population)),
    /// Answers about the analysed users, for the population they were measured on.
    Measured((Arc<Population>, Vec<(String, Answer)>)),
    Coverage((CoverageKey, Coverage)),
    Risk((Basis, persona_lab::predict::SegmentRisk)),
    Silhouette((Arc<ClusterRun>, SilLayout)),
    /// Users picked on a chart of this run.
    Select((Arc<ClusterRun>, Selection)),
    /// The analysed user Simulate asked for, or why there is none.
    SimUser(Result<persona_lab::rules::UserProfile, String>),
    /// A rule made from a template, and what of it came from the data (boxed: a rule is large).
    Template(Box<(persona_lab::rules::Rule, Option<String>)>),
    /// A file written: the message to show.
    Export(String),
    /// Text for the clipboard, and the message to show.
    Copied((String, String)),
}

impl Done {
    /// A clustering run (boxed: it is the largest result).
    pub fn cluster(run: ClusterRun) -> Done {
        Done::Cluster(Box::new(run))
    }
}

/// How a task ended.
pub enum Finished {
    Done(Done),
    /// Cancelled (by the user, or replaced by a newer task of its kind): nothing to apply or say.
    Cancelled,
    Failed(Kind, String),
}

/// A task of any result type, seen through what the registry needs.
trait Pending {
    fn poll(&self) -> Option<Result<Done, TaskError>>;
    fn cancel(&self);
    fn status(&self) -> (String, (String, f32), bool);
}

struct Typed<T> {
    task: Task<T>,
    wrap: fn(T) -> Done,
}

impl<T: Send + 'static> Pending for Typed<T> {
    fn poll(&self) -> Option<Result<Done, TaskError>> {
        self.task.poll().map(|r| r.map(self.wrap))
    }
    fn cancel(&self) {
        self.task.cancel();
    }
    fn status(&self) -> (String, (String, f32), bool) {
        self.task.status()
    }
}

#[derive(Default)]
pub struct Tasks {
    running: BTreeMap<Kind, Box<dyn Pending>>,
}

impl Tasks {
    /// Run `task` as the task of `kind`; a running one of the same kind is cancelled (its result
    /// would be stale).
    pub fn start<T: Send + 'static>(&mut self, kind: Kind, task: Task<T>, wrap: fn(T) -> Done) {
        if let Some(old) = self.running.insert(kind, Box::new(Typed { task, wrap })) {
            old.cancel();
        }
    }

    pub fn running(&self, kind: Kind) -> bool {
        self.running.contains_key(&kind)
    }

    /// Whether any task is running.
    pub fn any(&self) -> bool {
        !self.running.is_empty()
    }

    pub fn cancel(&self, kind: Kind) {
        if let Some(t) = self.running.get(&kind) {
            t.cancel();
        }
    }

    /// What a progress bar shows for a running task: label, (stage, fraction), cancelled.
    pub fn status(&self, kind: Kind) -> Option<(String, (String, f32), bool)> {
        self.running.get(&kind).map(|t| t.status())
    }

    /// The tasks that ended since the last call, in `Kind` order.
    pub fn finished(&mut self) -> Vec<Finished> {
        let done: Vec<(Kind, Result<Done, TaskError>)> = self
            .running
            .iter()
            .filter_map(|(k, t)| t.poll().map(|r| (*k, r)))
            .collect();
        done.into_iter()
            .map(|(kind, r)| {
                self.running.remove(&kind);
                match r {
                    Ok(d) => Finished::Done(d),
                    Err(TaskError::Cancelled) => Finished::Cancelled,
                    Err(TaskError::Failed(e)) => Finished::Failed(kind, e),
                }
            })
            .collect()
    }
}
