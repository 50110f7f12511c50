//! Command-line interface: subcommands and their arguments.
//!
//! The exporter's flags (and the ones `render` and `record` share with it) are not
//! declared here but derived from the flag table in `crate::config::flags`, where each
//! is described once; `crate::config` parses and validates their values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::config::flags::{ConnectFlags, ExporterArgs, RenderFlags};

#[derive(Debug, Parser)]
#[command(
    name = "kube-state-exporter",
    version,
    about = "kube-state-metrics compatible exporter with a build-time Kubernetes schema (upstream + vendor overlays)",
    long_about = "kube-state-metrics compatible exporter with a build-time Kubernetes schema (upstream + vendor overlays).\n\nWithout a subcommand it runs the exporter. Values in the --config file override the flags, which override the defaults (as in kube-state-metrics)."
)]
pub struct Cli {
    #[command(flatten)]
    pub exporter: ExporterArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version, the upstream Kubernetes version, the overlays and the schema hash.
    Version,
    /// Decode a protobuf or JSON body (object or list) and print it as Kubernetes JSON.
    Decode(DecodeArgs),
    /// Record raw list and watch responses of the apiserver into a directory that the
    /// replay apiserver (tests, `--demo`) can serve. See docs/recording-format.md.
    Record(RecordArgs),
    /// Print the metrics of objects read from files (JSON, protobuf, JSON Lines, or a recording directory), offline.
    Render(RenderArgs),
    /// Write a synthetic cluster (nodes, workloads, pods, churn) as a recording.
    Synth(SynthArgs),
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub connect: ConnectFlags,
    /// Directory to write manifest.json and the bodies into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Comma-separated resources (plural names); default: every resource this build serves.
    #[arg(long, value_delimiter = ',')]
    pub resources: Vec<String>,
    /// How long to record watches, as a Go duration: `60s`, `2m`, `1m30s`.
    #[arg(long, default_value = "60s", value_parser = crate::config::duration::parse)]
    pub duration: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of nodes.
    #[arg(long)]
    pub nodes: u32,
    /// Pods per node (total pods = nodes × pods per node).
    #[arg(long)]
    pub pods_per_node: u32,
    /// Seed: the same seed and sizes give byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Watch churn: events per 100 pods (and per 100 nodes), e.g. 2 or 0.5.
    #[arg(long, value_name = "PERCENT", default_value_t = 2.0)]
    pub churn: f64,
    /// Also write JSON twins of every list and watch (as `record` does).
    #[arg(long)]
    pub json: bool,
    /// Directory to write manifest.json and the bodies into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// On a protobuf decode failure, walk the wire data against the schema and say where it differs.
    #[arg(long)]
    pub diagnose: bool,
    /// A response body: protobuf (`k8s\0` envelope) or JSON.
    pub file: PathBuf,
}

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The exporter's resource, family and label selection flags.
    #[command(flatten)]
    pub selection: RenderFlags,
    /// Write OpenMetrics 1.0 (ends with `# EOF`) instead of text format 0.0.4.
    #[arg(long)]
    pub openmetrics: bool,
    /// Files (JSON, protobuf, JSON Lines) or recording directories.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}
