//! Starting personas in plain words, drafted from each segment's profile; strategists rename them and
//! their edits always win (the app keeps an edited name; these are only the first draft).
//!
//! A name comes from a small vocabulary of the trade: recency, frequency and money traits get RFM
//! wording ("Lapsed one-time buyers", "High-value loyalists"), browsing traits browsing wording
//! ("Window shoppers", "Engaged readers", "Cart abandoners"). Each archetype has a rule on the
//! segment's z-scores (the profile's, on the transformed scale) and a strength; the strongest that
//! holds names the segment. Segments that land on the same archetype keep it (they are the same kind
//! of customer) and are told apart by the trait on which they differ most ("Lapsed one-time buyers,
//! larger orders" / "..., smaller orders"). The description is two sentences with the segment's
//! figures against all users', in the features' own units ("last seen 45 days ago on average (all
//! users: 20 days)").

use super::Persona;
use crate::cluster::ClusterProfile;
use crate::features::catalogue::{FeatureKind, kind_of};
use crate::features::display;

/// A z-score from here on counts as a trait.
const NOTABLE: f64 = 0.25;
/// A z-score from here on defines an archetype.
const STRONG: f64 = 0.5;

/// Starting personas for all segments, names unique.
pub fn default_personas(profiles: &[ClusterProfile]) -> Vec<Persona> {
    let pop = population_means(profiles);
    let drafts: Vec<Draft> = profiles.iter().map(draft).collect();
    let names = unique_names(profiles, &drafts);
    profiles
        .iter()
        .zip(drafts)
        .zip(names)
        .map(|((p, _), name)| Persona {
            id: format!("segment_{}", p.id),
            segment: p.id,
            name,
            description: describe(p, &pop),
            traits: traits(p, &pop),
            preferred_content: vec![],
        })
        .collect()
}

/// A starting persona for one segment on its own (its figures are compared with its own means, so
/// use `default_personas` when the other segments are known).
pub fn default_persona(p: &ClusterProfile) -> Persona {
    default_personas(std::slice::from_ref(p)).remove(0)
}

/// Every feature's mean over all users: the segments' means weighted by their sizes.
fn population_means(profiles: &[ClusterProfile]) -> Vec<(String, f64)> {
    let n: usize = profiles.iter().map(|p| p.size).sum();
    let Some(first) = profiles.first() else {
        return Vec::new();
    };
    first
        .features
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let sum: f64 = profiles
                .iter()
                .filter_map(|p| p.features.get(j).map(|s| s.mean * p.size as f64))
                .sum();
            (f.feature.clone(), sum / n.max(1) as f64)
        })
        .collect()
}

fn pop_of(pop: &[(String, f64)], id: &str) -> Option<f64> {
    pop.iter().find(|(f, _)| f == id).map(|(_, v)| *v)
}

/// What the vocabulary decided for a segment.
struct Draft {
    /// The archetype's name, or a plain trait when none holds.
    base: String,
    /// The features the base name already speaks of (a qualifier uses another).
    uses: Vec<&'static str>,
}

/// One segment's z-scores and means, by feature id.
struct View<'a>(&'a ClusterProfile);

impl View<'_> {
    fn z(&self, id: &str) -> Option<f64> {
        self.0
            .features
            .iter()
            .find(|s| s.feature == id)
            .map(|s| s.z)
    }
    fn mean(&self, id: &str) -> Option<f64> {
        self.0
            .features
            .iter()
            .find(|s| s.feature == id)
            .map(|s| s.mean)
    }
    /// The largest z among the features present (None when none is).
    fn max_z(&self, ids: &[&str]) -> Option<f64> {
        ids.iter()
            .filter_map(|id| self.z(id))
            .fold(None, |m, z| Some(m.map_or(z, |m: f64| m.max(z))))
    }
    /// The mean z of the features present.
    fn mean_z(&self, ids: &[&str]) -> Option<f64> {
        let zs: Vec<f64> = ids.iter().filter_map(|id| self.z(id)).collect();
        (!zs.is_empty()).then(|| zs.iter().sum::<f64>() / zs.len() as f64)
    }
}

const BUY: &[&str] = &["purchases", "conversion_rate", "revenue"];
const MONEY: &[&str] = &["revenue", "avg_order_value"];
const FREQ: &[&str] = &["frequency", "sessions", "active_days"];
const ENGAGE: &[&str] = &[
    "time_per_session",
    "scroll_mean",
    "events_per_session",
    "page_views_per_session",
];

/// The archetype that fits a segment best, or its strongest trait in words.
fn draft(p: &ClusterProfile) -> Draft {
    let v = View(p);
    let r = v.z("recency_days");
    let buy = v.max_z(BUY);
    let money = v.max_z(MONEY);
    let freq = v.max_z(FREQ);
    let engage = v.mean_z(ENGAGE);
    // Orders per user, when the export has purchases: an order log's one-time buyers sit near 1.
    let orders = v.mean("purchases");
    let one_time = orders.is_some_and(|o| (0.5..1.5).contains(&o));
    let buyers = orders.is_some_and(|o| o >= 0.5);

    // (name, strength, the features it speaks of), when its rule holds.
    let mut c: Vec<(&'static str, f64, Vec<&'static str>)> = Vec::new();
    let mut add = |ok: bool, name: &'static str, s: f64, uses: &[&'static str]| {
        if ok {
            c.push((name, s, uses.to_vec()));
        }
    };
    let g = |x: Option<f64>| x.unwrap_or(0.0);
    let has = |x: Option<f64>| x.is_some();
    // Recency, frequency, money.
    add(
        g(buy) >= STRONG && g(r) < NOTABLE && g(engage) >= STRONG,
        "High-value engagers",
        g(buy) + g(engage) - g(r).min(0.0),
        &["purchases", "revenue", "time_per_session", "scroll_mean"],
    );
    add(
        g(buy) >= STRONG && g(r) < NOTABLE,
        "High-value loyalists",
        g(buy) - g(r).min(0.0),
        &["purchases", "revenue", "conversion_rate", "recency_days"],
    );
    add(
        g(money) >= STRONG && g(r) >= STRONG && !one_time,
        "Lapsed big spenders",
        g(money) + g(r),
        &["revenue", "avg_order_value", "recency_days"],
    );
    add(
        g(r) >= STRONG && one_time,
        "Lapsed one-time buyers",
        g(r) + 0.25,
        &["recency_days", "purchases"],
    );
    add(
        g(r) >= STRONG && buyers && !one_time,
        "Lapsed repeat buyers",
        g(r),
        &["recency_days", "purchases"],
    );
    add(
        g(r) >= STRONG && !buyers,
        "Lapsed visitors",
        g(r),
        &["recency_days", "sessions"],
    );
    // One order, and it was recent: first-time buyers (on an order log recency is their tenure).
    add(
        g(r) <= -STRONG && one_time && g(freq) < NOTABLE,
        "Recent first-time buyers",
        -g(r),
        &["recency_days", "purchases"],
    );
    add(
        one_time && g(r).abs() < STRONG,
        "One-time buyers",
        STRONG,
        &["purchases", "sessions"],
    );
    add(
        g(freq) >= STRONG && g(r) < NOTABLE,
        "Frequent visitors",
        g(freq) - g(r).min(0.0) * 0.5,
        &["sessions", "frequency", "active_days"],
    );
    // Browsing.
    let cart = v.max_z(&["cart_adds_per_session", "cart_adds", "add_to_cart_rate"]);
    add(
        g(cart) >= STRONG && g(buy) < NOTABLE && has(buy),
        "Cart abandoners",
        g(cart) - g(buy),
        &[
            "cart_adds_per_session",
            "cart_adds",
            "add_to_cart_rate",
            "purchases",
        ],
    );
    let products = v.max_z(&["product_views_per_session", "product_views"]);
    add(
        g(products) >= STRONG && g(buy) < NOTABLE,
        "Window shoppers",
        g(products) - g(buy).max(0.0),
        &["product_views_per_session", "product_views", "purchases"],
    );
    let search = v.max_z(&["searches_per_session", "searches"]);
    add(
        g(search) >= STRONG,
        "Searchers",
        g(search),
        &["searches_per_session", "searches"],
    );
    let video = v.max_z(&["video_plays_per_session", "video_plays"]);
    add(
        g(video) >= STRONG,
        "Video watchers",
        g(video),
        &["video_plays_per_session", "video_plays"],
    );
    add(
        g(engage) >= STRONG,
        "Engaged readers",
        g(engage),
        &[
            "time_per_session",
            "scroll_mean",
            "events_per_session",
            "page_views_per_session",
        ],
    );
    // Low on everything that was measured: light, occasional visitors.
    let all: Vec<f64> = p
        .features
        .iter()
        .filter(|s| s.feature != "recency_days")
        .map(|s| s.z)
        .collect();
    let light = !all.is_empty() && all.iter().all(|&z| z < NOTABLE);
    add(
        light && !buyers && all.iter().sum::<f64>() / all.len().max(1) as f64 <= -NOTABLE,
        "Light browsers",
        -all.iter().sum::<f64>() / all.len().max(1) as f64,
        &["sessions", "events_per_session", "page_views_per_session"],
    );
    if let Some((name, _, uses)) = c.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        return Draft {
            base: name.to_string(),
            uses,
        };
    }
    // No archetype: the strongest trait, in words ("More searches per visit").
    match p.top.iter().find(|(_, z)| z.abs() >= NOTABLE) {
        Some((f, z)) => Draft {
            base: upper_first(&more_or_less(f, *z)),
            uses: Vec::new(),
        },
        None => Draft {
            base: "Typical users".into(),
            uses: Vec::new(),
        },
    }
}

/// A feature's display name for use inside a sentence: lower case, without the unit in brackets,
/// which reads badly in a phrase ("more time per visit (min)").
fn in_words(id: &str) -> String {
    let label = display::name(id);
    label.split(" (").next().unwrap_or(&label).to_lowercase()
}

/// "more visits", "fewer pages per visit", "higher average order value", "longer time per visit".
fn more_or_less(id: &str, z: f64) -> String {
    let label = in_words(id);
    let up = z > 0.0;
    let word = match (id, kind_of(id)) {
        ("revenue" | "avg_order_value", _) => {
            if up {
                "larger"
            } else {
                "smaller"
            }
        }
        ("recency_days", _) => {
            return if up {
                "long gone".into()
            } else {
                "seen recently".into()
            };
        }
        (
            _,
            FeatureKind::Count | FeatureKind::PerSession | FeatureKind::Seconds | FeatureKind::Days,
        ) => {
            if up {
                "more"
            } else {
                "fewer"
            }
        }
        _ => {
            if up {
                "higher"
            } else {
                "lower"
            }
        }
    };
    let label = match (id, word) {
        ("revenue", _) => "spend".to_string(),
        ("avg_order_value", _) => "orders".to_string(),
        (_, "fewer") if label.starts_with("time ") => {
            return format!("less {label}");
        }
        _ => label,
    };
    format!("{word} {label}")
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Names unique across segments: a shared archetype is kept and told apart by the trait on which the
/// segment differs most from the others that share it; the segment number is the last resort.
fn unique_names(profiles: &[ClusterProfile], drafts: &[Draft]) -> Vec<String> {
    let mut names: Vec<String> = drafts.iter().map(|d| d.base.clone()).collect();
    for i in 0..drafts.len() {
        let same: Vec<usize> = (0..drafts.len())
            .filter(|&j| j != i && drafts[j].base == drafts[i].base)
            .collect();
        if same.is_empty() {
            continue;
        }
        // The feature (not in the name already) where this segment's z is furthest from the others'.
        let mine = &profiles[i];
        let best = mine
            .features
            .iter()
            .filter(|s| !drafts[i].uses.contains(&s.feature.as_str()))
            .map(|s| {
                let others = same
                    .iter()
                    .filter_map(|&j| profiles[j].features.iter().find(|o| o.feature == s.feature))
                    .map(|o| o.z)
                    .sum::<f64>()
                    / same.len() as f64;
                (s.feature.as_str(), s.z - others)
            })
            .filter(|(_, d)| d.abs() >= NOTABLE)
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
        if let Some((f, d)) = best {
            names[i] = format!("{}, {}", drafts[i].base, more_or_less(f, d));
        }
    }
    // Still equal (no trait tells them apart): the segment number.
    for i in 0..names.len() {
        if names[..i].contains(&names[i]) || names[i + 1..].contains(&names[i]) {
            names[i] = format!("{} (segment {})", names[i], profiles[i].id);
        }
    }
    names
}

/// One feature's figure against all users': "ordered 3.1 times on average, 4x the average user".
fn figure(id: &str, m: f64, pop: Option<f64>) -> String {
    let v = display::value(id, m);
    let all = pop.map(|p| display::value(id, p));
    let vs = match pop {
        Some(p) if p > 0.0 && m / p >= 1.8 && !matches!(id, "recency_days" | "tenure_days") => {
            let r = m / p;
            if r >= 10.0 {
                format!(", {r:.0}x the average user")
            } else {
                format!(", {r:.1}x the average user")
            }
        }
        _ => all.map_or(String::new(), |a| format!(" (all users: {a})")),
    };
    match id {
        "recency_days" => format!("last seen {v} ago on average{vs}"),
        "tenure_days" => format!("first seen {v} ago on average{vs}"),
        "purchases" if (m - 1.0).abs() < 0.05 => format!("ordered once{vs}"),
        "purchases" => format!("ordered {v} times on average{vs}"),
        "sessions" if (m - 1.0).abs() < 0.05 => format!("a single visit{vs}"),
        "revenue" => format!("spent {v} on average{vs}"),
        "avg_order_value" => format!("orders worth {v} on average{vs}"),
        "sessions" => format!("{v} visits on average{vs}"),
        "time_per_session" => format!("{v} per visit{vs}"),
        "scroll_mean" => format!("scrolls {v} down a page{vs}"),
        _ => format!("{} {v}{vs}", in_words(id)),
    }
}

/// Two sentences: the two strongest traits with their figures, then the third and the most common
/// attribute value (the size is on the card already).
fn describe(p: &ClusterProfile, pop: &[(String, f64)]) -> String {
    let v = View(p);
    let strong: Vec<&(String, f64)> = p.top.iter().filter(|(_, z)| z.abs() >= NOTABLE).collect();
    if strong.is_empty() {
        return "Close to the average user on every feature.".into();
    }
    let fig = |f: &str| figure(f, v.mean(f).unwrap_or(f64::NAN), pop_of(pop, f));
    let first: Vec<String> = strong.iter().take(2).map(|(f, _)| fig(f)).collect();
    let mut out = format!("{}.", upper_first(&first.join("; ")));
    let mut second: Vec<String> = strong.iter().skip(2).map(|(f, _)| fig(f)).collect();
    if let Some(a) = p
        .attributes
        .iter()
        .find(|a| a.values.first().is_some_and(|(_, s)| *s >= 0.5))
        && let Some((value, share)) = a.values.first()
    {
        second.push(format!(
            "{} {value} for {:.0}% of them",
            display::humanise(&a.attribute).to_lowercase(),
            share * 100.0
        ));
    }
    if !second.is_empty() {
        out.push(' ');
        out.push_str(&upper_first(&second.join("; ")));
        out.push('.');
    }
    out
}

/// The traits behind the name, for the card: "Days since last visit: 45 days (all users: 20 days),
/// z +1.20".
fn traits(p: &ClusterProfile, pop: &[(String, f64)]) -> Vec<String> {
    p.top
        .iter()
        .filter(|(_, z)| z.abs() >= NOTABLE)
        .map(|(f, z)| {
            let m = View(p).mean(f).unwrap_or(f64::NAN);
            format!(
                "{}: {} (all users: {}), z {z:+.2}",
                display::name(f),
                display::value(f, m),
                pop_of(pop, f).map_or("-".into(), |x| display::value(f, x))
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::profile::FeatureStat;

    fn seg(id: usize, size: usize, feats: &[(&str, f64, f64)]) -> ClusterProfile {
        let features: Vec<FeatureStat> = feats
            .iter()
            .map(|&(f, mean, z)| FeatureStat {
                feature: f.into(),
                mean,
                median: mean,
                z,
                q1: mean,
                q3: mean,
                whisker_low: mean,
                whisker_high: mean,
            })
            .collect();
        let mut top: Vec<(String, f64)> =
            features.iter().map(|s| (s.feature.clone(), s.z)).collect();
        top.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        top.truncate(3);
        ClusterProfile {
            id,
            size,
            share: 0.0,
            features,
            top,
            attributes: vec![],
            value: None,
        }
    }

    /// An order log's segments (features as the app computes them from one): two groups that bought
    /// once and left, told apart by order size; loyal repeat buyers; recent first-time buyers.
    #[test]
    fn an_order_log_gets_rfm_names_and_the_two_lapsed_groups_are_related() {
        let f = |r: f64, rz: f64, o: f64, oz: f64, aov: f64, az: f64, rev: f64, revz: f64| {
            vec![
                ("recency_days", r, rz),
                ("purchases", o, oz),
                ("avg_order_value", aov, az),
                ("revenue", rev, revz),
            ]
        };
        let profiles = vec![
            seg(0, 500, &f(420.0, 0.9, 1.0, -0.5, 15.0, -0.6, 15.0, -0.5)),
            seg(1, 300, &f(400.0, 0.8, 1.1, -0.4, 60.0, 0.9, 66.0, 0.3)),
            seg(2, 150, &f(40.0, -1.2, 6.5, 1.8, 35.0, 0.2, 230.0, 1.7)),
            seg(3, 50, &f(20.0, -1.4, 1.0, -0.5, 30.0, 0.0, 30.0, -0.2)),
        ];
        let ps = default_personas(&profiles);
        let names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Lapsed one-time buyers, smaller orders",
                "Lapsed one-time buyers, larger orders",
                "High-value loyalists",
                "Recent first-time buyers",
            ]
        );
        // Population means weighted by size: recency (500*420 + 300*400 + 150*40 + 50*20) / 1000 = 337,
        // orders 1.855 (6.5 / 1.855 = 3.5x), revenue 63.3 (230 / 63.3 = 3.6x).
        assert_eq!(
            ps[2].description,
            "Ordered 6.5 times on average, 3.5x the average user; spent 230 on average, 3.6x the \
             average user. Last seen 40 days ago on average (all users: 337 days)."
        );
        assert_eq!(
            ps[0].traits[0],
            "Days since last visit: 420 days (all users: 337 days), z +0.90"
        );
        for p in &ps {
            assert!(
                !p.description.contains("users (") && !p.name.contains('_'),
                "{p:?}"
            );
        }
    }

    /// The bundled sample's kinds of visitors get browsing words.
    #[test]
    fn browsing_segments_get_browsing_words() {
        let profiles = vec![
            seg(
                0,
                100,
                &[
                    ("product_views_per_session", 6.0, 1.5),
                    ("purchases", 0.1, -0.4),
                    ("recency_days", 10.0, -0.2),
                ],
            ),
            seg(
                1,
                100,
                &[
                    ("product_views_per_session", 1.0, -0.2),
                    ("purchases", 0.2, -0.3),
                    ("searches_per_session", 3.0, 1.2),
                ],
            ),
            seg(
                2,
                100,
                &[
                    ("time_per_session", 600.0, 1.1),
                    ("scroll_mean", 80.0, 0.9),
                    ("purchases", 0.1, -0.2),
                ],
            ),
            seg(
                3,
                100,
                &[
                    ("sessions", 1.0, -0.8),
                    ("events_per_session", 2.0, -0.6),
                    ("recency_days", 60.0, 0.1),
                ],
            ),
            seg(
                4,
                100,
                &[("sessions", 3.0, 0.1), ("recency_days", 20.0, 0.0)],
            ),
            seg(
                5,
                100,
                &[("lifetime_value", 300.0, 0.7), ("recency_days", 20.0, 0.0)],
            ),
        ];
        let names: Vec<String> = default_personas(&profiles)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(
            names,
            [
                "Window shoppers",
                "Searchers",
                "Engaged readers",
                "Light browsers",
                "Typical users",
                "Higher lifetime value",
            ]
        );
    }
}
