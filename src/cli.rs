//! Command-line interface. Flag names and defaults follow kube-state-metrics.
//!
//! The exporter's flags are all optional here so that a value given on the command line can
//! be told apart from one left at its default: `crate::config` merges flags over the
//! `--config` file over the defaults, and validates the result into `config::Options`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "kube-state-exporter",
    version,
    about = "kube-state-metrics compatible exporter with a build-time Kubernetes schema (upstream + vendor overlays)",
    long_about = "kube-state-metrics compatible exporter with a build-time Kubernetes schema (upstream + vendor overlays).\n\nWithout a subcommand it runs the exporter. Flags override the --config file, which overrides the defaults."
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

/// The exporter's flags (KSM's names). Every one can also be set in the `--config` file.
#[derive(Debug, Default, Clone, Args)]
pub struct ExporterArgs {
    /// YAML file with the same keys as these flags (kebab-case or snake_case); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate the flags and the config file, print the resolved options and exit.
    #[arg(long)]
    pub validate_config: bool,

    /// Address the metrics server listens on [default: ::].
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Port of the metrics server (/metrics, /healthz, /livez) [default: 8080].
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Address the telemetry server listens on [default: ::].
    #[arg(long, value_name = "HOST")]
    pub telemetry_host: Option<String>,
    /// Port of the telemetry server (self-metrics, /readyz) [default: 8081].
    #[arg(long, value_name = "PORT")]
    pub telemetry_port: Option<u16>,

    /// URL of the Kubernetes API server (overrides the kubeconfig's server).
    #[arg(long, value_name = "URL")]
    pub apiserver: Option<String>,
    /// Path to a kubeconfig file (default: in-cluster configuration, then $KUBECONFIG).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Comma-separated resources to serve (replaces the default set) [default: KSM's 32 default resources].
    #[arg(long, value_name = "LIST")]
    pub resources: Option<String>,
    /// Comma-separated namespaces to watch [default: all].
    #[arg(long, value_name = "LIST")]
    pub namespaces: Option<String>,
    /// Comma-separated namespaces to exclude (cannot be combined with --namespaces).
    #[arg(long, value_name = "LIST")]
    pub namespaces_denylist: Option<String>,

    /// Comma-separated regexes: only metric families matching one are served (not with --metric-denylist).
    #[arg(long, value_name = "REGEXES")]
    pub metric_allowlist: Option<String>,
    /// Comma-separated regexes: metric families matching one are not served (not with --metric-allowlist).
    #[arg(long, value_name = "REGEXES")]
    pub metric_denylist: Option<String>,
    /// Comma-separated regexes enabling opt-in metric families (e.g. kube_pod_nodeselectors).
    #[arg(long, value_name = "REGEXES")]
    pub metric_opt_in_list: Option<String>,
    /// Kubernetes labels exposed in kube_<resource>_labels, e.g. `pods=[app,team],nodes=[*]`.
    #[arg(long, value_name = "ALLOWLIST")]
    pub metric_labels_allowlist: Option<String>,
    /// Kubernetes annotations exposed in kube_<resource>_annotations, same syntax.
    #[arg(long, value_name = "ALLOWLIST")]
    pub metric_annotations_allowlist: Option<String>,

    /// List from the API server's watch cache (resourceVersion=0) [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub use_apiserver_cache: Option<bool>,
    /// Gzip /metrics when the client accepts it [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_gzip_encoding: Option<bool>,

    /// Time allowed for reading a request head, e.g. 5s (0: no limit) [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub server_read_header_timeout: Option<Duration>,
    /// Time allowed from connecting until the first request head is read [default: 1m0s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub server_read_timeout: Option<Duration>,
    /// Time allowed to write a response [default: 1m0s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub server_write_timeout: Option<Duration>,
    /// Time a keep-alive connection may wait for its next request [default: 5m0s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub server_idle_timeout: Option<Duration>,

    /// Encoding asked of the API server: auto (protobuf where served, else JSON), protobuf or json [default: auto].
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<ContentType>,
    /// Log level: error, warn, info, debug or trace [default: info].
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
    /// Serve metrics from a recording built into the binary; no cluster needed [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub demo: Option<bool>,
}

/// Go-style durations (`5s`, `1m0s`, `1h30m`, `250ms`; `0` disables), as KSM's flags take.
fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    crate::config::parse_go_duration(text)
}

/// How the client asks the API server to encode responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ContentType {
    /// Protobuf where the API serves it, JSON otherwise.
    #[default]
    Auto,
    Protobuf,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The level as a `tracing` filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl ContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Auto => "auto",
            ContentType::Protobuf => "protobuf",
            ContentType::Json => "json",
        }
    }
}

/// Arguments of `render`.
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
