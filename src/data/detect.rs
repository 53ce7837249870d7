//! Roles and shape from the data, where the column names are not enough: an order log
//! (`customer_id, order_date, items, amount_usd`) has no column named like a timestamp or an event,
//! yet its integers 19970101 are dates, `amount_usd` is money, and its repeated customer ids say it
//! is one row per order. Each choice comes with the reason `inspect` shows.

use polars::prelude::*;

use super::roles::{Role, RoleMapping};
use super::{Shape, timestamp};

/// Values looked at per column.
const SAMPLE: usize = 1000;

/// Why a role has its column (or why there is none), for `inspect` and the Data view.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reason {
    pub role: Option<Role>,
    pub text: String,
}

/// The non-empty values of a column of the sample, as text.
fn texts(sample: &DataFrame, name: &str) -> Vec<String> {
    let Ok(c) = sample.column(name) else {
        return vec![];
    };
    let Ok(s) = c.as_materialized_series().cast(&DataType::String) else {
        return vec![];
    };
    let Ok(ca) = s.str() else { return vec![] };
    ca.iter()
        .flatten()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .take(SAMPLE)
        .map(str::to_string)
        .collect()
}

/// Whether a name reads like a time (`order_date`, `created`, `ts`, `purchased_at`).
fn time_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["date", "time", "day", "created", "when"]
        .iter()
        .any(|t| n.contains(t))
        || n == "ts"
        || n.ends_with("_ts")
        || n.ends_with("_at")
}

/// Whether a name reads like money (`amount_usd`, `order_total`, `sales`, `price_eur`).
fn money_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let words: Vec<&str> = n.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let money = [
        "amount", "revenue", "price", "total", "sales", "spend", "spent", "usd", "eur", "gbp",
        "value", "turnover",
    ];
    let not = ["id", "count", "qty", "quantity", "items", "n", "num"];
    words.iter().any(|w| money.contains(w)) && !words.iter().any(|w| not.contains(w))
        || n.starts_with("amount")
        || n.starts_with("revenue")
}

/// How the column's values read as times, when (nearly) all of them do. Integers must be dates
/// (YYYYMMDD) unless the name reads like a time (then epoch numbers in 1995..2100 count too): a
/// column of counts or prices must never become a timestamp.
fn as_times(name: &str, values: &[String]) -> Option<String> {
    if values.len() < 2 {
        return None;
    }
    let ints: Vec<i64> = values
        .iter()
        .filter_map(|v| v.parse::<i64>().ok())
        .collect();
    if ints.len() == values.len() {
        let floats: Vec<f64> = ints.iter().map(|&v| v as f64).collect();
        let enc = timestamp::epoch_encoding(&floats);
        if enc == timestamp::TimeEncoding::YyyyMmDd {
            return Some("its integers are dates (YYYYMMDD)".into());
        }
        let plausible = ints.iter().all(|&v| {
            timestamp::epoch_micros(v as f64, &enc)
                .is_some_and(|us| (788_918_400_000_000..4_102_444_800_000_000).contains(&us))
        });
        return (time_like(name) && plausible)
            .then(|| format!("its numbers are {enc} in 1995..2100 and its name reads as a time"));
    }
    if values.iter().any(|v| v.parse::<f64>().is_ok()) {
        return None;
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let enc = timestamp::text_encoding(&refs)?;
    let ok = refs
        .iter()
        .filter(|v| timestamp::parse_with(v, &enc).is_some())
        .count();
    (ok * 100 >= values.len() * 95).then(|| format!("its values are dates ({enc})"))
}

/// Fill the roles names could not (timestamp, value), decide the shape and, for an order log,
/// what every row is; `explicit` roles (given by the user) are never changed, and a role the user
/// unmapped stays unmapped. Returns the reasons, one per decision taken here.
pub fn from_values(
    columns: &[String],
    sample: &DataFrame,
    mapping: &mut RoleMapping,
    explicit: &RoleMapping,
    shape: Option<Shape>,
) -> (Shape, Vec<Reason>) {
    let mut reasons = Vec::new();
    let free = |m: &RoleMapping, c: &str| !m.columns().iter().any(|x| x == c);
    // The shape first: a users table with a `signup_date` stays a users table.
    let repeats = mapping.user_id.as_deref().is_some_and(|u| {
        let ids = texts(sample, u);
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        distinct.len() < ids.len()
    });
    let shape = match shape {
        Some(s) => s,
        None if mapping.timestamp.is_some() || mapping.event.is_some() => Shape::Events,
        None if repeats => {
            reasons.push(Reason {
                role: None,
                text: "events (one row per event): user ids repeat, so a row is not a user".into(),
            });
            Shape::Events
        }
        None => Shape::Users,
    };
    if shape == Shape::Users {
        return (shape, reasons);
    }
    if mapping.timestamp.is_none() && explicit.timestamp.is_none() {
        // Columns named like a time first, then the others, in file order.
        let mut order: Vec<&String> = columns.iter().filter(|c| time_like(c)).collect();
        order.extend(columns.iter().filter(|c| !time_like(c)));
        for c in order {
            if !free(mapping, c) {
                continue;
            }
            if let Some(why) = as_times(c, &texts(sample, c)) {
                mapping.timestamp = Some(c.clone());
                reasons.push(Reason {
                    role: Some(Role::Timestamp),
                    text: why,
                });
                break;
            }
        }
    }
    if mapping.value.is_none() && explicit.value.is_none() {
        for c in columns {
            if !free(mapping, c) || !money_like(c) {
                continue;
            }
            let v = texts(sample, c);
            if !v.is_empty() && v.iter().all(|x| x.parse::<f64>().is_ok()) {
                mapping.value = Some(c.clone());
                reasons.push(Reason {
                    role: Some(Role::Value),
                    text: "its name reads as money and its values are numbers".into(),
                });
                break;
            }
        }
    }
    if shape == Shape::Events
        && mapping.event.is_none()
        && explicit.event.is_none()
        && mapping.every_row.is_none()
        && mapping.value.is_some()
    {
        mapping.every_row = Some("purchase".into());
        reasons.push(Reason {
            role: Some(Role::Event),
            text: "none: every row is one purchase (an order log: money, and no event column)"
                .into(),
        });
    }
    (shape, reasons)
}

/// At most this many event parameters become optional features (three features each).
const MAX_MEASURES: usize = 20;

/// GA4's other numeric event parameters (`event_params.quantity`, `event_params.ga_session_number`),
/// not ids or times, for optional per-user features: numbers in the sample (typed, or text that
/// parses), and no role taken.
pub fn numeric_params(
    columns: &[String],
    sample: &DataFrame,
    mapping: &RoleMapping,
) -> Vec<String> {
    let used = mapping.columns();
    columns
        .iter()
        .filter(|c| {
            let Some(key) = c.strip_prefix("event_params.") else {
                return false;
            };
            let k = key.to_ascii_lowercase();
            let id_or_time =
                k == "id" || k.ends_with("_id") || k.contains("timestamp") || k.ends_with("_at");
            !used.contains(c) && !id_or_time
        })
        .filter(|c| {
            let Ok(col) = sample.column(c) else {
                return false;
            };
            if col.dtype().is_primitive_numeric() {
                // Typed from every record (NDJSON, Parquet), set in the first rows or not.
                return true;
            }
            let v = texts(sample, c);
            !v.is_empty() && v.iter().all(|x| x.parse::<f64>().is_ok())
        })
        .take(MAX_MEASURES)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_read_as_times_and_money() {
        assert!(time_like("order_date") && time_like("createdAt".to_lowercase().as_str()));
        assert!(time_like("purchased_at") && !time_like("customer_id"));
        assert!(money_like("amount_usd") && money_like("order_total") && money_like("Sales"));
        assert!(!money_like("items") && !money_like("total_items") && !money_like("price_id"));
    }

    #[test]
    fn an_order_log_is_read_as_purchases() {
        let df = df!(
            "customer_id" => ["00001", "00002", "00002", "00003"],
            "order_date" => ["19970101", "19970112", "19970102", "19970302"],
            "items" => ["1", "5", "2", "1"],
            "amount_usd" => ["11.77", "77.00", "20.76", "9.99"],
        )
        .unwrap();
        let cols: Vec<String> = ["customer_id", "order_date", "items", "amount_usd"]
            .map(String::from)
            .to_vec();
        let mut m = RoleMapping {
            user_id: Some("customer_id".into()),
            ..Default::default()
        };
        let (shape, why) = from_values(&cols, &df, &mut m, &RoleMapping::default(), None);
        assert_eq!(shape, Shape::Events);
        assert_eq!(m.timestamp.as_deref(), Some("order_date"));
        assert_eq!(m.value.as_deref(), Some("amount_usd"));
        assert_eq!(m.every_row.as_deref(), Some("purchase"));
        assert_eq!(why.len(), 4, "{why:?}");
        assert!(why[0].text.contains("user ids repeat"));
        assert!(why[1].text.contains("YYYYMMDD"));
        // Counts are never times, and a user table stays one.
        let df = df!("user" => ["a", "b", "c"], "visits" => ["3", "20240101", "7"]).unwrap();
        let mut m = RoleMapping {
            user_id: Some("user".into()),
            ..Default::default()
        };
        let cols = vec!["user".to_string(), "visits".to_string()];
        let (shape, why) = from_values(&cols, &df, &mut m, &RoleMapping::default(), None);
        assert_eq!((shape, m.timestamp, why.len()), (Shape::Users, None, 0));
    }
}
