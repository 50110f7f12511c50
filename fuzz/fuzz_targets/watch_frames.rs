//! The watch stream reader: bytes in arbitrary chunks → frames (length-prefixed
//! protobuf or JSON lines) → events. The first bytes choose the format, the chunk
//! sizes and the resource; the rest is the stream. Checked: no frame exceeds the
//! cap, and the frames of a complete protobuf stream account for every byte.
#![no_main]

use bytes::Bytes;
use kube_state_exporter::api::table::Columns;
use kube_state_exporter::api::RESOURCES;
use kube_state_exporter::client::frame::FrameDecoder;
use kube_state_exporter::client::watch::decode_event_frame;
use kube_state_exporter::client::Format;
use libfuzzer_sys::fuzz_target;

const MAX_FRAME: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
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
                    let frame: Bytes = frame;
                    let _ = decode_event_frame(resource, format, &frame, &mut columns);
                }
                Ok(None) => break,
                // The reader stops the stream at a cap violation: so do we.
                Err(_) => return,
            }
        }
    }
    if format == Format::Protobuf && frames.finish().is_ok() {
        // Nothing left over: every byte was a 4-byte header or inside a frame.
        assert_eq!(
            framed + 4 * count,
            stream.len(),
            "bytes lost between frames"
        );
    }
});
