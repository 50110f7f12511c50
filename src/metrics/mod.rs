//! KSM-compatible metric families, one file per resource, and their exposition.
//!
//! - `family`: the family model (name, type, stability, help, label names) and samples;
//! - `resources`: one file per resource, one small function per family, and the
//!   registry listing them;
//! - `resource`: what a resource's table is, and the store's type-erased view of it;
//! - `generic`: the metadata families every resource shares (created, labels, owner, …);
//! - `format`: Go float formatting and escaping; `quantity`: Kubernetes quantities;
//! - `labelmap`: label/annotation allowlists and key sanitising; `filter`: family
//!   allow/deny/opt-in lists; `kube`: accessors over the generated types;
//! - `overlay`: families declared by the selected schema overlays (generated);
//! - `reference`: docs/metrics.md, generated from the family tables;
//! - `pool`: the render/compress worker threads; `buffer`: a scrape's reused output buffers.

pub mod buffer;
pub mod family;
pub mod filter;
pub mod format;
pub mod generic;
pub mod kube;
pub mod labelmap;
pub mod overlay;
pub mod pool;
pub mod quantity;
pub mod reference;
pub mod resource;
pub mod resources;
mod source;

pub use source::{CopyingSink, ExpositionFormat, ExpositionSink, MetricsSource, RenderRequest};
