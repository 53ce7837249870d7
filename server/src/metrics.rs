//! Counters and a latency histogram, written as Prometheus text at `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds of the latency buckets, in microseconds.
const BUCKETS_US: [u64; 10] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

pub const ENDPOINTS: [&str; 4] = ["decide", "assign", "health", "metrics"];
pub const CLASSES: [&str; 3] = ["2xx", "4xx", "5xx"];

#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; 3]; 4],
    latency: [[AtomicU64; 11]; 4],
    latency_sum_us: [AtomicU64; 4],
    pub decisions: AtomicU64,
    pub holdouts: AtomicU64,
    pub conflicts: AtomicU64,
    pub store_errors: AtomicU64,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, endpoint: usize, status: u16, micros: u64) {
        let class = match status {
            200..=299 => 0,
            400..=499 => 1,
            _ => 2,
        };
        self.requests[endpoint][class].fetch_add(1, Relaxed);
        let b = BUCKETS_US
            .iter()
            .position(|&u| micros <= u)
            .unwrap_or(BUCKETS_US.len());
        self.latency[endpoint][b].fetch_add(1, Relaxed);
        self.latency_sum_us[endpoint].fetch_add(micros, Relaxed);
    }

    pub fn render(&self, rules_loaded_at: i64) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP persona_lab_requests_total HTTP requests by endpoint and status class.\n",
        );
        out.push_str("# TYPE persona_lab_requests_total counter\n");
        for (e, name) in ENDPOINTS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                out.push_str(&format!(
                    "persona_lab_requests_total{{endpoint=\"{name}\",status=\"{class}\"}} {}\n",
                    self.requests[e][c].load(Relaxed)
                ));
            }
        }
        out.push_str("# HELP persona_lab_request_seconds Request latency.\n");
        out.push_str("# TYPE persona_lab_request_seconds histogram\n");
        for (e, name) in ENDPOINTS.iter().enumerate() {
            let mut cum = 0;
            for (b, le) in BUCKETS_US.iter().enumerate() {
                cum += self.latency[e][b].load(Relaxed);
                out.push_str(&format!(
                    "persona_lab_request_seconds_bucket{{endpoint=\"{name}\",le=\"{}\"}} {cum}\n",
                    *le as f64 / 1e6
                ));
            }
            cum += self.latency[e][BUCKETS_US.len()].load(Relaxed);
            out.push_str(&format!(
                "persona_lab_request_seconds_bucket{{endpoint=\"{name}\",le=\"+Inf\"}} {cum}\n"
            ));
            out.push_str(&format!(
                "persona_lab_request_seconds_sum{{endpoint=\"{name}\"}} {}\n",
                self.latency_sum_us[e].load(Relaxed) as f64 / 1e6
            ));
            out.push_str(&format!(
                "persona_lab_request_seconds_count{{endpoint=\"{name}\"}} {cum}\n"
            ));
        }
        for (name, help, v) in [
            (
                "decisions_total",
                "Decisions returned (holdouts included).",
                &self.decisions,
            ),
            (
                "holdout_decisions_total",
                "Decisions that put the user in a holdout.",
                &self.holdouts,
            ),
            (
                "offer_conflicts_total",
                "Decisions decided again because another request of the user came first.",
                &self.conflicts,
            ),
            (
                "store_errors_total",
                "Requests the store could not serve.",
                &self.store_errors,
            ),
            (
                "rule_reloads_total",
                "Rule set files loaded after a change.",
                &self.reloads,
            ),
            (
                "rule_reload_failures_total",
                "Changed rule set files refused (the previous one kept serving).",
                &self.reload_failures,
            ),
        ] {
            out.push_str(&format!(
                "# HELP persona_lab_{name} {help}\n# TYPE persona_lab_{name} counter\npersona_lab_{name} {}\n",
                v.load(Relaxed)
            ));
        }
        out.push_str(&format!(
            "# HELP persona_lab_rules_loaded_timestamp_seconds When the serving rule set was loaded.\n\
             # TYPE persona_lab_rules_loaded_timestamp_seconds gauge\n\
             persona_lab_rules_loaded_timestamp_seconds {}\n",
            rules_loaded_at as f64 / 1e6
        ));
        out
    }
}
