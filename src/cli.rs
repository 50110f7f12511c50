//! Command-line interface. Flag names and defaults follow kube-state-metrics.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "kube-state-exporter", version, about = "kube-state-metrics compatible exporter with a build-time Kubernetes schema (upstream + vendor overlays)")]
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
    /// Print the metrics of objects read from files (JSON, protobuf, JSON Lines, or a recording directory), offline.
    Render(RenderArgs),
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// On a protobuf decode failure, walk the wire data against the schema and say where it differs.
    #[arg(long)]
    pub diagnose: bool,
    /// A response body: protobuf (`k8s\0` envelope) or JSON.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Resources to render (comma-separated plural names); default: every resource with metrics.
    #[arg(long, value_delimiter = ',')]
    pub resources: Vec<String>,
    /// Only families matching one of these regexes (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub metric_allowlist: Vec<String>,
    /// Never families matching one of these regexes (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub metric_denylist: Vec<String>,
    /// Opt-in families to enable, e.g. kube_pod_nodeselectors (comma-separated regexes).
    #[arg(long, value_delimiter = ',')]
    pub metric_opt_in_list: Vec<String>,
    /// Kubernetes labels to expose per resource, e.g. `pods=[app,team],nodes=[*]`.
    #[arg(long)]
    pub metric_labels_allowlist: Option<String>,
    /// Kubernetes annotations to expose per resource, same syntax.
    #[arg(long)]
    pub metric_annotations_allowlist: Option<String>,
    /// Write OpenMetrics 1.0 (ends with `# EOF`) instead of text format 0.0.4.
    #[arg(long)]
    pub openmetrics: bool,
    /// Files (JSON, protobuf, JSON Lines) or recording directories.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}
