//! The drift diagnosis walks bytes the typed decoder refused, guided by the schema:
//! any input must give a diagnosis (never a panic), and its summary and drift
//! series must render.
#![no_main]

use std::sync::OnceLock;

use kube_state_exporter::api::diagnose::diagnose;
use kube_state_exporter::api::schema::compiled_pool;
use libfuzzer_sys::fuzz_target;

static POOL: OnceLock<prost_reflect::DescriptorPool> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let pool = POOL.get_or_init(compiled_pool);
    let diagnosis = diagnose(pool, data);
    let _ = diagnosis.summary();
    let _ = diagnosis.drifts();
    let _ = diagnosis.to_string();
});
