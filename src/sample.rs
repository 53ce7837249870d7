//! A realistic, deterministic sample export of a fashion retailer (web + app), with planted behavioral
//! groups, so every part of the app can be tried and tested on data whose truth is known.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, LogNormal, Poisson};
use serde::{Deserialize, Serialize};

use crate::error::WriteError;
use crate::output;

/// Parameters of one planted group.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: &'static str,
    pub share: f64,
    /// Mean number of sessions over the export.
    pub sessions: f64,
    /// Part of the 90 days the group is active in (fractions of the period).
    pub window: (f64, f64),
    pub page_views: f64,
    pub product_views: f64,
    pub searches: f64,
    pub video_plays: f64,
    pub promo_views: f64,
    /// Probability that a product view is followed by an add to cart.
    pub cart_prob: f64,
    /// Probability that a session with a cart ends in a purchase.
    pub purchase_prob: f64,
    /// Median order value (EUR) and log-normal sigma.
    pub order_value: (f64, f64),
    /// Mean seconds between events.
    pub dwell: f64,
    /// Beta(a, b) of scroll depth.
    pub scroll: (f64, f64),
    /// Share of sessions on the app (the rest on the web).
    pub app_share: f64,
}

/// The planted groups of the sample.
pub fn groups() -> Vec<Group> {
    let g = |name,
             share,
             sessions,
             window,
             pv,
             pdp,
             search,
             video,
             promo,
             cart,
             buy,
             aov,
             sd,
             dwell,
             scroll,
             app| Group {
        name,
        share,
        sessions,
        window,
        page_views: pv,
        product_views: pdp,
        searches: search,
        video_plays: video,
        promo_views: promo,
        cart_prob: cart,
        purchase_prob: buy,
        order_value: (aov, sd),
        dwell,
        scroll,
        app_share: app,
    };
    vec![
        g(
            "casual_browser",
            0.30,
            1.8,
            (0.0, 1.0),
            2.5,
            1.0,
            0.2,
            0.05,
            0.1,
            0.05,
            0.15,
            45.0,
            0.4,
            20.0,
            (2.0, 5.0),
            0.2,
        ),
        g(
            "frequent_browser",
            0.20,
            14.0,
            (0.0, 1.0),
            6.0,
            3.0,
            0.5,
            0.1,
            0.2,
            0.06,
            0.3,
            60.0,
            0.4,
            15.0,
            (3.0, 4.0),
            0.5,
        ),
        g(
            "high_value_engager",
            0.10,
            9.0,
            (0.0, 1.0),
            7.0,
            5.0,
            0.6,
            0.3,
            0.1,
            0.25,
            0.6,
            160.0,
            0.35,
            75.0,
            (6.0, 2.0),
            0.4,
        ),
        g(
            "deal_seeker",
            0.15,
            6.0,
            (0.0, 1.0),
            4.0,
            4.0,
            2.5,
            0.05,
            1.5,
            0.2,
            0.35,
            35.0,
            0.3,
            25.0,
            (3.0, 3.0),
            0.3,
        ),
        g(
            "lapsing",
            0.15,
            5.0,
            (0.0, 0.4),
            5.0,
            2.5,
            0.5,
            0.1,
            0.2,
            0.1,
            0.3,
            70.0,
            0.4,
            35.0,
            (4.0, 4.0),
            0.3,
        ),
        g(
            "inspiration_seeker",
            0.10,
            6.0,
            (0.0, 1.0),
            4.0,
            1.5,
            0.2,
            2.0,
            0.1,
            0.04,
            0.2,
            80.0,
            0.4,
            90.0,
            (7.0, 2.0),
            0.6,
        ),
    ]
}

/// How the sample is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SampleStyle {
    /// GA4 BigQuery export, flattened (one row per event).
    Ga4,
    /// GA4 BigQuery export as BigQuery writes it: nested `event_params`, as NDJSON (INT64 as
    /// strings) or Parquet.
    Ga4BigQuery,
    /// Segment track / page calls as NDJSON with nested `properties` and `context`.
    Segment,
    /// One row per user, already aggregated (a CRM-style table).
    Users,
}

#[derive(Debug, Clone)]
pub struct SampleOptions {
    pub users: usize,
    pub seed: u64,
    pub days: u32,
    pub style: SampleStyle,
}

/// Start of the sample period: 2024-09-01 00:00 UTC (fixed so a seed always gives the same file).
pub const START_SECS: i64 = 1_725_148_800;

#[derive(Debug, Clone)]
struct Event {
    ts_us: i64,
    name: &'static str,
    user: usize,
    session_start: i64,
    /// The user's count of sessions so far, this one included (GA4's `ga_session_number`).
    session_number: i64,
    engagement_ms: i64,
    scroll: Option<f64>,
    value: Option<f64>,
    app: bool,
}

/// The generated sample: events (or nothing for users style) and the planted group of every user.
pub struct Sample {
    pub user_ids: Vec<String>,
    pub anonymous_ids: Vec<String>,
    pub user_group: Vec<&'static str>,
    pub consent: Vec<bool>,
    events: Vec<Event>,
    end_secs: i64,
}

/// GA4-style pseudo ids look like decimals ("1234567890.1725150000"); every 50th user shares the
/// first 16 digits with the previous one, so a reader that parses ids as floats merges them.
fn pseudo_ids(rng: &mut ChaCha8Rng, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(n);
    let mut prev = (0u64, 0i64);
    for i in 0..n {
        let (a, b) = if i % 50 == 1 {
            (prev.0, prev.1 + rng.random_range(1..9))
        } else {
            (
                rng.random_range(1_000_000_000u64..10_000_000_000),
                START_SECS - rng.random_range(0..30_000_000),
            )
        };
        prev = (a, b);
        let id = format!("{a}.{b}");
        if out.contains(&id) {
            out.push(format!("{a}.{}", b + 1000 + i as i64));
        } else {
            out.push(id);
        }
    }
    out
}

pub fn generate(opts: &SampleOptions) -> Sample {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let groups = groups();
    let n = opts.users;
    let user_ids = pseudo_ids(&mut rng, n);
    let anonymous_ids: Vec<String> = (0..n)
        .map(|_| format!("anon-{:016x}", rng.random::<u64>()))
        .collect();
    let period = opts.days as f64 * 86_400.0;
    let mut user_group = Vec::with_capacity(n);
    let mut consent = Vec::with_capacity(n);
    let mut events = Vec::new();
    for u in 0..n {
        // Assign groups by share, deterministically interleaved.
        let r: f64 = rng.random();
        let mut acc = 0.0;
        let mut gi = groups.len() - 1;
        for (i, g) in groups.iter().enumerate() {
            acc += g.share;
            if r < acc {
                gi = i;
                break;
            }
        }
        let g = &groups[gi];
        user_group.push(g.name);
        consent.push(rng.random::<f64>() >= 0.02);
        let n_sessions = 1 + poisson(&mut rng, (g.sessions - 1.0).max(0.0)) as usize;
        let mut starts: Vec<i64> = (0..n_sessions)
            .map(|_| {
                let f = g.window.0 + (g.window.1 - g.window.0) * rng.random::<f64>();
                // Daytime-heavy: shift the hour towards 8..23.
                let day = (f * period / 86_400.0).floor();
                let hour = 8.0 + 15.0 * rng.random::<f64>();
                START_SECS + (day * 86_400.0 + hour * 3600.0) as i64 + rng.random_range(0..3600)
            })
            .collect();
        starts.sort_unstable();
        for (n, start) in starts.into_iter().enumerate() {
            session_events(&mut rng, g, u, (start, n as i64 + 1), &mut events);
        }
    }
    events.sort_by_key(|e| (e.ts_us, e.user));
    Sample {
        user_ids,
        anonymous_ids,
        user_group,
        consent,
        events,
        end_secs: START_SECS + opts.days as i64 * 86_400,
    }
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean)
        .map(|p| p.sample(rng) as u64)
        .unwrap_or(0)
}

/// The events of one session of `user`: `session` is its start (seconds) and its number.
fn session_events(
    rng: &mut ChaCha8Rng,
    g: &Group,
    user: usize,
    session: (i64, i64),
    out: &mut Vec<Event>,
) {
    let (start, session_number) = session;
    let app = rng.random::<f64>() < g.app_share;
    let mut kinds: Vec<&'static str> = Vec::new();
    kinds.extend(std::iter::repeat_n(
        "page_view",
        1 + poisson(rng, g.page_views - 1.0) as usize,
    ));
    // Drawn in this order: the sample's events depend on it.
    for (name, mean) in [
        ("view_item", g.product_views),
        ("view_search_results", g.searches),
        ("video_start", g.video_plays),
        ("view_promotion", g.promo_views),
    ] {
        kinds.extend(std::iter::repeat_n(name, poisson(rng, mean) as usize));
    }
    kinds[1..].shuffle(rng);
    let mut seq: Vec<&'static str> = vec!["session_start"];
    let mut carted = false;
    for k in kinds {
        seq.push(k);
        if k == "page_view" && rng.random::<f64>() < 0.6 {
            seq.push("scroll");
        }
        if k == "view_item" && rng.random::<f64>() < g.cart_prob {
            seq.push("add_to_cart");
            carted = true;
        }
    }
    let purchase = carted && rng.random::<f64>() < g.purchase_prob;
    if purchase {
        seq.push("begin_checkout");
        seq.push("purchase");
    }
    let dwell = Exp::new(1.0 / g.dwell).expect("positive rate");
    let scroll = Beta::new(g.scroll.0, g.scroll.1).expect("positive shape");
    let aov = LogNormal::new(g.order_value.0.ln(), g.order_value.1).expect("finite");
    let mut t_us = start * 1_000_000 + rng.random_range(0..1_000_000);
    let mut cart_value = 0.0;
    for name in seq {
        let gap_s: f64 = 2.0 + dwell.sample(rng);
        let gap_us = (gap_s * 1e6) as i64;
        let mut value = None;
        let mut depth = None;
        match name {
            "scroll" => depth = Some((scroll.sample(rng) * 100.0).round()),
            "add_to_cart" => {
                let price = (aov.sample(rng) * 0.6).max(5.0);
                let price = (price * 100.0).round() / 100.0;
                cart_value += price;
                value = Some(price);
            }
            "purchase" => value = Some((cart_value * 100.0).round() / 100.0),
            _ => {}
        }
        out.push(Event {
            ts_us: t_us,
            name,
            user,
            session_start: start,
            session_number,
            engagement_ms: (gap_s * 1000.0).round() as i64,
            scroll: depth,
            value,
            app,
        });
        t_us += gap_us;
    }
}

/// One column's values: `f` of every event.
fn each<'a, T>(events: &'a [Event], f: impl Fn(&'a Event) -> T) -> Vec<T> {
    events.iter().map(f).collect()
}

impl Sample {
    pub fn n_events(&self) -> usize {
        self.events.len()
    }

    /// The GA4-style flattened events table.
    pub fn ga4_frame(&self) -> PolarsResult<DataFrame> {
        let e = &self.events;
        let date: Vec<String> = e
            .iter()
            .map(|e| {
                chrono::DateTime::from_timestamp_micros(e.ts_us)
                    .map(|d| d.format("%Y%m%d").to_string())
                    .unwrap_or_default()
            })
            .collect();
        let n = e.len();
        DataFrame::new(
            n,
            vec![
                Column::new("event_date".into(), date),
                Column::new("event_timestamp".into(), each(e, |e| e.ts_us)),
                Column::new("event_name".into(), each(e, |e| e.name)),
                Column::new(
                    "user_pseudo_id".into(),
                    each(e, |e| self.user_ids[e.user].as_str()),
                ),
                Column::new("ga_session_id".into(), each(e, |e| e.session_start)),
                Column::new("engagement_time_msec".into(), each(e, |e| e.engagement_ms)),
                Column::new("percent_scrolled".into(), each(e, |e| e.scroll)),
                Column::new("value".into(), each(e, |e| e.value)),
                Column::new("currency".into(), each(e, |e| e.value.map(|_| "EUR"))),
                Column::new(
                    "platform".into(),
                    each(e, |e| if e.app { "APP" } else { "WEB" }),
                ),
                Column::new(
                    "privacy_info.analytics_storage".into(),
                    each(e, |e| if self.consent[e.user] { "Yes" } else { "No" }),
                ),
            ],
        )
    }

    /// One row per user: what a CRM export might hold (with an email column, which is personal data).
    pub fn users_frame(&self) -> PolarsResult<DataFrame> {
        let n = self.user_ids.len();
        let mut sessions = vec![std::collections::HashSet::new(); n];
        let mut page_views = vec![0.0; n];
        let mut orders = vec![0.0; n];
        let mut spend = vec![0.0; n];
        let mut time = vec![0.0; n];
        let mut scroll_sum = vec![0.0; n];
        let mut scroll_n = vec![0.0; n];
        let mut last = vec![i64::MIN; n];
        for e in &self.events {
            sessions[e.user].insert(e.session_start);
            time[e.user] += e.engagement_ms as f64 / 1000.0;
            last[e.user] = last[e.user].max(e.ts_us);
            match e.name {
                "page_view" => page_views[e.user] += 1.0,
                "purchase" => {
                    orders[e.user] += 1.0;
                    spend[e.user] += e.value.unwrap_or(0.0);
                }
                "scroll" => {
                    scroll_sum[e.user] += e.scroll.unwrap_or(0.0);
                    scroll_n[e.user] += 1.0;
                }
                _ => {}
            }
        }
        let end_us = self.end_secs * 1_000_000;
        let s: Vec<f64> = sessions.iter().map(|s| s.len() as f64).collect();
        DataFrame::new(
            n,
            vec![
                Column::new("customer_id".into(), self.anonymous_ids.clone()),
                Column::new(
                    "email".into(),
                    (0..n)
                        .map(|i| format!("customer{i}@example.com"))
                        .collect::<Vec<_>>(),
                ),
                Column::new("sessions".into(), s.clone()),
                Column::new("page_views".into(), page_views),
                Column::new(
                    "avg_session_seconds".into(),
                    time.iter()
                        .zip(&s)
                        .map(|(t, s)| (t / s.max(1.0)).round())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "avg_scroll_depth".into(),
                    scroll_sum
                        .iter()
                        .zip(&scroll_n)
                        .map(|(a, b)| {
                            if *b > 0.0 {
                                Some((a / b).round())
                            } else {
                                None
                            }
                        })
                        .collect::<Vec<_>>(),
                ),
                Column::new("orders".into(), orders),
                Column::new(
                    "total_spend".into(),
                    spend
                        .iter()
                        .map(|v| (v * 100.0).round() / 100.0)
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "days_since_last_visit".into(),
                    last.iter()
                        .map(|l| ((end_us - l) as f64 / 86_400e6).floor())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "country".into(),
                    (0..n)
                        .map(|i| ["DE", "FR", "NL", "IT", "ES"][i % 5])
                        .collect::<Vec<_>>(),
                ),
            ],
        )
    }

    /// Segment track / page calls, one JSON object per line.
    pub fn write_segment(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut line = String::new();
        for (i, e) in self.events.iter().enumerate() {
            line.clear();
            let ts = chrono::DateTime::from_timestamp_micros(e.ts_us)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            let (kind, event) = match e.name {
                "page_view" => ("page", None),
                "session_start" => ("track", Some("Session Started")),
                "view_item" => ("track", Some("Product Viewed")),
                "add_to_cart" => ("track", Some("Product Added")),
                "purchase" => ("track", Some("Order Completed")),
                "begin_checkout" => ("track", Some("Checkout Started")),
                "view_search_results" => ("track", Some("Products Searched")),
                "video_start" => ("track", Some("Video Playback Started")),
                "view_promotion" => ("track", Some("Promotion Viewed")),
                "scroll" => ("track", Some("Page Scrolled")),
                other => ("track", Some(other)),
            };
            // Users that never logged in carry only an anonymousId.
            let logged_in = e.user % 3 != 0;
            let _ = write!(line, "{{\"type\":\"{kind}\",");
            if let Some(ev) = event {
                let _ = write!(line, "\"event\":\"{ev}\",");
            }
            if logged_in {
                let _ = write!(line, "\"userId\":\"{}\",", self.user_ids[e.user]);
            } else {
                line.push_str("\"userId\":null,");
            }
            let _ = write!(
                line,
                "\"anonymousId\":\"{}\",\"timestamp\":\"{ts}\",\"messageId\":\"m{i}\",\"properties\":{{\"session_id\":\"{}-{}\",\"duration\":{:.3}",
                self.anonymous_ids[e.user],
                e.user,
                e.session_start,
                e.engagement_ms as f64 / 1000.0
            );
            if let Some(s) = e.scroll {
                let _ = write!(line, ",\"scroll_depth\":{s}");
            }
            if let Some(v) = e.value {
                let key = if e.name == "purchase" {
                    "revenue"
                } else {
                    "price"
                };
                let _ = write!(line, ",\"{key}\":{v},\"currency\":\"EUR\"");
            }
            let _ = write!(
                line,
                "}},\"context\":{{\"ip\":\"203.0.113.{}\",\"library\":{{\"name\":\"{}\"}}}}}}",
                e.user % 250,
                if e.app {
                    "analytics-ios"
                } else {
                    "analytics.js"
                }
            );
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// One event as GA4's BigQuery export holds it: parameters in `event_params` as key/value
    /// records, `privacy_info`, `device` and `ecommerce` records, `items` on purchases. With
    /// `quoted_ints`, INT64 values are JSON strings and NULL fields are left out, as `bq extract`
    /// and `EXPORT DATA ... NEWLINE_DELIMITED_JSON` write them.
    fn ga4_bigquery_record(&self, i: usize, e: &Event, quoted_ints: bool) -> serde_json::Value {
        use serde_json::{Value, json};
        let int = |v: i64| {
            if quoted_ints {
                Value::String(v.to_string())
            } else {
                json!(v)
            }
        };
        let param = |key: &str, value: Value| json!({"key": key, "value": value});
        let date = chrono::DateTime::from_timestamp_micros(e.ts_us)
            .map(|d| d.format("%Y%m%d").to_string())
            .unwrap_or_default();
        let mut params = vec![
            param("ga_session_id", json!({"int_value": int(e.session_start)})),
            param(
                "ga_session_number",
                json!({"int_value": int(e.session_number)}),
            ),
            param(
                "page_location",
                json!({"string_value": format!("https://shop.example/{}", e.name)}),
            ),
            param(
                "engagement_time_msec",
                json!({"int_value": int(e.engagement_ms)}),
            ),
        ];
        if let Some(s) = e.scroll {
            // GA4 sends whole percents as integers; a fraction goes to double_value.
            params.push(if s.fract() == 0.0 {
                param("percent_scrolled", json!({"int_value": int(s as i64)}))
            } else {
                param("percent_scrolled", json!({"double_value": s}))
            });
        }
        if let Some(v) = e.value {
            params.push(param("value", json!({"double_value": v})));
            params.push(param("currency", json!({"string_value": "EUR"})));
        }
        let storage = if self.consent[e.user] { "Yes" } else { "No" };
        let mut record = json!({
            "event_date": date,
            "event_timestamp": int(e.ts_us),
            "event_name": e.name,
            "event_params": params,
            "user_pseudo_id": self.user_ids[e.user],
            "privacy_info": {"analytics_storage": storage, "ads_storage": storage},
            "device": {"category": if e.app { "mobile" } else { "desktop" }},
            "platform": if e.app { "ANDROID" } else { "WEB" },
        });
        if e.name == "purchase"
            && let Some(v) = e.value
        {
            record["ecommerce"] = json!({
                "purchase_revenue": v,
                "transaction_id": format!("T{i}"),
                "total_item_quantity": int(1),
            });
            record["items"] =
                json!([{"item_id": format!("SKU{}", i % 97), "price": v, "quantity": int(1)}]);
        }
        record
    }

    /// GA4's BigQuery export as newline-delimited JSON (INT64 as strings, NULL fields left out).
    pub fn write_ga4_bigquery(&self, w: &mut dyn Write) -> std::io::Result<()> {
        for (i, e) in self.events.iter().enumerate() {
            let mut line = self.ga4_bigquery_record(i, e, true).to_string();
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// GA4's BigQuery export as a nested table (the schema its Parquet export has: `event_params`
    /// a list of `{key, value: {string_value, int_value, float_value, double_value}}`).
    pub fn ga4_bigquery_frame(&self) -> PolarsResult<DataFrame> {
        self.ga4_bigquery_frame_of(|_| true)
    }

    /// The UTC days the events cover, as BigQuery names its daily tables (`20240901`).
    pub fn days(&self) -> Vec<String> {
        let mut days: Vec<String> = self.events.iter().map(|e| day_of(e.ts_us)).collect();
        days.sort();
        days.dedup();
        days
    }

    /// One day of GA4's nested export (the `events_YYYYMMDD` table).
    pub fn ga4_bigquery_day(&self, day: &str) -> PolarsResult<DataFrame> {
        self.ga4_bigquery_frame_of(|e| day_of(e.ts_us) == day)
    }

    /// The nested table built column by column (the same records `ga4_bigquery_record` writes as
    /// JSON), the lists grouped from flat columns: going through polars' JSON reader took about
    /// 13 KB per event (a 20,000-user sample was killed).
    fn ga4_bigquery_frame_of(&self, keep: impl Fn(&Event) -> bool) -> PolarsResult<DataFrame> {
        let kept: Vec<usize> = (0..self.events.len())
            .filter(|&i| keep(&self.events[i]))
            .collect();
        let ev = |i: &usize| &self.events[*i];
        let row: Vec<u32> = (0..kept.len() as u32).collect();
        // event_params, one row per parameter, in the order the JSON records list them.
        let (mut p_row, mut p_key) = (Vec::<u32>::new(), Vec::<&str>::new());
        let mut p_str: Vec<Option<String>> = Vec::new();
        let mut p_int: Vec<Option<i64>> = Vec::new();
        let mut p_dbl: Vec<Option<f64>> = Vec::new();
        let mut push = |r: u32, key: &'static str, s: Option<String>, i: Option<i64>, d| {
            p_row.push(r);
            p_key.push(key);
            p_str.push(s);
            p_int.push(i);
            p_dbl.push(d);
        };
        for (r, e) in kept.iter().map(ev).enumerate() {
            let r = r as u32;
            push(r, "ga_session_id", None, Some(e.session_start), None);
            push(r, "ga_session_number", None, Some(e.session_number), None);
            let page = format!("https://shop.example/{}", e.name);
            push(r, "page_location", Some(page), None, None);
            push(r, "engagement_time_msec", None, Some(e.engagement_ms), None);
            if let Some(s) = e.scroll {
                // GA4 sends whole percents as integers; a fraction goes to double_value.
                if s.fract() == 0.0 {
                    push(r, "percent_scrolled", None, Some(s as i64), None);
                } else {
                    push(r, "percent_scrolled", None, None, Some(s));
                }
            }
            if let Some(v) = e.value {
                push(r, "value", None, None, Some(v));
                push(r, "currency", Some("EUR".into()), None, None);
            }
        }
        let n_params = p_row.len();
        let value = StructChunked::from_series(
            "value".into(),
            n_params,
            [
                Series::new("string_value".into(), p_str),
                Series::new("int_value".into(), p_int),
                Series::new("float_value".into(), vec![None::<f64>; n_params]),
                Series::new("double_value".into(), p_dbl),
            ]
            .iter(),
        )?
        .into_series();
        let params = df!("row" => p_row, "key" => p_key)?
            .hstack(&[value.into()])?
            .lazy()
            .group_by_stable([col("row")])
            .agg([as_struct(vec![col("key"), col("value")]).alias("event_params")]);
        // items: one per purchase (a list only there, as in the JSON).
        let purchases: Vec<(u32, usize, f64)> = kept
            .iter()
            .enumerate()
            .filter_map(|(r, &i)| {
                let e = &self.events[i];
                (e.name == "purchase")
                    .then_some(e.value)
                    .flatten()
                    .map(|v| (r as u32, i, v))
            })
            .collect();
        let items = df!(
            "row" => purchases.iter().map(|p| p.0).collect::<Vec<_>>(),
            "item_id" => purchases.iter().map(|p| format!("SKU{}", p.1 % 97)).collect::<Vec<_>>(),
            "price" => purchases.iter().map(|p| p.2).collect::<Vec<_>>(),
            "quantity" => vec![1i64; purchases.len()],
        )?
        .lazy()
        .group_by_stable([col("row")])
        .agg([as_struct(vec![col("item_id"), col("price"), col("quantity")]).alias("items")]);
        let purchase_value = |i: &usize| {
            let e = ev(i);
            (e.name == "purchase").then_some(e.value).flatten()
        };
        let storage: Vec<&str> = kept
            .iter()
            .map(|i| {
                if self.consent[ev(i).user] {
                    "Yes"
                } else {
                    "No"
                }
            })
            .collect();
        let base = df!(
            "row" => row,
            "event_date" => kept.iter().map(|i| day_of(ev(i).ts_us)).collect::<Vec<_>>(),
            "event_timestamp" => kept.iter().map(|i| ev(i).ts_us).collect::<Vec<_>>(),
            "event_name" => kept.iter().map(|i| ev(i).name).collect::<Vec<_>>(),
            "event_value_in_usd" => vec![None::<f64>; kept.len()],
            "user_pseudo_id" => kept.iter().map(|i| self.user_ids[ev(i).user].as_str()).collect::<Vec<_>>(),
            "analytics_storage" => storage.clone(),
            "ads_storage" => storage,
            "category" => kept.iter().map(|i| if ev(i).app { "mobile" } else { "desktop" }).collect::<Vec<_>>(),
            "platform" => kept.iter().map(|i| if ev(i).app { "ANDROID" } else { "WEB" }).collect::<Vec<_>>(),
            "purchase_revenue" => kept.iter().map(purchase_value).collect::<Vec<_>>(),
            "transaction_id" => kept.iter().map(|i| purchase_value(i).map(|_| format!("T{i}"))).collect::<Vec<_>>(),
            "total_item_quantity" => kept.iter().map(|i| purchase_value(i).map(|_| 1i64)).collect::<Vec<_>>(),
        )?;
        let by_row = JoinArgs::new(JoinType::Left);
        base.lazy()
            .join(params, [col("row")], [col("row")], by_row.clone())
            .join(items, [col("row")], [col("row")], by_row)
            // A join need not keep the left side's order: the events' order is the sample's.
            .sort(["row"], Default::default())
            .select([
                col("event_date"),
                col("event_timestamp"),
                col("event_name"),
                col("event_params"),
                col("event_value_in_usd"),
                col("user_pseudo_id"),
                as_struct(vec![col("analytics_storage"), col("ads_storage")]).alias("privacy_info"),
                as_struct(vec![col("category")]).alias("device"),
                col("platform"),
                // NULL outside purchases, as the record is in BigQuery (not a record of NULLs).
                when(col("transaction_id").is_not_null())
                    .then(as_struct(vec![
                        col("purchase_revenue"),
                        col("transaction_id"),
                        col("total_item_quantity"),
                    ]))
                    .otherwise(lit(NULL))
                    .alias("ecommerce"),
                col("items"),
            ])
            .collect()
    }

    /// The planted group of every user, keyed the way the chosen style identifies users.
    pub fn truth_frame(&self, style: SampleStyle) -> PolarsResult<DataFrame> {
        let ids: Vec<String> = match style {
            SampleStyle::Ga4 | SampleStyle::Ga4BigQuery => self.user_ids.clone(),
            SampleStyle::Users => self.anonymous_ids.clone(),
            SampleStyle::Segment => (0..self.user_ids.len())
                .map(|u| {
                    if u % 3 != 0 {
                        self.user_ids[u].clone()
                    } else {
                        self.anonymous_ids[u].clone()
                    }
                })
                .collect(),
        };
        DataFrame::new(
            ids.len(),
            vec![
                Column::new("user_id".into(), ids),
                Column::new("group".into(), self.user_group.clone()),
                Column::new("consent".into(), self.consent.clone()),
            ],
        )
    }
}

/// The UTC day of a time, as `YYYYMMDD`.
fn day_of(ts_us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(ts_us)
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_default()
}

/// Whether `out` names a folder (one that exists, or a path ending in `/`).
fn is_folder(out: &Path) -> bool {
    out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/')
}

/// GA4's nested export as BigQuery keeps it: one Parquet file per day, `events_YYYYMMDD.parquet`,
/// in the folder `out` (made if missing). Each file is written atomically.
fn write_ga4_days(sample: &Sample, out: &Path) -> Result<(), WriteError> {
    std::fs::create_dir_all(out).map_err(|source| WriteError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    for day in sample.days() {
        let path = out.join(format!("events_{day}.parquet"));
        let mut df = sample
            .ga4_bigquery_day(&day)
            .map_err(|e| WriteError::Encode {
                path: path.clone(),
                format: "table".into(),
                message: e.to_string(),
            })?;
        output::write_table(&mut df, &path)?;
    }
    Ok(())
}

/// Generate and write a sample; the format follows the extension (Segment style needs .ndjson/.jsonl).
/// The nested GA4 style also writes a folder (`--out exports/`): one Parquet file per day.
pub fn write_sample(
    opts: &SampleOptions,
    out: &Path,
    truth: Option<&Path>,
) -> Result<Sample, WriteError> {
    if opts.style == SampleStyle::Ga4BigQuery && is_folder(out) {
        if let Some(t) = truth {
            output::OutFormat::from_path(t)?;
        }
        let sample = generate(opts);
        write_ga4_days(&sample, out)?;
        if let Some(t) = truth {
            let mut df = sample
                .truth_frame(opts.style)
                .map_err(|e| WriteError::Encode {
                    path: t.to_path_buf(),
                    format: "table".into(),
                    message: e.to_string(),
                })?;
            output::write_table(&mut df, t)?;
        }
        return Ok(sample);
    }
    // Check the names before spending time on generating.
    output::OutFormat::from_path(out)?;
    if let Some(t) = truth {
        output::OutFormat::from_path(t)?;
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(WriteError::Io {
            path: out.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "the folder does not exist"),
        });
    }
    let sample = generate(opts);
    let enc = |e: PolarsError| WriteError::Encode {
        path: out.to_path_buf(),
        format: "table".into(),
        message: e.to_string(),
    };
    match opts.style {
        SampleStyle::Segment => {
            if !matches!(
                output::OutFormat::from_path(out)?,
                output::OutFormat::Ndjson { .. }
            ) {
                return Err(WriteError::Encode {
                    path: out.to_path_buf(),
                    format: "Segment NDJSON".into(),
                    message: "the Segment style is written as NDJSON: use .ndjson or .jsonl".into(),
                });
            }
            let gzip = out.to_string_lossy().ends_with(".gz");
            output::write_atomic(out, |w| {
                output::maybe_gzip(out, w, gzip, |w| {
                    sample.write_segment(w).map_err(|source| WriteError::Io {
                        path: out.to_path_buf(),
                        source,
                    })
                })
            })?;
        }
        SampleStyle::Ga4 => {
            output::write_table(&mut sample.ga4_frame().map_err(enc)?, out)?;
        }
        SampleStyle::Ga4BigQuery => match output::OutFormat::from_path(out)? {
            output::OutFormat::Ndjson { gzip } => {
                output::write_atomic(out, |w| {
                    output::maybe_gzip(out, w, gzip, |w| {
                        sample
                            .write_ga4_bigquery(w)
                            .map_err(|source| WriteError::Io {
                                path: out.to_path_buf(),
                                source,
                            })
                    })
                })?;
            }
            output::OutFormat::Parquet | output::OutFormat::Avro => {
                output::write_table(&mut sample.ga4_bigquery_frame().map_err(enc)?, out)?;
            }
            output::OutFormat::Csv { .. } => {
                return Err(WriteError::Encode {
                    path: out.to_path_buf(),
                    format: "GA4 BigQuery export".into(),
                    message: "the nested GA4 export is written as NDJSON, Parquet or Avro: use \
                              .ndjson, .jsonl, .parquet or .avro (or --style ga4 for the \
                              flattened CSV)"
                        .into(),
                });
            }
        },
        SampleStyle::Users => {
            output::write_table(&mut sample.users_frame().map_err(enc)?, out)?;
        }
    }
    if let Some(t) = truth {
        output::write_table(&mut sample.truth_frame(opts.style).map_err(enc)?, t)?;
    }
    Ok(sample)
}
