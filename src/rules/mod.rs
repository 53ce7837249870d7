//! If-then content rules. The rules themselves (model, evaluation, validation, wording, population
//! counts) live in the runtime crate, which deployments use alone; the templates, which read the
//! team's folder and the data's percentiles, live here.

pub mod template;

pub use persona_lab_runtime::rules::{
    Action, Caps, Cmp, Condition, Decision, Event, EventMatch, Facts, Finding, Guardrails, Known,
    Outcome, Population, Rule, Session, Severity, Shown, Trace, UserProfile, Variant, Window,
    bucket, context, decide, describe, eval, fresh_id, holds, model, move_rule, parse_time,
    population, preview, renumber, validate,
};
pub use template::{RuleTemplate, TemplateContext};
