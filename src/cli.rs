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
    /// Record raw list and watch responses of the apiserver into a directory that the
    /// replay apiserver (tests, `--demo`) can serve. See docs/recording-format.md.
    Record(RecordArgs),
}

/// Where the apiserver is and how to authenticate (kube-state-metrics' rules).
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// Kubeconfig file; without it (and without --apiserver) the in-cluster service
    /// account is used when KUBERNETES_SERVICE_HOST/PORT are set, else KUBECONFIG or
    /// ~/.kube/config.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The apiserver URL; overrides the kubeconfig's server.
    #[arg(long)]
    pub apiserver: Option<String>,
}

/// How the reflectors talk to the apiserver (for the exporter command to flatten).
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Encoding to request: `auto` (protobuf, falling back to JSON per resource on
    /// schema drift), `protobuf` or `json`.
    #[arg(long, default_value = "auto")]
    pub content_type: crate::reflector::ContentTypeMode,
    /// List with resourceVersion=0 (served from the apiserver's watch cache).
    #[arg(long)]
    pub use_apiserver_cache: bool,
    /// Objects per list page (`limit`).
    #[arg(long, default_value_t = 500)]
    pub list_page_size: u32,
    /// Try a streaming list (sendInitialEvents, Kubernetes 1.32+ or the WatchList gate)
    /// before list+watch; falls back to list+watch on any error.
    #[arg(long)]
    pub streaming_list: bool,
    /// Largest watch frame (or JSON line) accepted, in bytes.
    #[arg(long, default_value_t = crate::client::DEFAULT_MAX_FRAME)]
    pub max_watch_frame_bytes: usize,
}

impl ClientArgs {
    pub fn reflector_options(&self) -> crate::reflector::ReflectorOptions {
        let mut options = crate::reflector::ReflectorOptions {
            content_type: self.content_type,
            streaming_list: self.streaming_list,
            ..Default::default()
        };
        options.list.limit = self.list_page_size;
        options.list.use_apiserver_cache = self.use_apiserver_cache;
        options.watch.max_frame = self.max_watch_frame_bytes;
        options
    }
}

impl ConnectArgs {
    pub fn options(&self) -> crate::client::ConnectOptions {
        crate::client::ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            apiserver: self.apiserver.clone(),
            service_account_dir: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Directory to write manifest.json and the bodies into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Comma-separated resources (plural names); default: every resource this build serves.
    #[arg(long, value_delimiter = ',')]
    pub resources: Vec<String>,
    /// How long to record watches: `60s`, `2m`, or seconds.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
}

/// Parses `90`, `90s`, `2m`, `1h`, `500ms`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 60s or 2m"))?;
    let seconds = |n: u64| std::time::Duration::from_secs(n);
    match unit {
        "" | "s" => Ok(seconds(number)),
        "ms" => Ok(std::time::Duration::from_millis(number)),
        "m" => Ok(seconds(number * 60)),
        "h" => Ok(seconds(number * 3600)),
        other => Err(format!(
            "unknown unit {other:?} in {text:?}: use ms, s, m or h"
        )),
    }
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// On a protobuf decode failure, walk the wire data against the schema and say where it differs.
    #[arg(long)]
    pub diagnose: bool,
    /// A response body: protobuf (`k8s\0` envelope) or JSON.
    pub file: PathBuf,
}
