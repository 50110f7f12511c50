//! Splits a watch body into events: protobuf frames (4-byte big-endian length, then a
//! `meta.v1.WatchEvent`) or JSON lines. Bytes arrive in arbitrary chunks; a frame may
//! span many chunks, and a chunk may hold many frames.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

use super::decode::Format;

/// Default cap on one watch frame (and one JSON line): 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("watch frame of {len} bytes exceeds the {max} byte cap")]
    TooLarge { len: usize, max: usize },
    #[error("watch stream ended inside a frame ({pending} bytes pending)")]
    Truncated { pending: usize },
}

/// Incremental frame splitter for one watch stream.
#[derive(Debug)]
pub struct FrameDecoder {
    format: Format,
    max: usize,
    buffer: BytesMut,
    /// JSON: bytes at the front of `buffer` already searched for a newline, so a long
    /// line arriving in many small chunks is scanned once, not once per chunk
    /// (found by fuzzing: quadratic in the line length).
    scanned: usize,
}

impl FrameDecoder {
    pub fn new(format: Format, max: usize) -> FrameDecoder {
        FrameDecoder {
            format,
            max,
            buffer: BytesMut::new(),
            scanned: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        match self.format {
            Format::Protobuf => self.next_length_prefixed(),
            Format::Json => self.next_line(),
        }
    }

    fn next_length_prefixed(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.buffer.len() < 4 {
            return Ok(None);
        }
        let header = [
            self.buffer[0],
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
        ];
        let len = u32::from_be_bytes(header) as usize;
        // Checked before waiting for the body, so a bogus length never makes us buffer it.
        if len > self.max {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        if self.buffer.len() < 4 + len {
            return Ok(None);
        }
        self.buffer.advance(4);
        Ok(Some(self.buffer.split_to(len).freeze()))
    }

    fn next_line(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            let found = self.buffer[self.scanned..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|at| at + self.scanned);
            let Some(newline) = found else {
                self.scanned = self.buffer.len();
                if self.buffer.len() > self.max {
                    return Err(FrameError::TooLarge {
                        len: self.buffer.len(),
                        max: self.max,
                    });
                }
                return Ok(None);
            };
            if newline > self.max {
                return Err(FrameError::TooLarge {
                    len: newline,
                    max: self.max,
                });
            }
            self.scanned = 0;
            let line = self.buffer.split_to(newline + 1).freeze();
            let line = line.slice(..newline);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(line));
        }
    }

    /// At end of stream: an error if a partial frame is left over.
    pub fn finish(&self) -> Result<(), FrameError> {
        let pending = match self.format {
            Format::Protobuf => self.buffer.len(),
            Format::Json => self
                .buffer
                .iter()
                .filter(|b| !b.is_ascii_whitespace())
                .count(),
        };
        if pending == 0 {
            Ok(())
        } else {
            Err(FrameError::Truncated { pending })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn splits_frames_across_chunk_boundaries() {
        let mut stream = frame(b"first");
        stream.extend(frame(b"second!"));
        let mut decoder = FrameDecoder::new(Format::Protobuf, 64);
        let mut frames = Vec::new();
        for byte in stream {
            decoder.push(&[byte]);
            while let Some(f) = decoder.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(
            frames,
            vec![Bytes::from_static(b"first"), Bytes::from_static(b"second!")]
        );
        assert_eq!(decoder.finish(), Ok(()));
    }

    #[test]
    fn rejects_an_oversized_frame_from_its_header() {
        let mut decoder = FrameDecoder::new(Format::Protobuf, 16);
        decoder.push(&[0x7f, 0xff, 0xff, 0xff]);
        assert_eq!(
            decoder.next_frame(),
            Err(FrameError::TooLarge {
                len: 0x7fff_ffff,
                max: 16
            })
        );
    }

    #[test]
    fn reports_a_cut_frame() {
        let mut decoder = FrameDecoder::new(Format::Protobuf, 64);
        decoder.push(&frame(b"complete")[..6]);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.finish(), Err(FrameError::Truncated { pending: 6 }));
    }

    #[test]
    fn splits_json_lines_and_skips_blank_ones() {
        let mut decoder = FrameDecoder::new(Format::Json, 64);
        decoder.push(b"{\"a\":1}\n\n{\"b\"");
        assert_eq!(
            decoder.next_frame(),
            Ok(Some(Bytes::from_static(b"{\"a\":1}")))
        );
        assert_eq!(decoder.next_frame(), Ok(None));
        decoder.push(b":2}\n");
        assert_eq!(
            decoder.next_frame(),
            Ok(Some(Bytes::from_static(b"{\"b\":2}")))
        );
        assert_eq!(decoder.finish(), Ok(()));
    }

    #[test]
    fn json_lines_split_into_one_byte_chunks() {
        let mut decoder = FrameDecoder::new(Format::Json, 64);
        let mut lines = Vec::new();
        for byte in b"{\"a\":1}\n \n{\"b\":22}\n{\"c\"" {
            decoder.push(&[*byte]);
            while let Some(line) = decoder.next_frame().expect("under the cap") {
                lines.push(line);
            }
        }
        assert_eq!(lines, [&b"{\"a\":1}"[..], &b"{\"b\":22}"[..]]);
        decoder.push(b":3}\n");
        assert_eq!(
            decoder.next_frame().expect("under the cap").as_deref(),
            Some(&b"{\"c\":3}"[..])
        );
        assert_eq!(decoder.finish(), Ok(()));
    }
}
