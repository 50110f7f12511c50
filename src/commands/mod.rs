//! Subcommands that are more than a few lines.

pub mod render;
