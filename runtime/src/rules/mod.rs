//! If-then content rules: the model stored in the rule set file, their evaluation for one user
//! (`decide`), their validation, their text for people, and match counts over a population.

pub mod context;
pub mod describe;
pub mod eval;
pub mod model;
pub mod population;
mod region;
pub mod validate;

pub use context::{Event, Session, Shown, UserProfile, parse_time};
pub use eval::{Decision, Facts, Outcome, Trace, bucket, decide, holds, missed, preview};
pub use model::{
    Action, Caps, Cmp, Condition, EventMatch, Guardrails, Rule, Variant, Window, fresh_id,
    move_rule, renumber,
};
pub use population::Population;
pub use validate::{Finding, Known, Severity, validate};
