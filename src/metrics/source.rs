//! The seam between the store/metrics side and the HTTP server: the server asks for
//! an exposition and knows nothing of objects or protobuf.

use std::collections::BTreeSet;
use std::io;

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

/// Anything that can write the metrics exposition. Implementations write in chunks so
/// the server can stream (and gzip) without holding the whole text.
pub trait MetricsSource: Send + Sync + 'static {
    fn write_exposition(&self, request: &RenderRequest, out: &mut dyn io::Write) -> io::Result<()>;
}
