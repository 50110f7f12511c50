//! The exporter's resolved, validated options: the `--config` YAML file over the
//! command-line flags over the defaults (kube-state-metrics' precedence: a key set in
//! the file wins over the same flag).
//!
//! Every flag is described once, in [`flags`]; values are parsed here, into the types
//! the rest of the program uses directly (the store's [`MetricFilter`] and
//! [`AllowListFlag`], the reflector's [`ContentTypeMode`], the servers' [`Timeouts`]).
//! Every problem is reported as one line naming the flag, or the file and key, it came
//! from.

pub mod duration;
mod file;
pub mod flags;

use std::fmt;
use std::path::PathBuf;

use crate::api::{ResourceType, RESOURCES};
use crate::client::ConnectOptions;
use crate::logging::{LogFormat, LogLevel};
use crate::metrics::filter::{FamilyPatterns, FilterError, MetricFilter, OptInPatterns};
use crate::metrics::labelmap::AllowListFlag;
use crate::reflector::{ContentTypeMode, WatchListMode};
use crate::server::Timeouts;
use crate::sharding::{NodeFilter, ShardAssignment, Sharding};
use crate::store::StoreOptions;

use file::{FileValues, LoadError};
use flags::{
    ConnectFlags, ExporterArgs, Flag, FlagSet, Given, Harmless, Kind, RenderFlags, Support,
};

/// kube-state-metrics' default resource set (`DefaultResources`, 32 entries).
pub const DEFAULT_RESOURCES: &[&str] = &[
    "certificatesigningrequests",
    "configmaps",
    "cronjobs",
    "daemonsets",
    "deployments",
    "endpointslices",
    "horizontalpodautoscalers",
    "ingresses",
    "jobs",
    "leases",
    "limitranges",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
    "mutatingwebhookconfigurations",
    "namespaces",
    "networkpolicies",
    "nodes",
    "persistentvolumeclaims",
    "persistentvolumes",
    "poddisruptionbudgets",
    "pods",
    "replicasets",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "services",
    "statefulsets",
    "storageclasses",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "validatingwebhookconfigurations",
    "volumeattachments",
];

/// A configuration problem: one line, naming where the bad value came from.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    origin: String,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(origin: impl fmt::Display, message: impl fmt::Display) -> Self {
        // Keep it one line whatever the underlying error printed (regex errors span
        // several).
        let message = message
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        ConfigError {
            origin: origin.to_string(),
            message,
        }
    }
}

/// Where a value came from, for messages.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// The flag as typed (`--port`, `-v`).
    Flag(String),
    File {
        path: PathBuf,
        key: String,
    },
    /// The flag's default from the table (only a bug could make it fail to parse).
    Default(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::File { path, key } => write!(f, "config file {}: key {key}", path.display()),
            Origin::Default(name) => write!(f, "default of --{name}"),
        }
    }
}

/// The values of one command: the file's when it sets an option, else the flag's.
struct Sources<'a, S> {
    given: &'a Given<S>,
    file: &'a FileValues,
}

impl<S> Sources<'_, S> {
    /// KSM's precedence: the file's value when it sets the option, else the flag's.
    fn text(&self, flag: &Flag) -> Result<Option<(String, Origin)>, ConfigError> {
        if let Some(found) = self.file.text(flag)? {
            return Ok(Some(found));
        }
        Ok(self
            .given
            .value(flag)
            .map(|value| (value, Origin::Flag(flag.display()))))
    }

    /// The value, or the table's default.
    fn text_or_default(&self, flag: &Flag) -> Result<(String, Origin), ConfigError> {
        Ok(self
            .text(flag)?
            .unwrap_or_else(|| (flag.default.to_string(), Origin::Default(flag.name))))
    }

    /// The parsed value, or the parsed default.
    fn value<T>(
        &self,
        flag: &Flag,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let (text, origin) = self.text_or_default(flag)?;
        parse(&text).map_err(|message| ConfigError::new(&origin, message))
    }

    /// The parsed value, `None` when neither the file nor the command line sets it.
    fn optional<T>(
        &self,
        flag: &Flag,
        parse: impl FnOnce(&str, &Origin) -> Result<T, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        match self.text(flag)? {
            Some((text, origin)) => parse(&text, &origin).map(Some),
            None => Ok(None),
        }
    }

    /// A comma list, each item checked; empty when not set.
    fn list<T>(
        &self,
        flag: &Flag,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<(Vec<T>, Option<Origin>), ConfigError> {
        let Some((text, origin)) = self.text(flag)? else {
            return Ok((Vec::new(), None));
        };
        let items = split_list(&text)
            .map(|item| parse(item).map_err(|message| ConfigError::new(&origin, message)))
            .collect::<Result<_, _>>()?;
        Ok((items, Some(origin)))
    }
}

/// Which resources, families and labels are served: what the exporter and `render`
/// share.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Sorted by plural name, no duplicates.
    pub resources: Vec<&'static ResourceType>,
    /// `--resources` was set (else: KSM's default set).
    pub resources_given: bool,
    pub metric_filter: MetricFilter,
    pub labels_allowlist: AllowListFlag,
    pub annotations_allowlist: AllowListFlag,
}

impl Selection {
    /// `render`'s flags (no config file).
    pub fn from_render_flags(flags: &RenderFlags) -> Result<Selection, ConfigError> {
        let file = FileValues::default();
        Selection::resolve(&Sources {
            given: flags,
            file: &file,
        })
    }

    fn resolve<S>(src: &Sources<'_, S>) -> Result<Selection, ConfigError> {
        let (resources, resources_given) = match src.text(&flags::RESOURCES)? {
            Some((list, origin)) => (parse_resources(&list, &origin)?, true),
            None => (default_resources(), false),
        };
        let metric_filter = metric_filter(src)?;
        let labels_allowlist = allowlist(src, &flags::METRIC_LABELS_ALLOWLIST)?;
        let annotations_allowlist = allowlist(src, &flags::METRIC_ANNOTATIONS_ALLOWLIST)?;
        Ok(Selection {
            resources,
            resources_given,
            metric_filter,
            labels_allowlist,
            annotations_allowlist,
        })
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            filter: self.metric_filter.clone(),
            labels_allowlist: self.labels_allowlist.clone(),
            annotations_allowlist: self.annotations_allowlist.clone(),
        }
    }

    pub fn resource_names(&self) -> Vec<&'static str> {
        self.resources.iter().map(|r| r.plural).collect()
    }
}

/// Compiles each list with its own engine (allow/deny: ECMAScript-style, opt-in: RE2),
/// so a pattern that validates here is exactly what the store applies.
fn metric_filter<S>(src: &Sources<'_, S>) -> Result<MetricFilter, ConfigError> {
    fn compiled<T, S>(
        src: &Sources<'_, S>,
        flag: &Flag,
        compile: fn(Vec<String>) -> Result<T, FilterError>,
    ) -> Result<(T, Option<Origin>), ConfigError> {
        let text = src.text(flag)?;
        let patterns: Vec<String> = text.as_ref().map_or_else(Vec::new, |(text, _)| {
            split_list(text).map(str::to_string).collect()
        });
        let origin = text.as_ref().map(|(_, origin)| origin.clone());
        let list = compile(patterns).map_err(|error| {
            ConfigError::new(
                origin
                    .as_ref()
                    .map_or_else(|| flag.display(), ToString::to_string),
                error,
            )
        })?;
        Ok((list, origin))
    }
    let (allow, allow_origin) = compiled(src, &flags::METRIC_ALLOWLIST, FamilyPatterns::compile)?;
    let (deny, _) = compiled(src, &flags::METRIC_DENYLIST, FamilyPatterns::compile)?;
    let (opt_in, _) = compiled(src, &flags::METRIC_OPT_IN_LIST, OptInPatterns::compile)?;
    MetricFilter::from_parts(allow, deny, opt_in).map_err(|error| match error {
        FilterError::BothLists => ConfigError::new(
            allow_origin.map_or_else(|| flags::METRIC_ALLOWLIST.display(), |o| o.to_string()),
            format!(
                "cannot be combined with {}",
                flags::METRIC_DENYLIST.display()
            ),
        ),
        other => ConfigError::new(flags::METRIC_ALLOWLIST.display(), other),
    })
}

/// One parser (the store's) for the flag, the file and `render`; resource names must be
/// known to this build or `*`.
fn allowlist<S>(src: &Sources<'_, S>, flag: &Flag) -> Result<AllowListFlag, ConfigError> {
    let Some((text, origin)) = src.text(flag)? else {
        return Ok(AllowListFlag::default());
    };
    let known: Vec<&str> = RESOURCES.iter().map(|r| r.plural).collect();
    AllowListFlag::parse(&text)
        .and_then(|list| list.validate(&known).map(|()| list))
        .map_err(|error| ConfigError::new(&origin, error))
}

/// Everything the exporter needs to start, validated.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    pub validate_only: bool,
    pub host: String,
    pub port: u16,
    pub telemetry_host: String,
    pub telemetry_port: u16,
    pub apiserver: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    /// Sorted by plural name, no duplicates.
    pub resources: Vec<&'static ResourceType>,
    /// Empty: all namespaces.
    pub namespaces: Vec<String>,
    /// Applied to every namespaced resource, with or without `namespaces`.
    pub namespaces_denylist: Vec<String>,
    pub metric_filter: MetricFilter,
    pub labels_allowlist: AllowListFlag,
    pub annotations_allowlist: AllowListFlag,
    pub use_apiserver_cache: bool,
    pub enable_gzip_encoding: bool,
    /// Timeouts of the metrics server.
    pub server_timeouts: Timeouts,
    /// Timeouts of the telemetry server (KSM: read-header only, 5 s).
    pub telemetry_timeouts: Timeouts,
    /// `--max-concurrent-scrapes` (at least 1).
    pub max_concurrent_scrapes: usize,
    /// `--scrape-stall-timeout` (zero: none).
    pub scrape_stall_timeout: std::time::Duration,
    pub content_type: ContentTypeMode,
    /// `--shard`/`--total-shards`, or auto-sharding with `--pod`/`--pod-namespace`.
    pub sharding: Sharding,
    /// `--node` / `--track-unscheduled-pods` (pods only).
    pub node_filter: Option<NodeFilter>,
    pub watch_list: WatchListMode,
    /// Longest silence inside a list body (or a streaming list's initial events).
    pub apiserver_stall_timeout: std::time::Duration,
    /// `None`: not set by flag or file (then `RUST_LOG`, else info).
    pub log_level: Option<LogLevel>,
    pub log_format: LogFormat,
    pub demo: bool,
    /// `--tls-config`: the exporter-toolkit web configuration file.
    pub tls_config: Option<PathBuf>,
    /// `--auth-filter`: TokenReview + SubjectAccessReview on `/metrics`.
    pub auth_filter: bool,
    /// One line per accepted-but-ignored flag, for the log (or stderr with
    /// `--validate-config`).
    pub warnings: Vec<String>,
}

impl Options {
    /// Resolves the `--config` file over the flags over the defaults.
    pub fn resolve(args: &ExporterArgs) -> Result<Options, ConfigError> {
        let mut warnings = Vec::new();
        let no_file = FileValues::default();
        // `--config` and `--continue-without-config` are command-line only.
        let cli_only = Sources {
            given: args,
            file: &no_file,
        };
        let config_file = cli_only
            .text(&flags::CONFIG)?
            .map(|(path, _)| path)
            .filter(|path| !path.trim().is_empty())
            .map(PathBuf::from);
        let continue_without = cli_only.value(&flags::CONTINUE_WITHOUT_CONFIG, parse_bool)?;
        let file = match &config_file {
            None => FileValues::default(),
            Some(path) => match FileValues::load(path, flags::Exporter::FLAGS) {
                Ok(file) => file,
                Err(LoadError::NotFound(error)) if continue_without => {
                    warnings.push(format!(
                        "{error}; continuing without it ({})",
                        flags::CONTINUE_WITHOUT_CONFIG.display()
                    ));
                    FileValues::default()
                }
                Err(LoadError::NotFound(error) | LoadError::Invalid(error)) => return Err(error),
            },
        };
        let src = Sources {
            given: args,
            file: &file,
        };
        check_unimplemented::<flags::Exporter>(&src, &mut warnings)?;

        let selection = Selection::resolve(&src)?;
        let (namespaces, _) = src.list(&flags::NAMESPACES, validate_namespace)?;
        let (namespaces_denylist, _) = src.list(&flags::NAMESPACES_DENYLIST, validate_namespace)?;
        let both: Vec<&str> = namespaces
            .iter()
            .filter(|ns| namespaces_denylist.contains(ns))
            .map(String::as_str)
            .collect();
        if !both.is_empty() {
            warnings.push(format!(
                "{}: {} also in {}: none of their objects are served",
                flags::NAMESPACES_DENYLIST.display(),
                both.join(","),
                flags::NAMESPACES.display()
            ));
        }

        let server_timeouts = Timeouts {
            read_header: src.value(&flags::SERVER_READ_HEADER_TIMEOUT, duration::parse)?,
            read: src.value(&flags::SERVER_READ_TIMEOUT, duration::parse)?,
            write: src.value(&flags::SERVER_WRITE_TIMEOUT, duration::parse)?,
            idle: src.value(&flags::SERVER_IDLE_TIMEOUT, duration::parse)?,
        };

        let connect = connect(&src)?;
        let demo = src.value(&flags::DEMO, parse_bool)?;
        let auth_filter = src.value(&flags::AUTH_FILTER, parse_bool)?;
        let tls_config = match src.text(&flags::TLS_CONFIG)? {
            Some((path, origin)) if !path.trim().is_empty() => {
                let path = PathBuf::from(path.trim());
                // Checked here so that --validate-config and start-up report it as
                // any other bad option (the servers load it again to serve it).
                let web = crate::server::security::WebConfig::load(&path)
                    .map_err(|error| ConfigError::new(&origin, error))?;
                if auth_filter && !web.users.is_empty() {
                    return Err(ConfigError::new(
                        &origin,
                        format!(
                            "basic_auth_users cannot be combined with {}: both read the Authorization header",
                            flags::AUTH_FILTER.display()
                        ),
                    ));
                }
                Some(path)
            }
            _ => None,
        };
        if auth_filter && demo {
            return Err(ConfigError::new(
                flags::AUTH_FILTER.display(),
                format!(
                    "cannot be combined with {}: the demo apiserver answers no TokenReview",
                    flags::DEMO.display()
                ),
            ));
        }
        let (sharding, node_filter) = sharding(&src, &selection.resources)?;
        Ok(Options {
            config_file,
            validate_only: args.is_set(&flags::VALIDATE_CONFIG),
            host: src.value(&flags::HOST, |text| Ok(text.trim().to_string()))?,
            port: src.value(&flags::PORT, parse_port)?,
            telemetry_host: src
                .value(&flags::TELEMETRY_HOST, |text| Ok(text.trim().to_string()))?,
            telemetry_port: src.value(&flags::TELEMETRY_PORT, parse_port)?,
            apiserver: connect.apiserver,
            kubeconfig: connect.kubeconfig,
            resources: selection.resources,
            namespaces,
            namespaces_denylist,
            metric_filter: selection.metric_filter,
            labels_allowlist: selection.labels_allowlist,
            annotations_allowlist: selection.annotations_allowlist,
            use_apiserver_cache: src.value(&flags::USE_APISERVER_CACHE, parse_bool)?,
            enable_gzip_encoding: src.value(&flags::ENABLE_GZIP_ENCODING, parse_bool)?,
            server_timeouts,
            telemetry_timeouts: Timeouts::TELEMETRY_DEFAULT,
            max_concurrent_scrapes: src
                .value(&flags::MAX_CONCURRENT_SCRAPES, parse_scrape_count)?,
            scrape_stall_timeout: src.value(&flags::SCRAPE_STALL_TIMEOUT, duration::parse)?,
            content_type: src.value(&flags::CONTENT_TYPE, str::parse)?,
            sharding,
            node_filter,
            watch_list: src.value(&flags::WATCH_LIST, str::parse)?,
            apiserver_stall_timeout: src.value(&flags::APISERVER_STALL_TIMEOUT, duration::parse)?,
            log_level: src.optional(&flags::LOG_LEVEL, |text, origin| {
                text.parse()
                    .map_err(|message: String| ConfigError::new(origin, message))
            })?,
            log_format: src.value(&flags::LOG_FORMAT, str::parse)?,
            demo,
            tls_config,
            auth_filter,
            warnings,
        })
    }

    /// What the store needs: the same compiled values, cloned.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            filter: self.metric_filter.clone(),
            labels_allowlist: self.labels_allowlist.clone(),
            annotations_allowlist: self.annotations_allowlist.clone(),
        }
    }

    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            apiserver: self.apiserver.clone(),
            service_account_dir: None,
        }
    }

    /// Plural names of the enabled resources.
    pub fn resource_names(&self) -> Vec<&'static str> {
        self.resources
            .iter()
            .map(|resource| resource.plural)
            .collect()
    }

    /// `key: value` lines, for `--validate-config`. Allowlists are shown as they apply:
    /// per enabled resource, after the `*` rule.
    pub fn summary(&self) -> String {
        let list = |items: &[&str]| {
            if items.is_empty() {
                "[]".to_string()
            } else {
                items.join(",")
            }
        };
        let strings =
            |items: &[String]| list(&items.iter().map(String::as_str).collect::<Vec<_>>());
        let allowlist = |flag: &AllowListFlag| {
            self.resources
                .iter()
                .filter_map(|resource| {
                    flag.for_resource(resource.plural)
                        .map(|keys| format!("{}=[{}]", resource.plural, keys.entries().join(",")))
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let path = |path: &Option<PathBuf>| {
            path.as_ref()
                .map_or(String::new(), |path| path.display().to_string())
        };
        let timeouts = self.server_timeouts;
        let lines = [
            ("config", path(&self.config_file)),
            ("host", self.host.clone()),
            ("port", self.port.to_string()),
            ("telemetry-host", self.telemetry_host.clone()),
            ("telemetry-port", self.telemetry_port.to_string()),
            ("apiserver", self.apiserver.clone().unwrap_or_default()),
            ("kubeconfig", path(&self.kubeconfig)),
            ("resources", self.resource_names().join(",")),
            ("namespaces", strings(&self.namespaces)),
            ("namespaces-denylist", strings(&self.namespaces_denylist)),
            (
                "metric-allowlist",
                list(&self.metric_filter.allowlist().patterns()),
            ),
            (
                "metric-denylist",
                list(&self.metric_filter.denylist().patterns()),
            ),
            (
                "metric-opt-in-list",
                list(&self.metric_filter.opt_in().patterns()),
            ),
            ("metric-labels-allowlist", allowlist(&self.labels_allowlist)),
            (
                "metric-annotations-allowlist",
                allowlist(&self.annotations_allowlist),
            ),
            ("use-apiserver-cache", self.use_apiserver_cache.to_string()),
            (
                "enable-gzip-encoding",
                self.enable_gzip_encoding.to_string(),
            ),
            (
                "server-read-header-timeout",
                duration::format(timeouts.read_header),
            ),
            ("server-read-timeout", duration::format(timeouts.read)),
            ("server-write-timeout", duration::format(timeouts.write)),
            ("server-idle-timeout", duration::format(timeouts.idle)),
            (
                "max-concurrent-scrapes",
                self.max_concurrent_scrapes.to_string(),
            ),
            (
                "scrape-stall-timeout",
                duration::format(self.scrape_stall_timeout),
            ),
            ("content-type", self.content_type.as_str().to_string()),
            ("sharding", describe_sharding(&self.sharding)),
            (
                "node-filter",
                self.node_filter
                    .as_ref()
                    .map_or(String::new(), NodeFilter::selector),
            ),
            ("watch-list", self.watch_list.as_str().to_string()),
            (
                "apiserver-stall-timeout",
                duration::format(self.apiserver_stall_timeout),
            ),
            ("log-level", crate::logging::describe(self.log_level)),
            ("log-format", self.log_format.as_str().to_string()),
            ("demo", self.demo.to_string()),
            (
                "tls-config",
                self.tls_config
                    .as_ref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
            ),
            ("auth-filter", self.auth_filter.to_string()),
        ];
        lines
            .iter()
            .map(|(key, value)| format!("{key}: {value}\n"))
            .collect()
    }
}

/// `record`'s `--kubeconfig` / `--apiserver`, checked as the exporter's.
pub fn connect_options(flags: &ConnectFlags) -> Result<ConnectOptions, ConfigError> {
    let file = FileValues::default();
    connect(&Sources {
        given: flags,
        file: &file,
    })
}

fn connect<S>(src: &Sources<'_, S>) -> Result<ConnectOptions, ConfigError> {
    let apiserver = src.optional(&flags::APISERVER, |url, origin| {
        validate_url(url.trim(), origin)
    })?;
    let kubeconfig = src.optional(&flags::KUBECONFIG, |path, origin| {
        validate_file(PathBuf::from(path.trim()), origin)
    })?;
    Ok(ConnectOptions {
        kubeconfig,
        apiserver,
        service_account_dir: None,
    })
}

/// `--shard`/`--total-shards`, `--pod`/`--pod-namespace`, `--node`,
/// `--track-unscheduled-pods`: checked together, since some combinations contradict.
fn sharding<S>(
    src: &Sources<'_, S>,
    resources: &[&'static ResourceType],
) -> Result<(Sharding, Option<NodeFilter>), ConfigError> {
    let int = |flag: &Flag| -> Result<(i64, Origin), ConfigError> {
        let (text, origin) = src.text_or_default(flag)?;
        let value = text
            .trim()
            .parse::<i64>()
            .map_err(|_| ConfigError::new(&origin, format!("{text:?} is not an integer")))?;
        Ok((value, origin))
    };
    let (shard, shard_origin) = int(&flags::SHARD)?;
    let (total, total_origin) = int(&flags::TOTAL_SHARDS)?;
    let assignment = ShardAssignment::new(shard, total).map_err(|error| {
        let origin = match error {
            crate::sharding::AssignmentError::NoShards(_) => &total_origin,
            crate::sharding::AssignmentError::OutOfRange { .. } => &shard_origin,
        };
        ConfigError::new(origin, error)
    })?;
    let text = |flag: &Flag| -> Result<Option<(String, Origin)>, ConfigError> {
        Ok(src
            .text(flag)?
            .map(|(text, origin)| (text.trim().to_string(), origin))
            .filter(|(text, _)| !text.is_empty()))
    };
    let pod = text(&flags::POD)?;
    let pod_namespace = text(&flags::POD_NAMESPACE)?;
    let sharding = match (pod, pod_namespace) {
        (None, None) => Sharding::Static(assignment),
        (Some((pod, origin)), Some((namespace, _))) => {
            if !assignment.is_all() {
                return Err(ConfigError::new(
                    origin,
                    format!(
                        "automatic sharding takes shard and total from the StatefulSet; do not set {} or {} with it",
                        flags::SHARD.display(),
                        flags::TOTAL_SHARDS.display()
                    ),
                ));
            }
            Sharding::Auto { pod, namespace }
        }
        (Some((_, origin)), None) => {
            return Err(ConfigError::new(
                origin,
                format!(
                    "automatic sharding needs {} too",
                    flags::POD_NAMESPACE.display()
                ),
            ))
        }
        (None, Some((_, origin))) => {
            return Err(ConfigError::new(
                origin,
                format!("automatic sharding needs {} too", flags::POD.display()),
            ))
        }
    };
    let node = text(&flags::NODE)?;
    let unscheduled = match src.text(&flags::TRACK_UNSCHEDULED_PODS)? {
        Some((text, origin)) => parse_bool(&text)
            .map_err(|message| ConfigError::new(&origin, message))?
            .then_some(origin),
        None => None,
    };
    let node_filter = match (node, unscheduled) {
        (None, None) => None,
        (Some((_, origin)), Some(_)) => {
            return Err(ConfigError::new(
                origin,
                format!(
                    "serves the pods of one node, {} the pods of none: set one of them",
                    flags::TRACK_UNSCHEDULED_PODS.display()
                ),
            ))
        }
        (Some((node, origin)), None) => Some((NodeFilter::Node(node), origin)),
        (None, Some(origin)) => Some((NodeFilter::Unscheduled, origin)),
    };
    let Some((node_filter, origin)) = node_filter else {
        return Ok((sharding, None));
    };
    // KSM's Validate: only pods can be sharded by spec.nodeName. KSM checks only an
    // explicit --resources (its default set then fails at the apiserver); the default
    // set is refused here too, with the same message.
    if let Some(other) = resources.iter().find(|r| r.plural != "pods") {
        return Err(ConfigError::new(
            origin,
            format!(
                "resource {} can't be sharded by field selector spec.nodeName: set {}=pods",
                other.plural,
                flags::RESOURCES.display()
            ),
        ));
    }
    Ok((sharding, Some(node_filter)))
}

fn describe_sharding(sharding: &Sharding) -> String {
    match sharding {
        Sharding::Static(assignment) => assignment.to_string(),
        Sharding::Auto { pod, namespace } => format!("automatic, from pod {namespace}/{pod}"),
    }
}

/// Flags not implemented (or deliberately ignored): each one set is checked for a
/// well-formed value, then accepted with a warning where ignoring it changes nothing of
/// what is served, and refused otherwise.
fn check_unimplemented<S: FlagSet>(
    src: &Sources<'_, S>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for flag in S::FLAGS {
        if flag.support == Support::Yes {
            continue;
        }
        let Some((text, origin)) = src.text(flag)? else {
            continue;
        };
        check_kind(flag.kind, &text).map_err(|message| ConfigError::new(&origin, message))?;
        match flag.support {
            Support::Yes => {}
            Support::Ignored(why) => {
                warnings.push(format!("{origin}: accepted and ignored ({why})"))
            }
            Support::NotYet { harmless, effect } => {
                let accepted = match harmless {
                    Harmless::Empty => text.trim().is_empty(),
                    Harmless::False => {
                        !parse_bool(&text).map_err(|m| ConfigError::new(&origin, m))?
                    }
                    Harmless::Int(value) => text.trim().parse::<i64>().ok() == Some(value),
                };
                let only = harmless.accepted();
                if accepted {
                    warnings.push(format!(
                        "{origin}: not supported yet; accepted {only}, which changes nothing"
                    ));
                } else {
                    return Err(ConfigError::new(
                        &origin,
                        format!(
                            "{:?} is not supported yet: it would {effect}; accepted {only}",
                            text.trim()
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The value check for flags whose value is otherwise unused.
fn check_kind(kind: Kind, text: &str) -> Result<(), String> {
    match kind {
        Kind::Bool => parse_bool(text).map(drop),
        Kind::Int => text
            .trim()
            .parse::<i64>()
            .map(drop)
            .map_err(|_| format!("{text:?} is not an integer")),
        Kind::Float => text
            .trim()
            .parse::<f64>()
            .map(drop)
            .map_err(|_| format!("{text:?} is not a number")),
        Kind::Port => parse_port(text).map(drop),
        Kind::Duration => duration::parse(text).map(drop),
        _ => Ok(()),
    }
}

/// Go's `strconv.ParseBool` spellings, as KSM's boolean flags take.
fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

fn parse_scrape_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!("{text:?} is not a number of scrapes (1 or more)")),
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a port number (0-65535)"))
}

fn default_resources() -> Vec<&'static ResourceType> {
    // DEFAULT_RESOURCES is checked against RESOURCES by a test; skip rather than panic.
    let mut resources: Vec<_> = DEFAULT_RESOURCES
        .iter()
        .filter_map(|name| ResourceType::by_plural(name))
        .collect();
    resources.sort_by_key(|resource| resource.plural);
    resources
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn parse_resources(list: &str, origin: &Origin) -> Result<Vec<&'static ResourceType>, ConfigError> {
    let mut resources = Vec::new();
    for name in split_list(list) {
        let resource = ResourceType::by_plural(name).ok_or_else(|| {
            ConfigError::new(
                origin,
                format!("unknown resource {name:?} (known: {})", known_resources()),
            )
        })?;
        resources.push(resource);
    }
    if resources.is_empty() {
        return Err(ConfigError::new(origin, "no resources given"));
    }
    resources.sort_by_key(|resource| resource.plural);
    resources.dedup_by_key(|resource| resource.plural);
    Ok(resources)
}

fn known_resources() -> String {
    let mut names: Vec<&str> = RESOURCES.iter().map(|resource| resource.plural).collect();
    names.sort_unstable();
    names.join(",")
}

/// Namespace names are DNS-1123 labels.
fn validate_namespace(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(name.to_string())
    } else {
        Err(format!("{name:?} is not a valid namespace name (lower-case letters, digits and '-', at most 63)"))
    }
}

fn validate_url(url: &str, origin: &Origin) -> Result<String, ConfigError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(url.to_string()),
        _ => Err(ConfigError::new(
            origin,
            format!("{url:?} is not an http(s):// URL"),
        )),
    }
}

fn validate_file(path: PathBuf, origin: &Origin) -> Result<PathBuf, ConfigError> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(ConfigError::new(
            origin,
            format!("{} is not a readable file", path.display()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str]) -> Result<Options, ConfigError> {
        let given = ExporterArgs::parse_from(args.iter().copied())
            .unwrap_or_else(|error| panic!("{args:?}: {error}"));
        Options::resolve(&given)
    }

    fn resolved(args: &[&str]) -> Options {
        resolve(args).unwrap_or_else(|error| panic!("{args:?}: {error}"))
    }

    #[test]
    fn every_default_resource_is_known() {
        for name in DEFAULT_RESOURCES {
            assert!(
                ResourceType::by_plural(name).is_some(),
                "{name} is not in RESOURCES"
            );
        }
        assert_eq!(default_resources().len(), 32);
    }

    #[test]
    fn defaults_match_kube_state_metrics() {
        let options = resolved(&[]);
        assert_eq!((options.host.as_str(), options.port), ("::", 8080));
        assert_eq!(
            (options.telemetry_host.as_str(), options.telemetry_port),
            ("::", 8081)
        );
        assert_eq!(options.server_timeouts, Timeouts::METRICS_DEFAULT);
        assert_eq!(options.resource_names(), DEFAULT_RESOURCES);
        assert!(options.metric_filter.allows("kube_pod_info", false));
        assert!(!options.metric_filter.allows("kube_pod_nodeselectors", true));
        assert!(!options.enable_gzip_encoding && !options.use_apiserver_cache && !options.demo);
        assert_eq!(options.content_type, ContentTypeMode::Auto);
        assert_eq!(options.log_level, None);
        assert_eq!(options.log_format, LogFormat::Text);
        assert!(options.warnings.is_empty());
    }

    #[test]
    fn star_allowlist_takes_precedence() {
        let options = resolved(&["--metric-labels-allowlist=*=[app],pods=[team]"]);
        let pods = options.labels_allowlist.for_resource("pods");
        assert_eq!(
            pods.map(|l| l.entries().to_vec()),
            Some(vec!["app".to_string()])
        );
        let store = options.store_options();
        assert_eq!(store.labels_allowlist, options.labels_allowlist);
    }

    #[test]
    fn lookaround_in_allow_and_deny_lists_but_not_opt_in() {
        let options = resolved(&["--metric-denylist=kube_pod_(?!container).*"]);
        assert!(!options.metric_filter.allows("kube_pod_info", false));
        assert!(options
            .metric_filter
            .allows("kube_pod_container_info", false));
        let error = resolve(&["--metric-opt-in-list=kube_pod_(?!x)"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("--metric-opt-in-list: invalid regex"),
            "{error}"
        );
    }

    #[test]
    fn unimplemented_flags_warn_at_harmless_values_and_fail_otherwise() {
        let options = resolved(&["-v=2", "--logtostderr"]);
        assert_eq!(options.warnings.len(), 2, "{:?}", options.warnings);
        for bad in ["--custom-resource-state-config=x", "--object-limit=10"] {
            let error = resolve(&[bad])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("not supported yet"), "{bad}: {error:?}");
            let name = bad.split('=').next().unwrap_or(bad);
            assert!(error.starts_with(name), "{bad}: {error:?}");
        }
        assert!(resolve(&["-v=loud"]).is_err(), "values are still checked");
    }

    #[test]
    fn sharding_flags_resolve_and_contradictions_are_refused() {
        use crate::sharding::{NodeFilter, ShardAssignment, Sharding};
        assert_eq!(
            resolved(&[]).sharding,
            Sharding::Static(ShardAssignment::ALL)
        );
        assert_eq!(
            resolved(&["--shard=2", "--total-shards=3"]).sharding,
            Sharding::Static(ShardAssignment::new(2, 3).expect("valid"))
        );
        assert_eq!(
            resolved(&["--pod=ksm-1", "--pod-namespace=monitoring"]).sharding,
            Sharding::Auto {
                pod: "ksm-1".into(),
                namespace: "monitoring".into()
            }
        );
        let pods_on_n1 = resolved(&["--resources=pods", "--node=n1"]);
        assert_eq!(pods_on_n1.node_filter, Some(NodeFilter::Node("n1".into())));
        assert_eq!(
            resolved(&["--resources=pods", "--track-unscheduled-pods"]).node_filter,
            Some(NodeFilter::Unscheduled)
        );
        assert_eq!(resolved(&["--node="]).node_filter, None);
        for (args, start, says) in [
            (&["--shard=3", "--total-shards=3"][..], "--shard", "out of range"),
            (&["--total-shards=0"][..], "--total-shards", "at least 1"),
            (&["--shard=-1"][..], "--shard", "out of range"),
            (&["--pod=ksm-0"][..], "--pod", "--pod-namespace"),
            (&["--pod-namespace=m"][..], "--pod-namespace", "--pod too"),
            (
                &["--pod=ksm-0", "--pod-namespace=m", "--total-shards=2"][..],
                "--pod",
                "do not set --shard or --total-shards",
            ),
            (&["--node=n1"][..], "--node", "resource certificatesigningrequests can't be sharded by field selector spec.nodeName"),
            (&["--resources=pods,nodes", "--node=n1"][..], "--node", "resource nodes can't be sharded"),
            (&["--track-unscheduled-pods"][..], "--track-unscheduled-pods", "can't be sharded"),
            (
                &["--resources=pods", "--node=n1", "--track-unscheduled-pods"][..],
                "--node",
                "set one of them",
            ),
        ] {
            let error = resolve(args).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.starts_with(start) && error.contains(says), "{args:?}: {error:?}");
        }
    }

    #[test]
    fn denylist_with_namespaces() {
        let options = resolved(&["--namespaces=a,b", "--namespaces-denylist=b,c"]);
        assert_eq!(options.namespaces, ["a", "b"]);
        assert_eq!(options.namespaces_denylist, ["b", "c"]);
        assert_eq!(options.warnings.len(), 1, "{:?}", options.warnings);
    }

    #[test]
    fn table_defaults_parse() {
        for flag in flags::EXPORTER {
            if flag.default.is_empty() || matches!(flag.kind, Kind::List) {
                continue;
            }
            if let Kind::Choice(choices) = flag.kind {
                assert!(
                    choices.iter().any(|c| c.name == flag.default),
                    "{}",
                    flag.name
                );
            } else {
                assert_eq!(check_kind(flag.kind, flag.default), Ok(()), "{}", flag.name);
            }
        }
    }
}
