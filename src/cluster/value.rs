//! What each segment is worth: its users' revenue and purchases, against everyone's. A strategist
//! weighs a persona by this before its traits ("11% of the users bring 41% of the revenue").
//!
//! Read from the profile's `revenue` and `purchases` features whether or not they are clustered on, so
//! the value does not change with the feature selection. A user without a value counts as 0 (no
//! purchase). Sums run in user order, per segment: the same export gives the same figures.

use serde::{Deserialize, Serialize};

use crate::features::Profile;
use crate::features::display;

/// The value of a group of users (a segment, or everyone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Value {
    pub users: usize,
    /// Users with a purchase (with revenue, when the export has no purchase events).
    pub buyers: usize,
    /// Their revenue in the export's currency; None when the export maps no value column.
    pub revenue: Option<f64>,
    /// Their purchases (orders); None when the export has no purchase events.
    pub orders: Option<f64>,
}

impl Value {
    /// Share of the users who bought.
    pub fn buyer_share(&self) -> f64 {
        self.buyers as f64 / self.users.max(1) as f64
    }

    pub fn revenue_per_user(&self) -> Option<f64> {
        self.revenue.map(|r| r / self.users.max(1) as f64)
    }

    /// Revenue per order; None without orders.
    pub fn order_value(&self) -> Option<f64> {
        match (self.revenue, self.orders) {
            (Some(r), Some(o)) if o > 0.0 => Some(r / o),
            _ => None,
        }
    }

    /// This group's share of `all`'s revenue; None when `all` has none.
    pub fn revenue_share(&self, all: &Value) -> Option<f64> {
        match (self.revenue, all.revenue) {
            (Some(r), Some(t)) if t > 0.0 => Some(r / t),
            _ => None,
        }
    }

    /// In words, against everyone: "41% of the revenue from 11% of the users; 356 per user
    /// (all users: 96); 87% bought (all users: 30%); 120 an order (all users: 95)".
    pub fn describe(&self, all: &Value) -> String {
        let mut parts = Vec::new();
        let user_share = self.users as f64 / all.users.max(1) as f64;
        if let Some(s) = self.revenue_share(all) {
            parts.push(format!(
                "{} of the revenue from {} of the users",
                percent(s),
                percent(user_share)
            ));
        }
        if let (Some(a), Some(b)) = (self.revenue_per_user(), all.revenue_per_user()) {
            parts.push(format!(
                "{} per user (all users: {})",
                display::value("revenue", a),
                display::value("revenue", b)
            ));
        }
        parts.push(format!(
            "{} bought (all users: {})",
            percent(self.buyer_share()),
            percent(all.buyer_share())
        ));
        if let (Some(a), Some(b)) = (self.order_value(), all.order_value()) {
            parts.push(format!(
                "{} an order (all users: {})",
                display::value("revenue", a),
                display::value("revenue", b)
            ));
        }
        parts.join("; ")
    }
}

/// A share in whole percent, where a small share that is not none stays visible: "under 1%" (a
/// segment with 0.07% of the revenue is not one with none).
pub fn percent(share: f64) -> String {
    if share > 0.0 && share < 0.005 {
        "under 1%".into()
    } else {
        format!("{:.0}%", 100.0 * share)
    }
}

/// The value of each segment `0..k` of `labels` (in the profile's user order); None when the profile
/// has neither revenue nor purchases (nothing to say about value).
pub fn by_segment(profile: &Profile, labels: &[usize], k: usize) -> Option<Vec<Value>> {
    let column = |id: &str| profile.column(id).ok().filter(|c| c.len() == labels.len());
    let revenue = column("revenue");
    let orders = column("purchases");
    if revenue.is_none() && orders.is_none() {
        return None;
    }
    let amount = |c: &Option<Vec<Option<f64>>>, i: usize| {
        c.as_ref()
            .map(|c| c[i].filter(|v| v.is_finite()).unwrap_or(0.0))
    };
    let mut out: Vec<Value> = (0..k)
        .map(|_| Value {
            users: 0,
            buyers: 0,
            revenue: revenue.as_ref().map(|_| 0.0),
            orders: orders.as_ref().map(|_| 0.0),
        })
        .collect();
    for (i, &l) in labels.iter().enumerate() {
        let Some(v) = out.get_mut(l) else {
            continue;
        };
        let (r, o) = (amount(&revenue, i), amount(&orders, i));
        v.users += 1;
        // A purchase says a user bought; without purchase events, revenue does.
        if o.or(r).is_some_and(|x| x > 0.0) {
            v.buyers += 1;
        }
        if let (Some(t), Some(r)) = (v.revenue.as_mut(), r) {
            *t += r;
        }
        if let (Some(t), Some(o)) = (v.orders.as_mut(), o) {
            *t += o;
        }
    }
    Some(out)
}

/// Everyone's value: the segments' summed, in segment order.
pub fn total<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<Value> {
    values.into_iter().fold(None, |acc: Option<Value>, v| {
        Some(match acc {
            None => v.clone(),
            Some(a) => Value {
                users: a.users + v.users,
                buyers: a.buyers + v.buyers,
                revenue: a.revenue.zip(v.revenue).map(|(x, y)| x + y),
                orders: a.orders.zip(v.orders).map(|(x, y)| x + y),
            },
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(users: usize, buyers: usize, revenue: f64, orders: f64) -> Value {
        Value {
            users,
            buyers,
            revenue: Some(revenue),
            orders: Some(orders),
        }
    }

    #[test]
    fn a_segment_is_described_against_everyone() {
        let seg = v(10, 8, 400.0, 5.0);
        let all = total([&seg, &v(90, 10, 600.0, 10.0)]).unwrap();
        assert_eq!(all, v(100, 18, 1000.0, 15.0));
        assert_eq!(
            seg.describe(&all),
            "40% of the revenue from 10% of the users; 40 per user (all users: 10); \
             80% bought (all users: 18%); 80 an order (all users: 67)"
        );
    }

    #[test]
    fn without_revenue_only_buyers_are_said() {
        let seg = Value {
            users: 4,
            buyers: 1,
            revenue: None,
            orders: Some(2.0),
        };
        let all = Value {
            users: 8,
            buyers: 4,
            revenue: None,
            orders: Some(6.0),
        };
        assert_eq!(seg.describe(&all), "25% bought (all users: 50%)");
        assert_eq!(seg.revenue_share(&all), None);
        assert_eq!(seg.order_value(), None);
    }

    #[test]
    fn a_small_share_is_not_rounded_to_none() {
        let seg = v(30, 1, 1.0, 1.0);
        let all = total([&seg, &v(70, 69, 999.0, 90.0)]).unwrap();
        assert!(
            seg.describe(&all)
                .starts_with("under 1% of the revenue from 30% of the users"),
            "{}",
            seg.describe(&all)
        );
        assert_eq!(
            v(3, 0, 0.0, 0.0).describe(&all).split(';').next(),
            Some("0% of the revenue from 3% of the users")
        );
    }
}
