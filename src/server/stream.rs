//! Streaming a synchronous writer into an HTTP body.
//!
//! The metrics source writes with `std::io::Write` on a blocking thread; [`ChannelWriter`]
//! cuts what it writes into chunks and hands them over a small bounded channel to
//! [`ChannelBody`], which hyper sends as chunked transfer encoding. Whole rendered buffers
//! ([`ExpositionSink::write_buffer`]) go over the channel as they are, without a copy, and
//! return to their pool once hyper has written them. The bound gives
//! back-pressure: a slow client slows the writer instead of the server buffering the whole
//! exposition. When the client goes away the channel closes and the writer gets
//! `BrokenPipe`, which stops the source early. A client that takes nothing for the stall
//! timeout fails the write with `TimedOut`, so a stalled reader holds its scrape's memory
//! for at most that long.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::metrics::buffer::{Buffer, BufferPool};
use crate::metrics::ExpositionSink;

/// Bytes gathered before a chunk is handed to the body (the channel holds a few of these).
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks in flight between writer and body.
const CHANNEL_DEPTH: usize = 4;
/// Buffers smaller than this are copied into the current chunk rather than sent on their
/// own: every frame costs a channel hand-over and a chunk header.
const SMALLEST_SENT_WHOLE: usize = 16 * 1024;

type Chunk = Result<Bytes, io::Error>;

/// A connected writer/body pair whose writer waits without limit for the client.
pub fn channel() -> (ChannelWriter, ChannelBody) {
    channel_with_stall_timeout(None)
}

/// A connected writer/body pair; a write that waits longer than `stall_timeout` for the
/// client to take a chunk fails with `TimedOut`. Create it on the runtime (the writer uses
/// the runtime's timer).
pub fn channel_with_stall_timeout(stall_timeout: Option<Duration>) -> (ChannelWriter, ChannelBody) {
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let aborted = Arc::new(AtomicBool::new(false));
    let deadline = stall_timeout
        .filter(|timeout| !timeout.is_zero())
        .and_then(|timeout| Some((tokio::runtime::Handle::try_current().ok()?, timeout)));
    // The channel's chunks, the one being filled and the one hyper is writing.
    let chunks = BufferPool::new(CHANNEL_DEPTH + 2, CHUNK_SIZE);
    (
        ChannelWriter {
            buffer: chunks.take(),
            chunks,
            sender,
            deadline,
            aborted: Arc::clone(&aborted),
        },
        ChannelBody { receiver, aborted },
    )
}

/// The writing half; use from a blocking thread only (it blocks when the channel is full).
pub struct ChannelWriter {
    buffer: Buffer,
    chunks: Arc<BufferPool>,
    sender: mpsc::Sender<Chunk>,
    deadline: Option<(tokio::runtime::Handle, Duration)>,
    aborted: Arc<AtomicBool>,
}

impl ChannelWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, self.chunks.take());
        self.send(chunk.into_bytes())
    }

    fn send(&mut self, chunk: Bytes) -> io::Result<()> {
        let chunk = Ok(chunk);
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "client went away");
        let Some((runtime, timeout)) = &self.deadline else {
            return self.sender.blocking_send(chunk).map_err(|_| gone());
        };
        match runtime.block_on(tokio::time::timeout(*timeout, self.sender.send(chunk))) {
            Ok(sent) => sent.map_err(|_| gone()),
            Err(_elapsed) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {} s", timeout.as_secs_f64()),
            )),
        }
    }

    /// Sends what is left. Dropping the writer afterwards ends the body.
    pub fn finish(mut self) -> io::Result<()> {
        self.send_buffer()
    }

    /// A handle that can end the body with an error even after the writer was moved away
    /// (into a gzip encoder, or lost in a panic).
    pub fn failure_handle(&self) -> FailureHandle {
        FailureHandle {
            sender: self.sender.clone(),
            aborted: Arc::clone(&self.aborted),
        }
    }
}

/// Ends a body with an error: hyper then aborts the response instead of finishing it, so
/// the client sees a failed scrape rather than a silently truncated one. Drop it on
/// success: the body only ends once every handle is gone.
pub struct FailureHandle {
    sender: mpsc::Sender<Chunk>,
    aborted: Arc<AtomicBool>,
}

impl FailureHandle {
    /// Never blocks: a stalled client's full channel cannot hold the error, so the body
    /// also ends in an error when its channel closes after a failure.
    pub fn fail(self, error: io::Error) {
        self.aborted.store(true, Ordering::Release);
        // If the channel is full or the client gone, the flag carries the failure.
        let _ = self.sender.try_send(Err(error));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_SIZE {
            self.send_buffer()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Deliberately a no-op: sources may flush often; chunks stay large.
        Ok(())
    }
}

impl ExpositionSink for ChannelWriter {
    fn write_buffer(&mut self, buffer: Buffer) -> io::Result<()> {
        if buffer.len() < SMALLEST_SENT_WHOLE {
            return self.write_all(&buffer);
        }
        // What was gathered before goes first.
        self.send_buffer()?;
        self.send(buffer.into_bytes())
    }
}

/// The reading half: an HTTP body of unknown length.
pub struct ChannelBody {
    receiver: mpsc::Receiver<Chunk>,
    aborted: Arc<AtomicBool>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.receiver.poll_recv(cx) {
            Poll::Ready(None) if self.aborted.swap(false, Ordering::AcqRel) => Poll::Ready(Some(
                Err(io::Error::other("the metrics body was abandoned")),
            )),
            polled => polled.map(|chunk| chunk.map(|chunk| chunk.map(Frame::data))),
        }
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown length: hyper uses chunked transfer encoding.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;
    use crate::metrics::buffer::BufferPool;

    /// Small and large buffers, plain writes between them: the body is the same bytes in
    /// the same order, and every buffer went back to its pool once the body was read.
    #[tokio::test]
    async fn handed_over_buffers_keep_their_place_in_the_body() {
        let (writer, body) = channel();
        let pool = BufferPool::new(16, 1024);
        let writing = tokio::task::spawn_blocking({
            let pool = Arc::clone(&pool);
            move || -> io::Result<Vec<u8>> {
                let mut writer = writer;
                let mut expected = Vec::new();
                for (index, size) in [10, SMALLEST_SENT_WHOLE, 3, CHUNK_SIZE * 2, 1, 70_000]
                    .into_iter()
                    .enumerate()
                {
                    let text = vec![b'a' + index as u8; size];
                    writer.write_all(b"plain,")?;
                    expected.extend_from_slice(b"plain,");
                    let mut buffer = pool.take();
                    buffer.extend_from_slice(&text);
                    writer.write_buffer(buffer)?;
                    expected.extend_from_slice(&text);
                }
                writer.finish()?;
                Ok(expected)
            }
        });
        let received = body.collect().await.expect("body").to_bytes();
        let expected = writing.await.expect("writer thread").expect("writes");
        assert_eq!(received.len(), expected.len());
        assert!(received == expected, "bytes out of order");
        assert!(pool.spare() > 0, "sent buffers return to their pool");
    }
}
