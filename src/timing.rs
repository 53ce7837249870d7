//! Step timings for performance work: set `PERSONA_LAB_TIMING=1` to print how long each step takes.

use std::sync::OnceLock;
use std::time::Instant;

pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("PERSONA_LAB_TIMING").is_some_and(|v| v != "0"))
}

/// A timer that prints each `lap` to stderr when timing is enabled.
pub struct Timer {
    last: Instant,
}

impl Timer {
    pub fn start() -> Timer {
        Timer {
            last: Instant::now(),
        }
    }

    pub fn lap(&mut self, step: &str) {
        if enabled() {
            eprintln!(
                "[timing] {step}: {:.3} s (memory now {} MB, peak {} MB)",
                self.last.elapsed().as_secs_f64(),
                proc_status_mb("VmRSS:"),
                proc_status_mb("VmHWM:")
            );
        }
        self.last = Instant::now();
    }
}

/// A memory figure of this process from /proc/self/status, in MB (0 where unavailable).
fn proc_status_mb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
