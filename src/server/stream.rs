//! Streaming a synchronous writer into an HTTP body.
//!
//! The metrics source writes with `std::io::Write` on a blocking thread; [`ChannelWriter`]
//! cuts what it writes into chunks and hands them over a small bounded channel to
//! [`ChannelBody`], which hyper sends as chunked transfer encoding. The bound gives
//! back-pressure: a slow client slows the writer instead of the server buffering the whole
//! exposition. When the client goes away the channel closes and the writer gets
//! `BrokenPipe`, which stops the source early.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// Bytes gathered before a chunk is handed to the body (the channel holds a few of these).
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks in flight between writer and body.
const CHANNEL_DEPTH: usize = 4;

type Chunk = Result<Bytes, io::Error>;

/// A connected writer/body pair.
pub fn channel() -> (ChannelWriter, ChannelBody) {
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    (
        ChannelWriter {
            buffer: Vec::with_capacity(CHUNK_SIZE),
            sender,
        },
        ChannelBody { receiver },
    )
}

/// The writing half; use from a blocking thread only (it blocks when the channel is full).
pub struct ChannelWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
}

impl ChannelWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_SIZE));
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
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
        }
    }
}

/// Ends a body with an error: hyper then aborts the response instead of finishing it, so
/// the client sees a failed scrape rather than a silently truncated one. Drop it on
/// success: the body only ends once every handle is gone.
pub struct FailureHandle {
    sender: mpsc::Sender<Chunk>,
}

impl FailureHandle {
    pub fn fail(self, error: io::Error) {
        // If the client is already gone there is nobody to tell.
        let _ = self.sender.blocking_send(Err(error));
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

/// The reading half: an HTTP body of unknown length.
pub struct ChannelBody {
    receiver: mpsc::Receiver<Chunk>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown length: hyper uses chunked transfer encoding.
        SizeHint::default()
    }
}
