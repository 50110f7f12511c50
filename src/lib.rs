//! kube-state-exporter: kube-state-metrics compatible metrics from a protobuf client
//! whose Kubernetes schema is assembled at build time (upstream + vendor overlays).
//!
//! Data flows one way: `client` (HTTP, envelope, framing) → `reflector` (list/watch)
//! → `store` → `metrics` (one file per resource) → `server`; the store also hands pod
//! events to `lifecycle`, which counts what a scrape cannot see.

pub mod api;
pub mod app;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod lifecycle;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod reflector;
pub mod replay;
pub mod server;
pub mod sharding;
pub mod store;
pub mod synth;
pub mod telemetry;
