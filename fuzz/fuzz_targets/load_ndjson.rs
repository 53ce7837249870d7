#![no_main]
//! The export loader on arbitrary .ndjson bytes, then features and clustering when it loads.
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: persona_lab_fuzz::init(), |data: &[u8]| {
    persona_lab_fuzz::load_and_analyse(data, "ndjson");
});
