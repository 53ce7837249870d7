//! Features in words a strategist reads: a display name with its unit for every feature id
//! ("Days since last visit", "Time per session (min)"), and values in that unit ("12 days", "4.5 min",
//! "38%"). Ids stay the names in files and rules; these are for cards, charts and descriptions.

use super::aggregate::ONE_HOT_PREFIX;
use super::catalogue::{COUNT_PREFIX, FeatureKind, kind_of};

/// The unit a feature is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A plain number (counts, rates per session, money in the export's currency).
    Number,
    /// Stored in seconds, shown in minutes.
    Minutes,
    Days,
    /// A percentage 0..100.
    Percent,
    /// A share 0..1, shown as a percentage.
    Share,
}

/// A feature's display name (with its unit where one helps) and unit.
pub fn label(id: &str) -> (String, Unit) {
    let fixed = |s: &str, u: Unit| (s.to_string(), u);
    match id {
        "events" => fixed("Events", Unit::Number),
        "sessions" => fixed("Visits", Unit::Number),
        "active_days" => fixed("Active days", Unit::Number),
        "events_per_session" => fixed("Actions per visit", Unit::Number),
        "time_total" => fixed("Time on site (min)", Unit::Minutes),
        "time_per_session" => fixed("Time per visit (min)", Unit::Minutes),
        "scroll_mean" => fixed("Scroll depth (%)", Unit::Percent),
        "scroll_max" => fixed("Deepest scroll (%)", Unit::Percent),
        "recency_days" => fixed("Days since last visit", Unit::Days),
        "tenure_days" => fixed("Days since first visit", Unit::Days),
        "frequency" => fixed("Visits per week", Unit::Number),
        "page_views" => fixed("Pages viewed", Unit::Number),
        "page_views_per_session" => fixed("Pages per visit", Unit::Number),
        "product_views" => fixed("Products viewed", Unit::Number),
        "product_views_per_session" => fixed("Products viewed per visit", Unit::Number),
        "cart_adds" => fixed("Cart adds", Unit::Number),
        "cart_adds_per_session" => fixed("Cart adds per visit", Unit::Number),
        "add_to_cart_rate" => fixed("Viewed products added to cart (%)", Unit::Share),
        "searches" => fixed("Searches", Unit::Number),
        "searches_per_session" => fixed("Searches per visit", Unit::Number),
        "video_plays" => fixed("Videos played", Unit::Number),
        "video_plays_per_session" => fixed("Videos per visit", Unit::Number),
        "purchases" => fixed("Orders", Unit::Number),
        "revenue" => fixed("Revenue", Unit::Number),
        "avg_order_value" => fixed("Average order value", Unit::Number),
        "conversion_rate" => fixed("Orders per visit", Unit::Number),
        "decayed_events" => fixed("Recent activity (decayed events)", Unit::Number),
        "churn_risk" => fixed("Churn risk", Unit::Share),
        "conversion_score" => fixed("Conversion score", Unit::Share),
        _ => {
            if let Some(name) = id.strip_prefix(COUNT_PREFIX) {
                (format!("{} events", humanise(name)), Unit::Number)
            } else if let Some((how, column)) = [
                ("total", "sum:"),
                ("average per event", "mean:"),
                ("highest", "max:"),
            ]
            .iter()
            .find_map(|(how, p)| id.strip_prefix(p).map(|c| (how, c)))
            {
                // sum:event_params.quantity -> "Quantity (total)": GA4's prefix says nothing.
                let column = column.strip_prefix("event_params.").unwrap_or(column);
                (format!("{} ({how})", humanise(column)), Unit::Number)
            } else if let Some(rest) = id.strip_prefix(ONE_HOT_PREFIX) {
                // is:device.category=mobile -> "Device category: mobile (%)"
                let (col, value) = rest.split_once('=').unwrap_or((rest, ""));
                (format!("{}: {value} (%)", humanise(col)), Unit::Share)
            } else {
                let unit = match kind_of(id) {
                    FeatureKind::Days => Unit::Days,
                    FeatureKind::Percent => Unit::Percent,
                    FeatureKind::Ratio => Unit::Share,
                    FeatureKind::Seconds => Unit::Minutes,
                    _ => Unit::Number,
                };
                (humanise(id), unit)
            }
        }
    }
}

/// The display name alone.
pub fn name(id: &str) -> String {
    label(id).0
}

/// "lifetime_value" -> "Lifetime value", "device.category" -> "Device category", "Product Viewed"
/// stays as it is.
pub fn humanise(raw: &str) -> String {
    let spaced: String = raw
        .chars()
        .map(|c| if matches!(c, '_' | '.' | '-') { ' ' } else { c })
        .collect();
    let spaced = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => raw.to_string(),
    }
}

/// A value in the feature's unit, rounded for reading: "12 days", "4.5 min", "38%", "3.1".
pub fn value(id: &str, v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    match label(id).1 {
        Unit::Minutes => format!("{} min", round(v / 60.0)),
        Unit::Days => {
            let d = v.round();
            if d == 1.0 {
                "1 day".into()
            } else {
                format!("{d:.0} days")
            }
        }
        Unit::Percent => format!("{:.0}%", v),
        Unit::Share => format!("{:.0}%", v * 100.0),
        Unit::Number => round(v),
    }
}

/// Two significant figures below 10, whole numbers above: what a person says out loud.
fn round(v: f64) -> String {
    let a = v.abs();
    if a >= 10.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_units_and_values_read_as_words() {
        assert_eq!(name("recency_days"), "Days since last visit");
        assert_eq!(name("time_per_session"), "Time per visit (min)");
        assert_eq!(name("purchases"), "Orders");
        assert_eq!(name("count:Product Viewed"), "Product Viewed events");
        assert_eq!(name("count:page_view"), "Page view events");
        assert_eq!(
            name("is:device.category=mobile"),
            "Device category: mobile (%)"
        );
        assert_eq!(name("lifetime_value"), "Lifetime value");
        assert_eq!(
            name("sum:event_params.ga_session_number"),
            "Ga session number (total)"
        );
        assert_eq!(
            name("mean:event_params.quantity"),
            "Quantity (average per event)"
        );
        assert_eq!(name("max:basket_size"), "Basket size (highest)");
        assert_eq!(value("recency_days", 11.6), "12 days");
        assert_eq!(value("recency_days", 1.2), "1 day");
        assert_eq!(value("time_per_session", 270.0), "4.5 min");
        assert_eq!(value("scroll_mean", 38.4), "38%");
        assert_eq!(value("add_to_cart_rate", 0.126), "13%");
        assert_eq!(value("purchases", 3.12), "3.1");
        assert_eq!(value("revenue", 1234.5), "1234");
        assert_eq!(value("searches_per_session", 0.123), "0.12");
        assert_eq!(value("revenue", f64::NAN), "-");
    }
}
