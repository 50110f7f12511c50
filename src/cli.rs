//! Command-line interface. Flag names and defaults follow kube-state-metrics.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kube-state-exporter",
    version,
    about = "kube-state-metrics compatible exporter with a build-time Kubernetes schema (upstream + vendor overlays)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version, the upstream Kubernetes version, the overlays and the schema hash.
    Version,
    /// Decode a protobuf or JSON body (object or list) and print it as Kubernetes JSON.
    Decode(DecodeArgs),
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// On a protobuf decode failure, walk the wire data against the schema and say where it differs.
    #[arg(long)]
    pub diagnose: bool,
    /// A response body: protobuf (`k8s\0` envelope) or JSON.
    pub file: PathBuf,
}
