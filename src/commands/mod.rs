//! Subcommands other than running the exporter.

pub mod decode;
pub mod render;
pub mod synth;
