//! What the views share besides the analysis: the identity of the results previews were computed
//! from, and caches of core results keyed by it. Imports no view.

use std::sync::Arc;

use persona_lab::pipeline::ClusterRun;
use persona_lab::predict::{self, Prediction, SegmentRisk};
use persona_lab::rules::{Guardrails, Rule};

use super::app::PersonaApp;
use super::state::{ExportKey, ExportPreview};

/// The run and model rule previews were computed from (compared by identity).
#[derive(Debug, Clone)]
pub struct Basis {
    pub run: Arc<ClusterRun>,
    pub prediction: Option<Arc<Prediction>>,
}

impl PartialEq for Basis {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.run, &o.run)
            && match (&self.prediction, &o.prediction) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

/// What coverage depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageKey {
    pub rules: Vec<Rule>,
    pub guardrails: Guardrails,
    pub basis: Option<Basis>,
}

/// The model's scores per segment of the current run (the core's `segment_risk`), cached per
/// (run, model).
pub fn current_risk(app: &mut PersonaApp) -> Option<Arc<SegmentRisk>> {
    let basis = app.basis()?;
    let pred = basis.prediction.clone()?;
    if let Some((b, v)) = &app.ui_state.risk
        && *b == basis
    {
        return Some(v.clone());
    }
    let run = &basis.run;
    let v = Arc::new(predict::segment_risk(
        &pred,
        &run.matrix.users,
        &run.segmentation.labels,
        run.segmentation.k,
    ));
    app.ui_state.risk = Some((basis, v.clone()));
    Some(v)
}

/// The preview of the file, rebuilt when the run, personas, rules or guardrails change.
pub fn export_preview(app: &mut PersonaApp) -> Option<ExportPreview> {
    let key = ExportKey {
        basis: app.basis()?,
        personas: app.analysis.personas.clone(),
        rules: app.analysis.rules.clone(),
        guardrails: app.analysis.guardrails.clone(),
    };
    if app.ui_state.rules.export_preview.as_ref().map(|p| &p.0) != Some(&key) {
        let rs = app.rule_set()?;
        let p = ExportPreview {
            text: rs.to_ron().map_err(|e| e.to_string()),
            findings: rs.validate(),
            overview: persona_lab::ruleset::overview::overview(&rs),
        };
        app.ui_state.rules.export_preview = Some((key, p));
    }
    app.ui_state
        .rules
        .export_preview
        .as_ref()
        .map(|p| p.1.clone())
}
