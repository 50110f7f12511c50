//! See `fuzz/harness.rs`: `watch_frames`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::watch_frames(data));
