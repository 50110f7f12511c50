//! The seam between the store/metrics side and the HTTP server: the server asks for
//! an exposition and knows nothing of objects or protobuf.

use std::collections::BTreeSet;
use std::io;

use super::buffer::Buffer;

/// Wire format of an exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpositionFormat {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0 text (ends with `# EOF`).
    OpenMetrics,
}

/// What one scrape asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderRequest {
    pub format: ExpositionFormat,
    /// `?resources=`: only these resources (plural names); `None` = all enabled.
    pub include: Option<BTreeSet<String>>,
    /// `?exclude_resources=`: never these.
    pub exclude: BTreeSet<String>,
}

impl RenderRequest {
    /// Every enabled resource, in `format` (no `?resources=` filter).
    pub fn all(format: ExpositionFormat) -> RenderRequest {
        RenderRequest {
            format,
            include: None,
            exclude: BTreeSet::new(),
        }
    }

    pub fn wants(&self, resource: &str) -> bool {
        self.include
            .as_ref()
            .is_none_or(|set| set.contains(resource))
            && !self.exclude.contains(resource)
    }
}

/// Where an exposition goes: bytes through `io::Write`, and whole rendered buffers through
/// [`ExpositionSink::write_buffer`], which a streaming HTTP body sends as they are instead of
/// copying them into chunks of its own.
pub trait ExpositionSink: io::Write {
    /// Takes a rendered buffer. By default its bytes are copied and it goes back to its pool.
    fn write_buffer(&mut self, buffer: Buffer) -> io::Result<()> {
        self.write_all(&buffer)
    }
}

/// Any writer as an [`ExpositionSink`] that copies.
pub struct CopyingSink<'a>(pub &'a mut dyn io::Write);

impl io::Write for CopyingSink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.write(data)
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl ExpositionSink for CopyingSink<'_> {}

impl ExpositionSink for Vec<u8> {}

/// Anything that can write the metrics exposition. Implementations write in chunks so
/// the server can stream (and gzip) without holding the whole text.
pub trait MetricsSource: Send + Sync + 'static {
    fn write_exposition(&self, request: &RenderRequest, out: &mut dyn io::Write) -> io::Result<()>;

    /// The same bytes as [`MetricsSource::write_exposition`], for a sink that can take whole
    /// buffers. Sources that render into buffers of their own hand them over here.
    fn stream_exposition(
        &self,
        request: &RenderRequest,
        out: &mut dyn ExpositionSink,
    ) -> io::Result<()> {
        self.write_exposition(request, out)
    }
}
