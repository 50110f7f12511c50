//! The protobuf envelope (`k8s\0` + runtime.Unknown) and the body inside it, as
//! `decode_body` reads a list or object response; whatever decodes must also
//! turn into JSON (what `decode --format json` prints) and into list pages.
#![no_main]

use bytes::Bytes;
use kube_state_exporter::api::{json, RESOURCES};
use kube_state_exporter::client::decode::{decode_body, page_from_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = "application/vnd.kubernetes.protobuf";
    let Ok(decoded) = decode_body(content_type, Bytes::copy_from_slice(body)) else {
        return;
    };
    let _ = json::body_to_value(&decoded);
    let resource = &RESOURCES[usize::from(selector) % RESOURCES.len()];
    let _ = page_from_body(resource, decoded);
});
