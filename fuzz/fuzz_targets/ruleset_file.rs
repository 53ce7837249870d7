#![no_main]
//! The rule set reader (RON) on arbitrary text, then what `verify` and `decide` do with it.
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: persona_lab_fuzz::init(), |data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        persona_lab_fuzz::ruleset(text);
    }
});
