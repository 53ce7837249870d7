//! Step timings for performance work: set `PERSONA_LAB_TIMING=1` to print how long each step takes.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
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
                "[timing] {step}: {:.3} s",
                self.last.elapsed().as_secs_f64()
            );
        }
        self.last = Instant::now();
    }
}
