//! Compressing `/metrics` on every core.
//!
//! The exposition is cut into blocks of [`BLOCK_SIZE`] bytes; each block is compressed on
//! the render pool into a complete gzip member (RFC 1952) or zstd frame (RFC 8878), and the
//! members are written in order. A body of concatenated members is one valid stream for
//! both formats: Go's `compress/gzip` reader (thus Prometheus) and the zstd decoders read
//! them as one. The cost is one header per block (18 bytes for gzip) and a dictionary
//! reset every block, far below 1 % at this block size (docs/performance.md).
//!
//! Memory: at most [`in_flight`] blocks are being compressed or waiting to be written,
//! each holding its input and output, whatever the client's reading speed.

use std::io::{self, Write};
use std::sync::Arc;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::negotiate::Encoding;
use crate::metrics::buffer::{Buffer, BufferPool};
use crate::metrics::pool::{self, Ordered};
use crate::metrics::ExpositionSink;

/// Uncompressed bytes per gzip member / zstd frame.
pub const BLOCK_SIZE: usize = 256 * 1024;

/// The gzip level. At 15,000 pods (142.5 MB, 2 cores): level 1 takes 0.19 s for 29.8 MB,
/// level 2 0.35 s for 21.1 MB, level 6 (Go's default, KSM's) 0.47 s for 19.7 MB
/// (docs/performance.md). Level 1 is the only one inside a 0.3 s scrape budget; a client
/// that wants the smaller body asks for zstd.
pub const GZIP_LEVEL: u32 = 1;
/// The zstd level: level 1 took 0.06 s for 18.0 MB at 15,000 pods, faster than gzip
/// level 1 and smaller than gzip level 6.
pub const ZSTD_LEVEL: i32 = 1;

/// Blocks in flight per scrape.
pub fn in_flight() -> usize {
    2 * pool::workers() + 2
}

/// One block compressed on its own, as a complete gzip member or zstd frame.
pub fn compress_block(encoding: Encoding, level: i32, block: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(block.len() / 4);
    compress_block_into(encoding, level, block, &mut out)?;
    Ok(out)
}

/// [`compress_block`] appending to `out`, whose capacity is reused.
pub fn compress_block_into(
    encoding: Encoding,
    level: i32,
    block: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    match encoding {
        Encoding::Identity => out.extend_from_slice(block),
        Encoding::Gzip => {
            let level = Compression::new(level.clamp(0, 9) as u32);
            let mut encoder = GzEncoder::new(std::mem::take(out), level);
            encoder.write_all(block)?;
            *out = encoder.finish()?;
        }
        Encoding::Zstd => {
            out.reserve(zstd::zstd_safe::compress_bound(block.len()));
            zstd::bulk::Compressor::new(level)?.compress_to_buffer(block, out)?;
        }
    }
    Ok(())
}

/// A writer that compresses what it is given on the render pool and writes the compressed
/// blocks to `inner` in order. Call [`ParallelEncoder::finish`] at the end: dropping it
/// loses what was not yet written.
/// Input blocks and compressed blocks come from two pools of this encoder, so a scrape
/// reuses the same few buffers.
pub struct ParallelEncoder<W: ExpositionSink> {
    inner: W,
    encoding: Encoding,
    level: i32,
    block: Buffer,
    inputs: Arc<BufferPool>,
    outputs: Arc<BufferPool>,
    ordered: Ordered<io::Result<Buffer>>,
    limit: usize,
    blocks_written: u64,
}

/// Compressed blocks a streaming body may still hold once written (its channel and the
/// one on the socket).
const OUTPUTS_HELD_BY_THE_BODY: usize = 6;

impl<W: ExpositionSink> ParallelEncoder<W> {
    pub fn new(inner: W, encoding: Encoding, level: i32) -> Self {
        let limit = in_flight();
        let inputs = BufferPool::new(limit + 1, BLOCK_SIZE);
        let outputs = BufferPool::new(limit + OUTPUTS_HELD_BY_THE_BODY, BLOCK_SIZE / 4);
        ParallelEncoder {
            inner,
            encoding,
            level,
            block: inputs.take(),
            inputs,
            outputs,
            ordered: Ordered::new(),
            limit,
            blocks_written: 0,
        }
    }

    /// An encoder at the level chosen for `encoding`.
    pub fn with_default_level(inner: W, encoding: Encoding) -> Self {
        let level = match encoding {
            Encoding::Zstd => ZSTD_LEVEL,
            _ => GZIP_LEVEL as i32,
        };
        Self::new(inner, encoding, level)
    }

    fn write_next(&mut self) -> io::Result<()> {
        if let Some(compressed) = self.ordered.next_result() {
            let compressed = compressed??;
            self.inner.write_buffer(compressed)?;
            self.blocks_written += 1;
        }
        Ok(())
    }

    fn submit_block(&mut self) -> io::Result<()> {
        while self.ordered.pending() >= self.limit {
            self.write_next()?;
        }
        let block = std::mem::replace(&mut self.block, self.inputs.take());
        let mut out = self.outputs.take();
        let (encoding, level) = (self.encoding, self.level);
        self.ordered.submit(move || {
            compress_block_into(encoding, level, &block, &mut out)?;
            Ok(out)
        });
        Ok(())
    }

    /// Compresses what is left, writes every block and returns the inner writer. An empty
    /// input still yields one (empty) member, so the body is a valid stream.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.block.is_empty() || self.ordered.pending() + self.blocks_written as usize == 0 {
            self.submit_block()?;
        }
        while self.ordered.pending() > 0 {
            self.write_next()?;
        }
        Ok(self.inner)
    }
}

impl<W: ExpositionSink> ExpositionSink for ParallelEncoder<W> {}

impl<W: ExpositionSink> Write for ParallelEncoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let room = BLOCK_SIZE - self.block.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.block.extend_from_slice(now);
            rest = later;
            if self.block.len() >= BLOCK_SIZE {
                self.submit_block()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Blocks stay whole; `finish` writes the rest.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::MultiGzDecoder;

    use super::*;

    fn sample_text(bytes: usize) -> Vec<u8> {
        let mut text = Vec::new();
        let mut index = 0u64;
        while text.len() < bytes {
            text.extend_from_slice(
                format!(
                    "kube_pod_info{{namespace=\"ns-{}\",pod=\"pod-{index}\"}} 1\n",
                    index % 7
                )
                .as_bytes(),
            );
            index += 1;
        }
        text.truncate(bytes);
        text
    }

    fn encode(encoding: Encoding, text: &[u8], piece: usize) -> Vec<u8> {
        let mut encoder = ParallelEncoder::with_default_level(Vec::new(), encoding);
        for chunk in text.chunks(piece.max(1)) {
            encoder.write_all(chunk).expect("write to a Vec");
        }
        encoder.finish().expect("finish")
    }

    #[test]
    fn gzip_members_decode_to_the_input() {
        for size in [0, 10, BLOCK_SIZE - 1, BLOCK_SIZE, 5 * BLOCK_SIZE + 123] {
            let text = sample_text(size);
            let body = encode(Encoding::Gzip, &text, 7919);
            let mut decoded = Vec::new();
            MultiGzDecoder::new(&body[..])
                .read_to_end(&mut decoded)
                .expect("valid gzip");
            assert_eq!(decoded, text, "size {size}");
            if size >= BLOCK_SIZE {
                assert!(body.len() < text.len() / 4, "size {size}: compressed");
            }
        }
    }

    #[test]
    fn zstd_frames_decode_to_the_input() {
        for size in [0, 10, BLOCK_SIZE, 4 * BLOCK_SIZE + 99] {
            let text = sample_text(size);
            let body = encode(Encoding::Zstd, &text, 65_536);
            let decoded = zstd::stream::decode_all(&body[..]).expect("valid zstd");
            assert_eq!(decoded, text, "size {size}");
        }
    }

    #[test]
    fn every_block_is_its_own_gzip_member() {
        let text = sample_text(3 * BLOCK_SIZE);
        let body = encode(Encoding::Gzip, &text, BLOCK_SIZE);
        // Three members: three gzip magic headers at member starts.
        let mut members = 0;
        let mut rest = &body[..];
        while !rest.is_empty() {
            let mut decoder = flate2::bufread::GzDecoder::new(rest);
            let mut sink = Vec::new();
            decoder.read_to_end(&mut sink).expect("one member");
            rest = decoder.into_inner();
            members += 1;
        }
        assert_eq!(members, 3);
    }
}
