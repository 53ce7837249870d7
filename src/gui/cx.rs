//! What a view is given to draw: the analysis and the caches derived from it to read, its own window
//! state to change, and the action queue to ask for everything else. A view cannot change the analysis:
//! it edits a copy and sends it as an `Action::Edit`, applied after the frame (`PersonaApp::act`).

use std::path::PathBuf;
use std::sync::Arc;

use persona_lab::rules::RuleTemplate;

use super::actions::{Action, Edit};
use super::cache::Caches;
use super::state::{Analysis, ViewState};
use super::tasks::{Kind, Tasks};

pub struct Cx<'a> {
    pub analysis: &'a Analysis,
    pub state: &'a mut ViewState,
    pub caches: &'a Caches,
    tasks: &'a Tasks,
    /// Recently opened files, newest first.
    pub recent: &'a [PathBuf],
    /// Rule templates: the shipped ones and the team's own.
    pub templates: &'a [RuleTemplate],
    actions: &'a mut Vec<Action>,
}

impl<'a> Cx<'a> {
    pub fn new(
        analysis: &'a Analysis,
        state: &'a mut ViewState,
        caches: &'a Caches,
        tasks: &'a Tasks,
        recent: &'a [PathBuf],
        templates: &'a [RuleTemplate],
        actions: &'a mut Vec<Action>,
    ) -> Self {
        Cx {
            analysis,
            state,
            caches,
            tasks,
            recent,
            templates,
            actions,
        }
    }

    /// Ask the app for something after the frame.
    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// Send an edit of the analysis.
    pub fn edit(&mut self, edit: Edit) {
        self.actions.push(Action::Edit(Box::new(edit)));
    }

    /// Whether a task of this kind is running.
    pub fn running(&self, kind: Kind) -> bool {
        self.tasks.running(kind)
    }

    /// Shorthands for the caches of the current analysis.
    pub fn population(&self) -> Option<Arc<persona_lab::rules::Population>> {
        self.caches.population(self.analysis)
    }
}
