//! Conditions as readable text, for explanations, the rule list and validation messages.

use super::model::{Cmp, Condition, EventMatch, Window};
use crate::features::EventKind;

/// Persona id → display name; ids without a name are shown as they are.
pub type PersonaNames<'a> = &'a dyn Fn(&str) -> String;

pub fn cmp_text(c: Cmp) -> String {
    match c {
        Cmp::Gt(t) => format!("> {}", num(t)),
        Cmp::Ge(t) => format!(">= {}", num(t)),
        Cmp::Lt(t) => format!("< {}", num(t)),
        Cmp::Le(t) => format!("<= {}", num(t)),
        Cmp::Eq(t) => format!("= {}", num(t)),
        Cmp::Between(a, b) => format!("between {} and {}", num(a), num(b)),
    }
}

/// A number without trailing zeros: 2 rather than 2.000000.
pub fn num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub fn event_text(e: &EventMatch) -> String {
    match e {
        EventMatch::Name(n) => format!("{n:?} events"),
        EventMatch::Kind(k) => match k {
            EventKind::PageView => "page views",
            EventKind::ProductView => "product views",
            EventKind::AddToCart => "add-to-cart events",
            EventKind::Purchase => "purchases",
            EventKind::Search => "searches",
            EventKind::VideoPlay => "video plays",
        }
        .into(),
    }
}

pub fn window_text(w: Window) -> String {
    match w {
        Window::Session => "in this session".into(),
        Window::Days(1) => "in the last day".into(),
        Window::Days(n) => format!("in the last {n} days"),
    }
}

pub fn describe(c: &Condition, names: PersonaNames) -> String {
    let list = |ids: &[String]| {
        ids.iter()
            .map(|i| names(i))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match c {
        Condition::Always => "everyone".into(),
        Condition::PersonaIn(ids) => format!("you belong to {}", list(ids)),
        Condition::PersonaNotIn(ids) => format!("you do not belong to {}", list(ids)),
        Condition::Feature(f, cmp) => format!("{f} {}", cmp_text(*cmp)),
        Condition::EventCount(e, w, cmp) => {
            format!("{} {} {}", event_text(e), window_text(*w), cmp_text(*cmp))
        }
        Condition::Score(s, cmp) => format!("{s} {}", cmp_text(*cmp)),
        Condition::Returning(true) => "you are a returning visitor".into(),
        Condition::Returning(false) => "this is your first visit".into(),
        Condition::Consent(true) => "you allowed personalisation".into(),
        Condition::Consent(false) => "you did not allow personalisation".into(),
        Condition::All(cs) if cs.is_empty() => "everyone".into(),
        Condition::Any(cs) if cs.is_empty() => "nobody".into(),
        Condition::All(cs) => join(cs, " and ", names),
        Condition::Any(cs) => join(cs, " or ", names),
        Condition::Not(inner) => format!("not ({})", describe(inner, names)),
    }
}

fn join(cs: &[Condition], sep: &str, names: PersonaNames) -> String {
    cs.iter()
        .map(|c| match c {
            Condition::All(v) | Condition::Any(v) if v.len() > 1 => {
                format!("({})", describe(c, names))
            }
            _ => describe(c, names),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_as_sentences() {
        let names = |id: &str| {
            if id == "segment_0" {
                "High-Value Engager".to_string()
            } else {
                id.to_string()
            }
        };
        let c = Condition::All(vec![
            Condition::PersonaIn(vec!["segment_0".into()]),
            Condition::EventCount(
                EventMatch::Kind(EventKind::ProductView),
                Window::Session,
                Cmp::Gt(2.0),
            ),
            Condition::Any(vec![
                Condition::Feature("recency_days".into(), Cmp::Le(7.5)),
                Condition::Returning(true),
            ]),
        ]);
        assert_eq!(
            describe(&c, &names),
            "you belong to High-Value Engager and product views in this session > 2 and \
             (recency_days <= 7.5 or you are a returning visitor)"
        );
    }
}
