//! The JSON decoders: a whole body (object, list, metadata list, Table, Status) and
//! one watch line. Whatever decodes must serialize back to JSON.
#![no_main]

use kube_state_exporter::api::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = json::decode(data) {
        let _ = json::body_to_value(&body);
    }
    let _ = json::decode_watch_event(data);
});
