//! See `fuzz/harness.rs`: `diagnose_body`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::diagnose_body(data));
