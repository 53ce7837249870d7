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
        // The name as written, in straight double quotes (no escaping: the contract's rule).
        EventMatch::Name(n) => format!("\"{n}\" events"),
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

/// A condition in words a customer reads after "because": no feature ids, no persona names, no
/// thresholds with decimals ("you haven't visited for a while", "you viewed products 3 times or
/// more in this session"). Analysts see the exact condition (`describe`) beside it.
pub fn customer(c: &Condition) -> String {
    match c {
        Condition::Always => "we show this to everyone".into(),
        // A persona's name is the team's label, not something to tell a customer.
        Condition::PersonaIn(_) | Condition::PersonaNotIn(_) => {
            "it suits how you usually browse and shop with us".into()
        }
        Condition::Feature(f, cmp) => customer_feature(f, *cmp),
        Condition::EventCount(e, w, cmp) => customer_events(e, *w, *cmp),
        Condition::Score(s, _) if s == "churn_risk" => "we would love to see you back".into(),
        Condition::Score(..) => "we think this may interest you".into(),
        Condition::Returning(true) => "you have visited us before".into(),
        Condition::Returning(false) => "this is your first visit".into(),
        Condition::Consent(true) => "you allowed personalisation".into(),
        Condition::Consent(false) => "you did not allow personalisation".into(),
        Condition::All(cs) | Condition::Any(cs) if cs.is_empty() => {
            "we show this to everyone".into()
        }
        Condition::All(cs) => {
            // Two conditions that read alike are said once.
            let mut parts: Vec<String> = Vec::new();
            for p in cs.iter().map(customer) {
                if !parts.contains(&p) {
                    parts.push(p);
                }
            }
            parts.join(" and ")
        }
        Condition::Any(cs) => customer(&cs[0]),
        // A negation rarely reads well to a customer: say what it is about.
        Condition::Not(_) => "of how you use our site".into(),
    }
}

/// Whether a comparison asks for "high" values (more than, at least) rather than low ones.
fn asks_high(c: Cmp) -> bool {
    matches!(c, Cmp::Gt(_) | Cmp::Ge(_))
        || matches!(c, Cmp::Between(a, _) if a > 0.0)
        || matches!(c, Cmp::Eq(t) if t > 0.0)
}

fn customer_feature(f: &str, c: Cmp) -> String {
    let high = asks_high(c);
    let said = match f {
        "recency_days" => {
            if high {
                "you haven't visited us for a while"
            } else {
                "you visited us recently"
            }
        }
        "tenure_days" => {
            if high {
                "you have been with us for a while"
            } else {
                "you are new here"
            }
        }
        "purchases" | "conversion_rate" => {
            if high {
                "you have ordered from us before"
            } else {
                "you haven't ordered from us yet"
            }
        }
        "revenue" | "avg_order_value" => {
            if high {
                "you are one of our valued customers"
            } else {
                "of what you have ordered so far"
            }
        }
        "sessions" | "active_days" | "frequency" | "events" | "decayed_events" => {
            if high {
                "you visit us often"
            } else {
                "you have only visited a few times"
            }
        }
        "searches" | "searches_per_session" => "of what you have searched for",
        "product_views" | "product_views_per_session" => "of the products you have looked at",
        "cart_adds" | "cart_adds_per_session" | "add_to_cart_rate" => {
            "of the items you added to your cart"
        }
        "video_plays" | "video_plays_per_session" => "of the videos you watch",
        "time_total" | "time_per_session" | "scroll_mean" | "scroll_max" => {
            if high {
                "you like to take your time reading"
            } else {
                "you like to browse quickly"
            }
        }
        _ => "of how you use our site",
    };
    said.into()
}

fn customer_events(e: &EventMatch, w: Window, c: Cmp) -> String {
    let verb = match e {
        EventMatch::Kind(EventKind::PageView) => "viewed our pages",
        EventMatch::Kind(EventKind::ProductView) => "viewed products",
        EventMatch::Kind(EventKind::AddToCart) => "added items to your cart",
        EventMatch::Kind(EventKind::Purchase) => "ordered",
        EventMatch::Kind(EventKind::Search) => "searched",
        EventMatch::Kind(EventKind::VideoPlay) => "watched videos",
        EventMatch::Name(_) => "were active",
    };
    let when = match w {
        Window::Session => " in this visit".to_string(),
        Window::Days(1) => " today".to_string(),
        Window::Days(n) => format!(" in the last {n} days"),
    };
    // Counts are whole: "more than 2.5 times" is "3 times or more".
    let n = |t: f64| t.max(0.0).ceil() as u64;
    let times = |k: u64| match k {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        k => format!("{k} times"),
    };
    match c {
        Cmp::Gt(t) if t < 1.0 => format!("you {verb}{when}"),
        Cmp::Ge(t) if t <= 1.0 => format!("you {verb}{when}"),
        Cmp::Gt(t) => format!("you {verb} {} or more{when}", times(t.floor() as u64 + 1)),
        Cmp::Ge(t) => format!("you {verb} {} or more{when}", times(n(t))),
        Cmp::Eq(0.0) => format!("you haven't {verb}{when}"),
        Cmp::Lt(t) if t <= 1.0 => format!("you haven't {verb}{when}"),
        Cmp::Le(t) if t < 1.0 => format!("you haven't {verb}{when}"),
        Cmp::Eq(t) => format!("you {verb} {}{when}", times(n(t))),
        Cmp::Lt(_) | Cmp::Le(_) => format!("you have only {verb} a few times{when}"),
        Cmp::Between(..) => format!("you {verb} a few times{when}"),
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
    fn customers_read_plain_words() {
        let product = |cmp| {
            Condition::EventCount(
                EventMatch::Kind(EventKind::ProductView),
                Window::Session,
                cmp,
            )
        };
        assert_eq!(
            customer(&product(Cmp::Gt(2.0))),
            "you viewed products 3 times or more in this visit"
        );
        assert_eq!(
            customer(&product(Cmp::Ge(2.0))),
            "you viewed products twice or more in this visit"
        );
        assert_eq!(
            customer(&product(Cmp::Gt(0.0))),
            "you viewed products in this visit"
        );
        assert_eq!(
            customer(&product(Cmp::Eq(0.0))),
            "you haven't viewed products in this visit"
        );
        assert_eq!(
            customer(&Condition::Feature("recency_days".into(), Cmp::Gt(21.5))),
            "you haven't visited us for a while"
        );
        let c = Condition::All(vec![
            Condition::PersonaIn(vec!["segment_0".into()]),
            Condition::Feature("sessions".into(), Cmp::Ge(10.0)),
            Condition::Feature("frequency".into(), Cmp::Ge(2.0)),
        ]);
        // No persona name or id, no feature id, no threshold; a repeated phrase said once.
        assert_eq!(
            customer(&c),
            "it suits how you usually browse and shop with us and you visit us often"
        );
    }

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
