//! What each fuzz target does with one input, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) and the bounded mutation run of CI
//! (`tests/fuzz_smoke.rs`), so both exercise exactly the same code.
//!
//! A target may refuse an input (an `Err` from the code under test is the right
//! answer to garbage); it must never panic, loop or allocate without bound.

#![allow(dead_code)] // each fuzz binary uses one of these

use std::sync::OnceLock;

use bytes::Bytes;
use kube_state_exporter::api::diagnose::diagnose;
use kube_state_exporter::api::json;
use kube_state_exporter::api::schema::compiled_pool;
use kube_state_exporter::api::table::Columns;
use kube_state_exporter::api::RESOURCES;
use kube_state_exporter::client::decode::{decode_body, page_from_body, ListDecoder};
use kube_state_exporter::client::frame::FrameDecoder;
use kube_state_exporter::client::watch::decode_event_frame;
use kube_state_exporter::client::Format;

/// A target: one input in, a panic out when something is wrong.
pub type Target = fn(&[u8]);

pub const TARGETS: &[(&str, Target)] = &[
    ("envelope", envelope),
    ("watch_frames", watch_frames),
    ("json_decode", json_decode),
    ("diagnose", diagnose_body),
    ("list_decoder", list_decoder),
];

/// The protobuf envelope (`k8s\0` + runtime.Unknown) and the body inside it, as a
/// list or object response is read; whatever decodes must also turn into JSON (what
/// `decode --format json` prints) and into a list page. First byte: the resource.
pub fn envelope(data: &[u8]) {
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
}

/// Largest watch frame the target accepts (the reader's cap, scaled down).
pub const MAX_FRAME: usize = 64 * 1024;

/// The watch stream reader: bytes in arbitrary chunks → frames (length-prefixed
/// protobuf or JSON lines) → events. Bytes 0–2 choose the format, the chunk size
/// and the resource; the rest is the stream. Checked: no frame exceeds the cap, and
/// the frames of a complete protobuf stream account for every byte.
pub fn watch_frames(data: &[u8]) {
    let [mode, chunking, selector, stream @ ..] = data else {
        return;
    };
    let format = if mode & 1 == 0 {
        Format::Protobuf
    } else {
        Format::Json
    };
    let resource = &RESOURCES[usize::from(*selector) % RESOURCES.len()];
    let chunk = usize::from(*chunking).max(1);
    let mut frames = FrameDecoder::new(format, MAX_FRAME);
    let mut columns = Columns::default();
    let (mut framed, mut count) = (0usize, 0usize);
    for piece in stream.chunks(chunk) {
        frames.push(piece);
        loop {
            match frames.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= MAX_FRAME, "a frame above the cap");
                    framed += frame.len();
                    count += 1;
                    let _ = decode_event_frame(resource, format, &frame, &mut columns);
                }
                Ok(None) => break,
                // The reader ends the stream at a cap violation: so do we.
                Err(_) => return,
            }
        }
    }
    if format == Format::Protobuf && frames.finish().is_ok() {
        assert_eq!(
            framed + 4 * count,
            stream.len(),
            "bytes lost between frames"
        );
    }
}

/// The JSON decoders: a whole body (object, list, metadata list, Table, Status) and
/// one watch line; whatever decodes must serialize back to JSON.
pub fn json_decode(data: &[u8]) {
    if let Ok(body) = json::decode(data) {
        let _ = json::body_to_value(&body);
    }
    let _ = json::decode_watch_event(data);
}

/// The drift diagnosis walks bytes the typed decoder refused, guided by the schema:
/// any input gives a diagnosis, and its summary and drift series render.
pub fn diagnose_body(data: &[u8]) {
    static POOL: OnceLock<prost_reflect::DescriptorPool> = OnceLock::new();
    let pool = POOL.get_or_init(compiled_pool);
    let diagnosis = diagnose(pool, data);
    let _ = diagnosis.summary();
    let _ = diagnosis.drifts();
    let _ = diagnosis.to_string();
}

/// The incremental list decoder (`client::decode::ListDecoder` over the walkers of
/// `api::list_walk`): a list body in arbitrary chunks, objects drained after each
/// chunk as the list client does. Byte 0 chooses the format and whether the resource
/// is given or discovered, byte 1 the chunk size, byte 2 the resource. Checked: the
/// decoder never holds more than the body it was given, and once it has failed it
/// keeps failing or stops (no objects after an error).
pub fn list_decoder(data: &[u8]) {
    let [mode, chunking, selector, body @ ..] = data else {
        return;
    };
    let format = if mode & 1 == 0 {
        Format::Protobuf
    } else {
        Format::Json
    };
    let content_type = match format {
        Format::Protobuf => "application/vnd.kubernetes.protobuf",
        Format::Json => "application/json",
    };
    let mut decoder = if mode & 2 == 0 {
        let resource = &RESOURCES[usize::from(*selector) % RESOURCES.len()];
        match ListDecoder::new(resource, content_type) {
            Ok(decoder) => decoder,
            Err(_) => return,
        }
    } else {
        ListDecoder::discovering(format)
    };
    let chunk = usize::from(*chunking).max(1);
    let mut pushed = 0usize;
    let drain = |decoder: &mut ListDecoder| -> bool {
        // Bounded: each object consumes at least one byte of the body.
        for _ in 0..=body.len() {
            match decoder.next_object() {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
        panic!("more objects than bytes in the body");
    };
    for piece in body.chunks(chunk) {
        decoder.push(piece);
        pushed += piece.len();
        assert!(
            decoder.held() <= pushed,
            "holds {} bytes of a {pushed}-byte body",
            decoder.held()
        );
        if !drain(&mut decoder) {
            return;
        }
    }
    decoder.end();
    drain(&mut decoder);
}
