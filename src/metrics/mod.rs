//! KSM-compatible metric families, one file per resource, and their exposition.

mod source;

pub use source::{ExpositionFormat, MetricsSource, RenderRequest};
