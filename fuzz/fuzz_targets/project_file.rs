#![no_main]
//! The project file reader (RON) on arbitrary text, then its settings applied to a small export.
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: persona_lab_fuzz::init(), |data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        persona_lab_fuzz::project(text);
    }
});
