//! The exporter's resolved, validated options: command-line flags over the `--config` YAML
//! file over kube-state-metrics' defaults.
//!
//! Every problem is reported as one line naming the flag, or the file and key, it came from.
//! (KSM lets the file override the flags; here the command line wins, which is what a user
//! typing a flag expects.)

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
use fancy_regex::Regex;
use serde_norway::Value;

use crate::api::{ResourceType, RESOURCES};
use crate::cli::{ContentType, ExporterArgs, LogLevel};
use crate::server::Timeouts;

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

pub const DEFAULT_HOST: &str = "::";
pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_TELEMETRY_PORT: u16 = 8081;

/// A configuration problem: one line, naming where the bad value came from.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    origin: String,
    message: String,
}

impl ConfigError {
    fn new(origin: impl fmt::Display, message: impl fmt::Display) -> Self {
        // Keep it one line whatever the underlying error printed.
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

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
enum Origin {
    Flag(&'static str),
    File { path: PathBuf, key: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(key) => write!(f, "--{key}"),
            Origin::File { path, key } => write!(f, "config file {}: key {key}", path.display()),
        }
    }
}

/// Which metric families are served (`--metric-allowlist` / `--metric-denylist`).
/// Patterns are unanchored searches, with lookaround, as KSM's ECMAScript regexes.
#[derive(Debug, Clone, Default)]
pub enum MetricFilter {
    #[default]
    All,
    Allow(Vec<Regex>),
    Deny(Vec<Regex>),
}

fn any_match(patterns: &[Regex], name: &str) -> bool {
    // A pattern that exceeds the backtracking limit counts as "no match".
    patterns
        .iter()
        .any(|pattern| pattern.is_match(name).unwrap_or(false))
}

impl MetricFilter {
    pub fn allows(&self, family: &str) -> bool {
        match self {
            MetricFilter::All => true,
            MetricFilter::Allow(patterns) => any_match(patterns, family),
            MetricFilter::Deny(patterns) => !any_match(patterns, family),
        }
    }
}

/// `--metric-opt-in-list`: opt-in families are served only when one of these matches.
#[derive(Debug, Clone, Default)]
pub struct OptInList(pub Vec<Regex>);

impl OptInList {
    pub fn enables(&self, family: &str) -> bool {
        any_match(&self.0, family)
    }
}

/// `--metric-labels-allowlist` / `--metric-annotations-allowlist`: resource plural →
/// Kubernetes keys. `*` as the first key means all keys; a key with one `*` is a partial
/// wildcard (KSM's rules; matching and sanitising are the metric engine's job). A `*`
/// resource has already been expanded to every enabled resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(pub BTreeMap<String, Vec<String>>);

impl AllowList {
    pub fn keys_for(&self, resource: &str) -> Option<&[String]> {
        self.0.get(resource).map(Vec::as_slice)
    }
}

/// Everything the exporter needs to start, validated.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: Option<PathBuf>,
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
    pub namespaces_denylist: Vec<String>,
    pub metric_filter: MetricFilter,
    pub metric_opt_in: OptInList,
    pub labels_allowlist: AllowList,
    pub annotations_allowlist: AllowList,
    pub use_apiserver_cache: bool,
    pub enable_gzip_encoding: bool,
    /// Timeouts of the metrics server.
    pub server_timeouts: Timeouts,
    /// Timeouts of the telemetry server (KSM: read-header only, 5 s).
    pub telemetry_timeouts: Timeouts,
    pub content_type: ContentType,
    pub log_level: LogLevel,
    pub demo: bool,
}

impl Options {
    /// Resolves flags over the `--config` file over the defaults.
    pub fn resolve(args: &ExporterArgs) -> Result<Options, ConfigError> {
        let file = match &args.config {
            Some(path) => FileValues::load(path)?,
            None => FileValues::default(),
        };
        let merged = Merged { file: &file };
        let resources = match merged.list_string(&args.resources, "resources")? {
            Some((list, origin)) => parse_resources(&list, &origin)?,
            None => default_resources(),
        };
        let namespaces = merged.list(&args.namespaces, "namespaces", validate_namespace)?;
        let namespaces_denylist = merged.list(
            &args.namespaces_denylist,
            "namespaces-denylist",
            validate_namespace,
        )?;
        if !namespaces.is_empty() && !namespaces_denylist.is_empty() {
            return Err(ConfigError::new(
                "--namespaces-denylist",
                "cannot be combined with --namespaces",
            ));
        }
        let allow = merged.list(&args.metric_allowlist, "metric-allowlist", compile_regex)?;
        let deny = merged.list(&args.metric_denylist, "metric-denylist", compile_regex)?;
        let metric_filter = match (allow.is_empty(), deny.is_empty()) {
            (true, true) => MetricFilter::All,
            (false, true) => MetricFilter::Allow(allow),
            (true, false) => MetricFilter::Deny(deny),
            (false, false) => {
                return Err(ConfigError::new(
                    "--metric-allowlist",
                    "cannot be combined with --metric-denylist",
                ))
            }
        };
        let metric_opt_in = OptInList(merged.list(
            &args.metric_opt_in_list,
            "metric-opt-in-list",
            compile_regex,
        )?);
        let labels_allowlist = merged.allowlist(
            &args.metric_labels_allowlist,
            "metric-labels-allowlist",
            &resources,
        )?;
        let annotations_allowlist = merged.allowlist(
            &args.metric_annotations_allowlist,
            "metric-annotations-allowlist",
            &resources,
        )?;

        let defaults = Timeouts::METRICS_DEFAULT;
        let server_timeouts = Timeouts {
            read_header: merged.duration(
                args.server_read_header_timeout,
                "server-read-header-timeout",
                defaults.read_header,
            )?,
            read: merged.duration(
                args.server_read_timeout,
                "server-read-timeout",
                defaults.read,
            )?,
            write: merged.duration(
                args.server_write_timeout,
                "server-write-timeout",
                defaults.write,
            )?,
            idle: merged.duration(
                args.server_idle_timeout,
                "server-idle-timeout",
                defaults.idle,
            )?,
        };

        let apiserver = merged
            .string(&args.apiserver, "apiserver")?
            .map(|(url, origin)| validate_url(url, &origin))
            .transpose()?;
        let kubeconfig_flag = args
            .kubeconfig
            .as_ref()
            .map(|path| path.display().to_string());
        let kubeconfig = merged
            .string(&kubeconfig_flag, "kubeconfig")?
            .map(|(path, origin)| validate_file(PathBuf::from(path), &origin))
            .transpose()?;
        let host = merged
            .string(&args.host, "host")?
            .map_or_else(|| DEFAULT_HOST.to_string(), |(host, _)| host);
        let telemetry_host = merged
            .string(&args.telemetry_host, "telemetry-host")?
            .map_or_else(|| DEFAULT_HOST.to_string(), |(host, _)| host);

        Ok(Options {
            config_file: args.config.clone(),
            host,
            port: merged.port(args.port, "port", DEFAULT_PORT)?,
            telemetry_host,
            telemetry_port: merged.port(
                args.telemetry_port,
                "telemetry-port",
                DEFAULT_TELEMETRY_PORT,
            )?,
            apiserver,
            kubeconfig,
            resources,
            namespaces,
            namespaces_denylist,
            metric_filter,
            metric_opt_in,
            labels_allowlist,
            annotations_allowlist,
            use_apiserver_cache: merged.boolean(args.use_apiserver_cache, "use-apiserver-cache")?,
            enable_gzip_encoding: merged
                .boolean(args.enable_gzip_encoding, "enable-gzip-encoding")?,
            server_timeouts,
            telemetry_timeouts: Timeouts::TELEMETRY_DEFAULT,
            content_type: merged.value_enum(args.content_type, "content-type")?,
            log_level: merged.value_enum(args.log_level, "log-level")?,
            demo: merged.boolean(args.demo, "demo")?,
        })
    }

    /// Plural names of the enabled resources.
    pub fn resource_names(&self) -> Vec<&'static str> {
        self.resources
            .iter()
            .map(|resource| resource.plural)
            .collect()
    }

    /// `key: value` lines, for `--validate-config`.
    pub fn summary(&self) -> String {
        let list = |items: &[String]| {
            if items.is_empty() {
                "[]".to_string()
            } else {
                items.join(",")
            }
        };
        let patterns = |patterns: &[Regex]| {
            patterns
                .iter()
                .map(|p| p.as_str().to_string())
                .collect::<Vec<_>>()
        };
        let (allow, deny) = match &self.metric_filter {
            MetricFilter::All => (Vec::new(), Vec::new()),
            MetricFilter::Allow(p) => (patterns(p), Vec::new()),
            MetricFilter::Deny(p) => (Vec::new(), patterns(p)),
        };
        let allowlist = |list: &AllowList| {
            list.0
                .iter()
                .map(|(resource, keys)| format!("{resource}=[{}]", keys.join(",")))
                .collect::<Vec<_>>()
                .join(",")
        };
        let timeouts = self.server_timeouts;
        let lines = [
            (
                "config",
                self.config_file
                    .as_ref()
                    .map_or(String::new(), |path| path.display().to_string()),
            ),
            ("host", self.host.clone()),
            ("port", self.port.to_string()),
            ("telemetry-host", self.telemetry_host.clone()),
            ("telemetry-port", self.telemetry_port.to_string()),
            ("apiserver", self.apiserver.clone().unwrap_or_default()),
            (
                "kubeconfig",
                self.kubeconfig
                    .as_ref()
                    .map_or(String::new(), |path| path.display().to_string()),
            ),
            ("resources", self.resource_names().join(",")),
            ("namespaces", list(&self.namespaces)),
            ("namespaces-denylist", list(&self.namespaces_denylist)),
            ("metric-allowlist", list(&allow)),
            ("metric-denylist", list(&deny)),
            ("metric-opt-in-list", list(&patterns(&self.metric_opt_in.0))),
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
                format_go_duration(timeouts.read_header),
            ),
            ("server-read-timeout", format_go_duration(timeouts.read)),
            ("server-write-timeout", format_go_duration(timeouts.write)),
            ("server-idle-timeout", format_go_duration(timeouts.idle)),
            ("content-type", self.content_type.as_str().to_string()),
            ("log-level", self.log_level.as_str().to_string()),
            ("demo", self.demo.to_string()),
        ];
        lines
            .iter()
            .map(|(key, value)| format!("{key}: {value}\n"))
            .collect()
    }
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

fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|error| format!("invalid regex {pattern:?}: {error}"))
}

fn validate_url(url: String, origin: &Origin) -> Result<String, ConfigError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(url),
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

/// Parses `res=[k1,k2],res2=[*]`; `*` as the resource expands to every enabled resource.
pub fn parse_allowlist(text: &str, enabled: &[&'static ResourceType]) -> Result<AllowList, String> {
    const SYNTAX: &str = "expected resource=[key,...],resource2=[...]";
    let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (resource, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("{SYNTAX}: missing '=' in {rest:?}"))?;
        let resource = resource.trim();
        let after = after.trim_start();
        let inner = after
            .strip_prefix('[')
            .ok_or_else(|| format!("{SYNTAX}: missing '[' after {resource:?}"))?;
        let (keys, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("{SYNTAX}: missing ']' for {resource:?}"))?;
        if resource != "*" && ResourceType::by_plural(resource).is_none() {
            return Err(format!("unknown resource {resource:?}"));
        }
        let keys: Vec<String> = split_list(keys).map(str::to_string).collect();
        if let Some(key) = keys.iter().find(|key| key.matches('*').count() > 1) {
            return Err(format!("{key:?}: at most one '*' per key"));
        }
        let targets: Vec<&str> = if resource == "*" {
            enabled.iter().map(|r| r.plural).collect()
        } else {
            vec![resource]
        };
        for target in targets {
            let list = entries.entry(target.to_string()).or_default();
            for key in &keys {
                if !list.contains(key) {
                    list.push(key.clone());
                }
            }
        }
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
            if rest.is_empty() {
                return Err(format!("{SYNTAX}: trailing ','"));
            }
        } else if !rest.is_empty() {
            return Err(format!("{SYNTAX}: unexpected {rest:?} after ']'"));
        }
    }
    Ok(AllowList(entries))
}

/// Parses Go's `time.ParseDuration` syntax: `300ms`, `1.5h`, `2h45m`, `1m0s`, `0`.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("invalid duration {text:?} (examples: 5s, 1m0s, 1h30m, 250ms)");
    if text.is_empty() || text.starts_with('-') {
        return Err(invalid());
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(invalid()),
        };
        nanos += number * scale;
        rest = &rest[unit_end..];
    }
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return Err(invalid());
    }
    // Rounding to whole nanoseconds is what Go does too.
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// Formats like Go's `Duration.String` for whole milliseconds: `5s`, `1m0s`, `5m0s`, `1h0m0s`.
pub fn format_go_duration(duration: Duration) -> String {
    if duration.is_zero() {
        return "0s".to_string();
    }
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let hours = millis / 3_600_000;
    let minutes = millis / 60_000 % 60;
    let seconds = millis % 60_000;
    let seconds = if seconds % 1000 == 0 {
        format!("{}s", seconds / 1000)
    } else {
        format!("{}s", (seconds as f64) / 1000.0)
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

/// The values found in a `--config` file, keyed by canonical (flag) name.
#[derive(Debug, Default)]
struct FileValues {
    path: PathBuf,
    values: BTreeMap<&'static str, (String, Value)>,
}

/// Every key the config file accepts: the flag names. Also accepted: snake_case spellings
/// and KSM's own config-file keys for the allowlists and the cache option.
const FILE_KEYS: &[&str] = &[
    "host",
    "port",
    "telemetry-host",
    "telemetry-port",
    "apiserver",
    "kubeconfig",
    "resources",
    "namespaces",
    "namespaces-denylist",
    "metric-allowlist",
    "metric-denylist",
    "metric-opt-in-list",
    "metric-labels-allowlist",
    "metric-annotations-allowlist",
    "use-apiserver-cache",
    "enable-gzip-encoding",
    "server-read-header-timeout",
    "server-read-timeout",
    "server-write-timeout",
    "server-idle-timeout",
    "content-type",
    "log-level",
    "demo",
];

fn canonical_key(key: &str) -> Option<&'static str> {
    let kebab = key.trim().replace('_', "-");
    let kebab = match kebab.as_str() {
        "labels-allow-list" => "metric-labels-allowlist",
        "annotations-allow-list" => "metric-annotations-allowlist",
        "use-api-server-cache" => "use-apiserver-cache",
        other => other,
    };
    FILE_KEYS.iter().copied().find(|known| *known == kebab)
}

impl FileValues {
    fn load(path: &Path) -> Result<FileValues, ConfigError> {
        let origin = format!("config file {}", path.display());
        let text =
            std::fs::read_to_string(path).map_err(|error| ConfigError::new(&origin, error))?;
        let document: Value = serde_norway::from_str(&text)
            .map_err(|error| ConfigError::new(&origin, format!("invalid YAML: {error}")))?;
        let mapping = match document {
            Value::Null => {
                return Ok(FileValues {
                    path: path.to_path_buf(),
                    values: BTreeMap::new(),
                })
            }
            Value::Mapping(mapping) => mapping,
            _ => {
                return Err(ConfigError::new(
                    &origin,
                    "expected a mapping of option names to values",
                ))
            }
        };
        let mut values = BTreeMap::new();
        for (key, value) in mapping {
            let Value::String(key) = key else {
                return Err(ConfigError::new(
                    &origin,
                    format!("keys must be strings, found {}", describe(&key)),
                ));
            };
            let canonical = canonical_key(&key).ok_or_else(|| {
                ConfigError::new(
                    &origin,
                    format!("unknown key {key:?} (known: {})", FILE_KEYS.join(", ")),
                )
            })?;
            if let Some((previous, _)) = values.insert(canonical, (key.clone(), value)) {
                return Err(ConfigError::new(
                    &origin,
                    format!("{key:?} and {previous:?} set the same option"),
                ));
            }
        }
        Ok(FileValues {
            path: path.to_path_buf(),
            values,
        })
    }

    fn get(&self, key: &'static str) -> Option<(&Value, Origin)> {
        self.values.get(key).map(|(spelled, value)| {
            (
                value,
                Origin::File {
                    path: self.path.clone(),
                    key: spelled.clone(),
                },
            )
        })
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A scalar as text (strings, numbers, booleans).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A list option from the file: a YAML list of scalars or a comma-separated string.
fn list_text(value: &Value, origin: &Origin) -> Result<String, ConfigError> {
    match value {
        Value::Sequence(items) => items
            .iter()
            .map(|item| {
                scalar_text(item).ok_or_else(|| {
                    ConfigError::new(
                        origin,
                        format!("list items must be strings, found {}", describe(item)),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        other => scalar_text(other).ok_or_else(|| {
            ConfigError::new(
                origin,
                format!(
                    "expected a list or a comma-separated string, found {}",
                    describe(other)
                ),
            )
        }),
    }
}

/// An allowlist from the file: the flag syntax as a string, or a mapping `pods: [app, team]`.
fn allowlist_text(value: &Value, origin: &Origin) -> Result<String, ConfigError> {
    let Value::Mapping(mapping) = value else {
        return scalar_text(value).ok_or_else(|| {
            ConfigError::new(
                origin,
                format!("expected a mapping or a string, found {}", describe(value)),
            )
        });
    };
    let mut parts = Vec::new();
    for (resource, keys) in mapping {
        let resource = scalar_text(resource).ok_or_else(|| {
            ConfigError::new(
                origin,
                format!(
                    "resource names must be strings, found {}",
                    describe(resource)
                ),
            )
        })?;
        parts.push(format!("{resource}=[{}]", list_text(keys, origin)?));
    }
    Ok(parts.join(","))
}

/// Flag value if given, else file value, each with its origin.
struct Merged<'a> {
    file: &'a FileValues,
}

impl Merged<'_> {
    /// A single text value (flag or file scalar).
    fn string(
        &self,
        flag: &Option<String>,
        key: &'static str,
    ) -> Result<Option<(String, Origin)>, ConfigError> {
        match flag {
            Some(value) => Ok(Some((value.clone(), Origin::Flag(key)))),
            None => self.file_scalar(key),
        }
    }

    /// A comma list as text (flag, or file list/string).
    fn list_string(
        &self,
        flag: &Option<String>,
        key: &'static str,
    ) -> Result<Option<(String, Origin)>, ConfigError> {
        match (flag, self.file.get(key)) {
            (Some(value), _) => Ok(Some((value.clone(), Origin::Flag(key)))),
            (None, Some((value, origin))) => Ok(Some((list_text(value, &origin)?, origin))),
            (None, None) => Ok(None),
        }
    }

    fn list<T>(
        &self,
        flag: &Option<String>,
        key: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<T>, ConfigError> {
        let Some((text, origin)) = self.list_string(flag, key)? else {
            return Ok(Vec::new());
        };
        split_list(&text)
            .map(|item| parse(item).map_err(|message| ConfigError::new(&origin, message)))
            .collect()
    }

    fn allowlist(
        &self,
        flag: &Option<String>,
        key: &'static str,
        enabled: &[&'static ResourceType],
    ) -> Result<AllowList, ConfigError> {
        let text = match (flag, self.file.get(key)) {
            (Some(value), _) => Some((value.clone(), Origin::Flag(key))),
            (None, Some((value, origin))) => Some((allowlist_text(value, &origin)?, origin)),
            (None, None) => None,
        };
        match text {
            Some((text, origin)) => parse_allowlist(&text, enabled)
                .map_err(|message| ConfigError::new(&origin, message)),
            None => Ok(AllowList::default()),
        }
    }

    fn file_scalar(&self, key: &'static str) -> Result<Option<(String, Origin)>, ConfigError> {
        match self.file.get(key) {
            None => Ok(None),
            Some((value, origin)) => match scalar_text(value) {
                Some(text) => Ok(Some((text, origin))),
                None => Err(ConfigError::new(
                    &origin,
                    format!("expected a single value, found {}", describe(value)),
                )),
            },
        }
    }

    fn port(&self, flag: Option<u16>, key: &'static str, default: u16) -> Result<u16, ConfigError> {
        if let Some(port) = flag {
            return Ok(port);
        }
        match self.file_scalar(key)? {
            None => Ok(default),
            Some((text, origin)) => text.parse().map_err(|_| {
                ConfigError::new(&origin, format!("{text:?} is not a port number (0-65535)"))
            }),
        }
    }

    fn boolean(&self, flag: Option<bool>, key: &'static str) -> Result<bool, ConfigError> {
        if let Some(value) = flag {
            return Ok(value);
        }
        match self.file_scalar(key)? {
            None => Ok(false),
            Some((text, origin)) => text
                .parse()
                .map_err(|_| ConfigError::new(&origin, format!("{text:?} is not true or false"))),
        }
    }

    fn duration(
        &self,
        flag: Option<Duration>,
        key: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        if let Some(value) = flag {
            return Ok(value);
        }
        match self.file_scalar(key)? {
            None => Ok(default),
            Some((text, origin)) => {
                parse_go_duration(&text).map_err(|message| ConfigError::new(&origin, message))
            }
        }
    }

    fn value_enum<T: ValueEnum + Default>(
        &self,
        flag: Option<T>,
        key: &'static str,
    ) -> Result<T, ConfigError> {
        if let Some(value) = flag {
            return Ok(value);
        }
        match self.file_scalar(key)? {
            None => Ok(T::default()),
            Some((text, origin)) => T::from_str(&text, true).map_err(|_| {
                let possible: Vec<String> = T::value_variants()
                    .iter()
                    .filter_map(|v| v.to_possible_value())
                    .map(|v| v.get_name().to_string())
                    .collect();
                ConfigError::new(
                    &origin,
                    format!("{text:?} is not one of {}", possible.join(", ")),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_go_duration("1m0s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "-5s", "5x", "s", "1m0", "abc"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn go_duration_formatting() {
        assert_eq!(format_go_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(format_go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
    }

    fn enabled(names: &[&str]) -> Vec<&'static ResourceType> {
        names
            .iter()
            .map(|name| ResourceType::by_plural(name).expect("known resource"))
            .collect()
    }

    #[test]
    fn allowlist_syntax() {
        let list = parse_allowlist("pods=[app, team],nodes=[*]", &enabled(&["nodes", "pods"]))
            .expect("valid");
        assert_eq!(
            list.keys_for("pods"),
            Some(&["app".to_string(), "team".to_string()][..])
        );
        assert_eq!(list.keys_for("nodes"), Some(&["*".to_string()][..]));
        assert_eq!(list.keys_for("services"), None);
        let empty = parse_allowlist("pods=[]", &[]).expect("valid");
        assert_eq!(empty.keys_for("pods"), Some(&[][..]));
        assert_eq!(parse_allowlist("", &[]), Ok(AllowList::default()));
    }

    #[test]
    fn allowlist_star_resource_expands_to_enabled_resources() {
        let list =
            parse_allowlist("*=[app],pods=[team]", &enabled(&["nodes", "pods"])).expect("valid");
        assert_eq!(list.keys_for("nodes"), Some(&["app".to_string()][..]));
        assert_eq!(
            list.keys_for("pods"),
            Some(&["app".to_string(), "team".to_string()][..])
        );
        assert_eq!(list.0.len(), 2);
    }

    #[test]
    fn allowlist_errors() {
        for bad in [
            "pods",
            "pods=app",
            "pods=[app",
            "podz=[app]",
            "pods=[a*b*]",
            "pods=[a],",
            "pods=[a] nodes=[b]",
        ] {
            assert!(parse_allowlist(bad, &[]).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn metric_filter_is_an_unanchored_search_with_lookaround() {
        let filter = MetricFilter::Allow(vec![
            compile_regex("kube_(?=node.*cores|pod.*bytes)").expect("regex")
        ]);
        assert!(filter.allows("kube_pod_container_resource_limits_memory_bytes"));
        assert!(!filter.allows("kube_pod_info"));
        let deny = MetricFilter::Deny(vec![compile_regex("pod_info").expect("regex")]);
        assert!(!deny.allows("kube_pod_info"));
        assert!(deny.allows("kube_node_info"));
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
        let options = Options::resolve(&ExporterArgs::default()).expect("defaults are valid");
        assert_eq!((options.host.as_str(), options.port), ("::", 8080));
        assert_eq!(
            (options.telemetry_host.as_str(), options.telemetry_port),
            ("::", 8081)
        );
        assert_eq!(options.server_timeouts, Timeouts::METRICS_DEFAULT);
        assert_eq!(options.resource_names(), DEFAULT_RESOURCES);
        assert!(matches!(options.metric_filter, MetricFilter::All));
        assert!(!options.enable_gzip_encoding && !options.use_apiserver_cache && !options.demo);
        assert_eq!(
            (options.content_type, options.log_level),
            (ContentType::Auto, LogLevel::Info)
        );
    }
}
