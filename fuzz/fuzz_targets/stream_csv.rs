#![no_main]
//! Differential: a .csv export read streamed in small batches gives the profile of the export read
//! whole (the first byte picks the batch size and the parts).
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: persona_lab_fuzz::init(), |data: &[u8]| {
    persona_lab_fuzz::streamed_equals_whole(data, "csv");
});
