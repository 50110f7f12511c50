//! KSM-compatible metric families, one file per resource, and their exposition.
//!
//! - `family`: the family model (name, type, stability, help, label names) and samples;
//! - `pods`, `nodes`: one file per resource, one small function per family;
//! - `resource`: the per-resource table and the list of resources with metrics;
//! - `format`: Go float formatting and escaping; `quantity`: Kubernetes quantities;
//! - `labelmap`: label/annotation allowlists and key sanitising; `filter`: family
//!   allow/deny/opt-in lists; `kube`: accessors over the generated types.

pub mod family;
pub mod filter;
pub mod format;
pub mod kube;
pub mod labelmap;
pub mod nodes;
pub mod pods;
pub mod quantity;
pub mod resource;
mod source;

pub use source::{ExpositionFormat, MetricsSource, RenderRequest};
