//! Every flag of the exporter, described once: name, value, default, help, whether the
//! config file takes it, and how far it is implemented. The clap arguments (`--help`),
//! the config-file keys and the flag reference in `docs/cli.md` are all derived from
//! this table, so they cannot drift apart.
//!
//! kube-state-metrics' flags are all here, including the ones not implemented yet, so
//! that a KSM command line carries over: a flag whose value changes nothing of what is
//! served is accepted with a warning; any other value is refused with an error saying
//! what the flag would do.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Arg, ArgAction, ArgMatches, Command};

/// What a flag's value is; decides the clap argument shape and the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Present or absent, no value (`--validate-config`).
    Switch,
    /// `--flag` (true) or `--flag=true|false`, as Go's boolean flags.
    Bool,
    Text,
    Path,
    Url,
    Port,
    Int,
    Float,
    Duration,
    /// Comma-separated; a repeated flag adds to the list.
    List,
    /// `resource=[key,...],...`; a repeated flag adds entries.
    AllowList,
    /// One of a fixed set of names.
    Choice(&'static [Choice]),
}

impl Kind {
    /// Lists join repeated flags; every other kind takes the last one (as Go's pflag).
    fn accumulates(self) -> bool {
        matches!(self, Kind::List | Kind::AllowList)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub name: &'static str,
    pub help: &'static str,
}

/// The value of a flag that is not implemented at which it changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harmless {
    Empty,
    False,
    Int(i64),
}

impl Harmless {
    /// "only as 0", "only when empty": how help, docs and errors say what is accepted.
    pub fn accepted(self) -> String {
        match self {
            Harmless::Empty => "only when empty".to_string(),
            Harmless::False => "only as false".to_string(),
            Harmless::Int(n) => format!("only as {n}"),
        }
    }
}

/// How far a flag is implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Yes,
    /// Accepted with a warning and ignored: whatever its value, what is served is the
    /// same (the text says why).
    Ignored(&'static str),
    /// Not implemented yet: accepted (with a warning) at its harmless value, refused at
    /// any other, since ignoring it would change what is served. `effect` says what it
    /// would do.
    NotYet {
        harmless: Harmless,
        effect: &'static str,
    },
}

/// One flag.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// The long name without `--`: KSM's spelling (klog's flags use underscores).
    pub name: &'static str,
    pub short: Option<char>,
    pub value_name: &'static str,
    pub kind: Kind,
    /// The default as shown in help and docs ("" when there is nothing to show).
    pub default: &'static str,
    pub help: &'static str,
    pub support: Support,
    /// Whether the `--config` file takes it (under the name, kebab- or snake_case).
    pub in_file: bool,
    /// More config-file keys for it (KSM's own YAML keys where they differ).
    pub file_aliases: &'static [&'static str],
    /// One of klog's logging flags (listed together, not one by one, in `--help`).
    pub klog: bool,
}

const fn flag(
    name: &'static str,
    value_name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
) -> Flag {
    Flag {
        name,
        short: None,
        value_name,
        kind,
        default,
        help,
        support: Support::Yes,
        in_file: true,
        file_aliases: &[],
        klog: false,
    }
}

impl Flag {
    const fn not_in_file(mut self) -> Flag {
        self.in_file = false;
        self
    }

    const fn file_aliases(mut self, aliases: &'static [&'static str]) -> Flag {
        self.file_aliases = aliases;
        self
    }

    const fn not_yet(mut self, harmless: Harmless, effect: &'static str) -> Flag {
        self.support = Support::NotYet { harmless, effect };
        self
    }

    const fn ignored(mut self, why: &'static str) -> Flag {
        self.support = Support::Ignored(why);
        self
    }

    /// klog's flags: not config-file keys in KSM either.
    const fn klog(mut self) -> Flag {
        self.klog = true;
        self.in_file = false;
        self.support = Support::Ignored(KLOG_IGNORED);
        self
    }

    const fn short(mut self, short: char) -> Flag {
        self.short = Some(short);
        self
    }

    /// `--flag` as typed on the command line.
    pub fn display(&self) -> String {
        if self.name.len() == 1 {
            format!("-{}", self.name)
        } else {
            format!("--{}", self.name)
        }
    }

    /// The config-file keys: the name in kebab-case and snake_case, then the aliases.
    pub fn file_keys(&self) -> Vec<String> {
        if !self.in_file {
            return Vec::new();
        }
        let mut keys = vec![self.name.replace('_', "-"), self.name.replace('-', "_")];
        keys.extend(self.file_aliases.iter().map(|alias| alias.to_string()));
        keys.dedup();
        keys
    }

    /// The help line: the description, then the default.
    fn help_text(&self) -> String {
        let mut text = self.help.to_string();
        if let Support::NotYet { harmless, effect } = self.support {
            text = format!(
                "Not supported yet (accepted {}): {effect}",
                harmless.accepted()
            );
        }
        if !self.default.is_empty() {
            text.push_str(&format!(" [default: {}]", self.default));
        }
        text
    }

    /// The clap argument. Values are kept as text: `crate::config` parses them, so a
    /// bad value gets the same one-line error whether it came from a flag or the file.
    fn arg(&self) -> Arg {
        let help = self.help_text();
        let mut arg = Arg::new(self.name)
            .long(self.name)
            .help(help.clone())
            .long_help(help);
        if let Some(short) = self.short {
            arg = arg.short(short);
        }
        // klog spells its flags with underscores; accept the hyphenated form too.
        if self.name.contains('_') {
            arg = arg.alias(self.name.replace('_', "-"));
        }
        arg = match self.kind {
            Kind::Switch => arg.action(ArgAction::SetTrue),
            // Go's boolean flags take a value only after `=`; without it a following
            // word would be swallowed as the value.
            Kind::Bool => arg
                .value_name("BOOL")
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .action(ArgAction::Append),
            _ => arg
                .value_name(self.value_name)
                .num_args(1)
                .allow_negative_numbers(matches!(self.kind, Kind::Int | Kind::Float))
                .action(ArgAction::Append),
        };
        if let Kind::Choice(choices) = self.kind {
            arg = arg.value_parser(PossibleValuesParser::new(choices.iter().map(|choice| {
                match choice.help {
                    "" => PossibleValue::new(choice.name),
                    help => PossibleValue::new(choice.name).help(help),
                }
            })));
            arg = arg.ignore_case(true);
        }
        match self.support {
            // Listed together after the options (`FlagSet::after_help`), not one by one.
            Support::Ignored(_) => arg.hide(true),
            Support::NotYet { .. } => arg.help_heading(NOT_YET_HEADING),
            Support::Yes => arg,
        }
    }
}

const KLOG_IGNORED: &str =
    "klog logging flag; logs go to stderr, shaped by --log-level and --log-format";
const NOT_YET_HEADING: &str = "kube-state-metrics flags not supported yet";

const WATCH_LIST_MODES: &[Choice] = &[
    Choice {
        name: "auto",
        help: "A streaming list where the API server serves one, else list requests (one log line per resource)",
    },
    Choice {
        name: "on",
        help: "Streaming lists only; a refusal is retried",
    },
    Choice {
        name: "off",
        help: "List requests only",
    },
];

const CONTENT_TYPES: &[Choice] = &[
    Choice {
        name: "auto",
        help: "Protobuf, switching a resource to JSON when its objects do not match the built-in schema",
    },
    Choice {
        name: "protobuf",
        help: "Protobuf only",
    },
    Choice {
        name: "json",
        help: "JSON only",
    },
];

const LOG_LEVELS: &[Choice] = &[
    Choice {
        name: "error",
        help: "",
    },
    Choice {
        name: "warn",
        help: "",
    },
    Choice {
        name: "info",
        help: "",
    },
    Choice {
        name: "debug",
        help: "",
    },
    Choice {
        name: "trace",
        help: "",
    },
];

const LOG_FORMATS: &[Choice] = &[
    Choice {
        name: "text",
        help: "One line per event; coloured only on a terminal",
    },
    Choice {
        name: "json",
        help: "One JSON object per line",
    },
];

// The exporter's own flags (KSM's names and defaults unless said otherwise).
pub const CONFIG: Flag = flag(
    "config",
    "FILE",
    Kind::Path,
    "",
    "YAML file of options, keyed like the flags (kebab-case or snake_case); its values override the command line, as in kube-state-metrics",
)
.not_in_file();
pub const CONTINUE_WITHOUT_CONFIG: Flag = flag(
    "continue-without-config",
    "BOOL",
    Kind::Bool,
    "false",
    "Start with the command line alone when the --config file does not exist",
)
.not_in_file();
pub const VALIDATE_CONFIG: Flag = flag(
    "validate-config",
    "",
    Kind::Switch,
    "",
    "Validate the flags and the config file, print the resolved options and exit",
)
.not_in_file();
pub const HOST: Flag = flag(
    "host",
    "HOST",
    Kind::Text,
    "::",
    "Address the metrics server listens on",
);
pub const PORT: Flag = flag(
    "port",
    "PORT",
    Kind::Port,
    "8080",
    "Port of the metrics server (/metrics, /healthz, /livez); 0: one the system picks (logged at start)",
);
pub const TELEMETRY_HOST: Flag = flag(
    "telemetry-host",
    "HOST",
    Kind::Text,
    "::",
    "Address the telemetry server listens on",
);
pub const TELEMETRY_PORT: Flag = flag(
    "telemetry-port",
    "PORT",
    Kind::Port,
    "8081",
    "Port of the telemetry server (self-metrics, /readyz); 0: one the system picks (logged at start)",
);
pub const APISERVER: Flag = flag(
    "apiserver",
    "URL",
    Kind::Url,
    "",
    "URL of the Kubernetes API server (overrides the kubeconfig's server)",
);
pub const KUBECONFIG: Flag = flag(
    "kubeconfig",
    "FILE",
    Kind::Path,
    "",
    "Path to a kubeconfig file (without it and --apiserver: in-cluster configuration, then $KUBECONFIG or ~/.kube/config)",
);
pub const RESOURCES: Flag = flag(
    "resources",
    "LIST",
    Kind::List,
    "KSM's 32 default resources",
    "Comma-separated resources to serve (replaces the default set)",
);
pub const NAMESPACES: Flag = flag(
    "namespaces",
    "LIST",
    Kind::List,
    "all",
    "Comma-separated namespaces to watch",
);
pub const NAMESPACES_DENYLIST: Flag = flag(
    "namespaces-denylist",
    "LIST",
    Kind::List,
    "",
    "Comma-separated namespaces whose objects are not served (also with --namespaces)",
);
pub const METRIC_ALLOWLIST: Flag = flag(
    "metric-allowlist",
    "REGEXES",
    Kind::List,
    "",
    "Comma-separated regexes (ECMAScript, lookarounds allowed, unanchored): only metric families matching one are served (not with --metric-denylist)",
);
pub const METRIC_DENYLIST: Flag = flag(
    "metric-denylist",
    "REGEXES",
    Kind::List,
    "",
    "Comma-separated regexes (ECMAScript, lookarounds allowed, unanchored): metric families matching one are not served (not with --metric-allowlist)",
);
pub const METRIC_OPT_IN_LIST: Flag = flag(
    "metric-opt-in-list",
    "REGEXES",
    Kind::List,
    "",
    "Comma-separated regexes (RE2, no lookarounds, unanchored) enabling opt-in metric families, e.g. kube_pod_nodeselectors",
);
pub const METRIC_LABELS_ALLOWLIST: Flag = flag(
    "metric-labels-allowlist",
    "ALLOWLIST",
    Kind::AllowList,
    "",
    "Kubernetes labels exposed in kube_<resource>_labels, e.g. `pods=[app,team],nodes=[*]`; a `*` resource applies to every resource and takes precedence",
)
.file_aliases(&["labels_allow_list"]);
pub const METRIC_ANNOTATIONS_ALLOWLIST: Flag = flag(
    "metric-annotations-allowlist",
    "ALLOWLIST",
    Kind::AllowList,
    "",
    "Kubernetes annotations exposed in kube_<resource>_annotations, same syntax",
)
.file_aliases(&["annotations_allow_list"]);
pub const USE_APISERVER_CACHE: Flag = flag(
    "use-apiserver-cache",
    "BOOL",
    Kind::Bool,
    "false",
    "List from the API server's watch cache (resourceVersion=0)",
)
.file_aliases(&["use_api_server_cache"]);
pub const ENABLE_GZIP_ENCODING: Flag = flag(
    "enable-gzip-encoding",
    "BOOL",
    Kind::Bool,
    "false",
    "Gzip /metrics when the client accepts it",
);
pub const SERVER_READ_HEADER_TIMEOUT: Flag = flag(
    "server-read-header-timeout",
    "DURATION",
    Kind::Duration,
    "5s",
    "Time allowed for reading a request head, e.g. 5s (0: no limit)",
);
pub const SERVER_READ_TIMEOUT: Flag = flag(
    "server-read-timeout",
    "DURATION",
    Kind::Duration,
    "1m0s",
    "Time allowed from connecting until the first request head is read",
);
pub const SERVER_WRITE_TIMEOUT: Flag = flag(
    "server-write-timeout",
    "DURATION",
    Kind::Duration,
    "1m0s",
    "Time allowed to write a response",
);
pub const SERVER_IDLE_TIMEOUT: Flag = flag(
    "server-idle-timeout",
    "DURATION",
    Kind::Duration,
    "5m0s",
    "Time a keep-alive connection may wait for its next request",
);
pub const MAX_CONCURRENT_SCRAPES: Flag = flag(
    "max-concurrent-scrapes",
    "N",
    Kind::Int,
    "8",
    "Scrapes of /metrics rendered at once; as many more wait up to 2 s, the rest get 503 with Retry-After (not in KSM)",
);
pub const SCRAPE_STALL_TIMEOUT: Flag = flag(
    "scrape-stall-timeout",
    "DURATION",
    Kind::Duration,
    "10s",
    "Drop a /metrics client that reads nothing for this long, freeing its scrape (0: no limit; not in KSM)",
);
pub const CONTENT_TYPE: Flag = flag(
    "content-type",
    "TYPE",
    Kind::Choice(CONTENT_TYPES),
    "auto",
    "Encoding asked of the API server (not in KSM)",
);
pub const WATCH_LIST: Flag = flag(
    "watch-list",
    "MODE",
    Kind::Choice(WATCH_LIST_MODES),
    "auto",
    "How the current objects are read before watching: a streaming list (sendInitialEvents, the WatchList feature) or list requests (not in KSM)",
);
pub const APISERVER_STALL_TIMEOUT: Flag = flag(
    "apiserver-stall-timeout",
    "DURATION",
    Kind::Duration,
    "1m0s",
    "Longest silence inside a list response or a streaming list's initial events before it is abandoned and retried (not in KSM)",
);
pub const LOG_LEVEL: Flag = flag(
    "log-level",
    "LEVEL",
    Kind::Choice(LOG_LEVELS),
    "info",
    "Log level; when neither this flag nor the config file sets it, RUST_LOG applies if set (not in KSM)",
);
pub const LOG_FORMAT: Flag = flag(
    "log-format",
    "FORMAT",
    Kind::Choice(LOG_FORMATS),
    "text",
    "Log line format on stderr (not in KSM)",
);
pub const DEMO: Flag = flag(
    "demo",
    "BOOL",
    Kind::Bool,
    "false",
    "Serve metrics from a recording built into the binary; no cluster needed (not in KSM)",
);

pub const TLS_CONFIG: Flag = flag(
    "tls-config",
    "FILE",
    Kind::Path,
    "",
    "Exporter-toolkit web configuration file (TLS certificate and key, client CA and client_auth_type, basic_auth_users with bcrypt hashes, response headers) applied to both servers and every path; re-read when it changes (docs/security.md)",
);
pub const AUTH_FILTER: Flag = flag(
    "auth-filter",
    "BOOL",
    Kind::Bool,
    "false",
    "Authenticate each /metrics request's bearer token with a TokenReview and authorise it with a SubjectAccessReview (GET on the non-resource URL /metrics) against the apiserver; verdicts cached for 60 s",
);
// Sharding (docs/sharding.md).
pub const SHARD: Flag = flag(
    "shard",
    "N",
    Kind::Int,
    "0",
    "With --total-shards, serve only the objects whose UID hashes to this shard (0-based; KSM's assignment: jump hash of FNV-1a 64)",
);
pub const TOTAL_SHARDS: Flag = flag(
    "total-shards",
    "N",
    Kind::Int,
    "1",
    "Split the objects across this many exporter instances, each serving its --shard",
);
pub const NODE: Flag = flag(
    "node",
    "NAME",
    Kind::Text,
    "",
    "Serve only the pods scheduled on this node (field selector spec.nodeName; DaemonSet sharding); only with --resources=pods",
);
pub const TRACK_UNSCHEDULED_PODS: Flag = flag(
    "track-unscheduled-pods",
    "BOOL",
    Kind::Bool,
    "false",
    "Serve only the pods not scheduled on any node (field selector spec.nodeName=; the companion of --node); only with --resources=pods",
);
pub const POD: Flag = flag(
    "pod",
    "NAME",
    Kind::Text,
    "",
    "Shard automatically: this pod's name (downward API); shard = its ordinal in the owning StatefulSet, total = the StatefulSet's spec.replicas, followed live",
);
pub const POD_NAMESPACE: Flag = flag(
    "pod-namespace",
    "NAMESPACE",
    Kind::Text,
    "",
    "Shard automatically, with --pod: that pod's namespace (downward API)",
);

// kube-state-metrics' flags that are not implemented yet.
pub const CUSTOM_RESOURCE_STATE_CONFIG: Flag =
    flag("custom-resource-state-config", "YAML", Kind::Text, "", "").not_yet(
        Harmless::Empty,
        "serve metrics of custom resources described by this inline configuration",
    );
pub const CUSTOM_RESOURCE_STATE_CONFIG_FILE: Flag = flag(
    "custom-resource-state-config-file",
    "FILE",
    Kind::Path,
    "",
    "",
)
.not_yet(
    Harmless::Empty,
    "serve metrics of custom resources described by this file",
)
.file_aliases(&["custom_resource_config_file"]);
pub const CUSTOM_RESOURCE_STATE_ONLY: Flag = flag(
    "custom-resource-state-only",
    "BOOL",
    Kind::Bool,
    "false",
    "",
)
.not_yet(
    Harmless::False,
    "serve only custom-resource metrics, none of the built-in resources",
);
pub const OBJECT_LIMIT: Flag = flag("object-limit", "N", Kind::Int, "0", "").not_yet(
    Harmless::Int(0),
    "list at most this many objects per resource",
);

// kube-state-metrics' flags accepted and ignored: they change nothing that is served.
pub const AUTO_GOMEMLIMIT: Flag = flag(
    "auto-gomemlimit",
    "BOOL",
    Kind::Bool,
    "false",
    "Set Go's GOMEMLIMIT",
)
.ignored("tunes Go's garbage collector; this exporter has none");
pub const AUTO_GOMEMLIMIT_RATIO: Flag = flag(
    "auto-gomemlimit-ratio",
    "RATIO",
    Kind::Float,
    "0.9",
    "Share of the memory limit used for GOMEMLIMIT",
)
.ignored("tunes Go's garbage collector; this exporter has none");
pub const CONTINUE_WITHOUT_CUSTOM_RESOURCE_STATE_CONFIG_FILE: Flag = flag(
    "continue-without-custom-resource-state-config-file",
    "BOOL",
    Kind::Bool,
    "false",
    "Start when the custom resource state file is missing",
)
.ignored("custom resource state is not supported, so there is no such file to miss");

// klog's flags (KSM registers them all): logs here are configured by --log-level and
// --log-format, so a KSM manifest's logging flags are accepted and ignored.
const fn klog(name: &'static str, kind: Kind, help: &'static str) -> Flag {
    flag(name, "VALUE", kind, "", help).klog()
}

/// The exporter's flags in `--help` order.
pub const EXPORTER: &[Flag] = &[
    CONFIG,
    CONTINUE_WITHOUT_CONFIG,
    VALIDATE_CONFIG,
    HOST,
    PORT,
    TELEMETRY_HOST,
    TELEMETRY_PORT,
    APISERVER,
    KUBECONFIG,
    RESOURCES,
    NAMESPACES,
    NAMESPACES_DENYLIST,
    METRIC_ALLOWLIST,
    METRIC_DENYLIST,
    METRIC_OPT_IN_LIST,
    METRIC_LABELS_ALLOWLIST,
    METRIC_ANNOTATIONS_ALLOWLIST,
    USE_APISERVER_CACHE,
    ENABLE_GZIP_ENCODING,
    SERVER_READ_HEADER_TIMEOUT,
    SERVER_READ_TIMEOUT,
    SERVER_WRITE_TIMEOUT,
    SERVER_IDLE_TIMEOUT,
    MAX_CONCURRENT_SCRAPES,
    SCRAPE_STALL_TIMEOUT,
    CONTENT_TYPE,
    WATCH_LIST,
    APISERVER_STALL_TIMEOUT,
    LOG_LEVEL,
    LOG_FORMAT,
    DEMO,
    SHARD,
    TOTAL_SHARDS,
    NODE,
    TRACK_UNSCHEDULED_PODS,
    POD,
    POD_NAMESPACE,
    CUSTOM_RESOURCE_STATE_CONFIG,
    CUSTOM_RESOURCE_STATE_CONFIG_FILE,
    CUSTOM_RESOURCE_STATE_ONLY,
    TLS_CONFIG,
    AUTH_FILTER,
    OBJECT_LIMIT,
    AUTO_GOMEMLIMIT,
    AUTO_GOMEMLIMIT_RATIO,
    CONTINUE_WITHOUT_CUSTOM_RESOURCE_STATE_CONFIG_FILE,
    klog(
        "add_dir_header",
        Kind::Bool,
        "Add the file directory to log headers",
    ),
    klog(
        "alsologtostderr",
        Kind::Bool,
        "Log to stderr as well as to files",
    ),
    klog(
        "alsologtostderrthreshold",
        Kind::Text,
        "Severity logged to stderr as well as to files",
    ),
    klog(
        "legacy_stderr_threshold_behavior",
        Kind::Bool,
        "klog's legacy stderr threshold rule",
    ),
    klog(
        "log_backtrace_at",
        Kind::Text,
        "Log a stack trace at this file:line",
    ),
    klog("log_dir", Kind::Text, "Write log files into this directory"),
    klog("log_file", Kind::Text, "Write logs into this file"),
    klog(
        "log_file_max_size",
        Kind::Int,
        "Largest log file, in MB, before rotation",
    ),
    klog("logtostderr", Kind::Bool, "Log to stderr instead of files"),
    klog(
        "one_output",
        Kind::Bool,
        "Write each line to its own severity's file only",
    ),
    klog("skip_headers", Kind::Bool, "Leave out log line headers"),
    klog("skip_log_headers", Kind::Bool, "Leave out log file headers"),
    klog(
        "stderrthreshold",
        Kind::Text,
        "Lowest severity written to stderr",
    ),
    klog("v", Kind::Int, "Log verbosity number").short('v'),
    klog("vmodule", Kind::Text, "Per-file verbosity, pattern=N,..."),
];

/// A subset of the table that one command takes.
pub trait FlagSet {
    const FLAGS: &'static [Flag];
    /// Text after the option list in `--help` (derived from the table too).
    fn after_help() -> Option<String> {
        None
    }
}

/// The exporter (no subcommand).
#[derive(Debug, Clone, Copy)]
pub enum Exporter {}

impl FlagSet for Exporter {
    const FLAGS: &'static [Flag] = EXPORTER;

    fn after_help() -> Option<String> {
        let names = |klog: bool| {
            EXPORTER
                .iter()
                .filter(|f| f.klog == klog && matches!(f.support, Support::Ignored(_)))
                .map(|f| f.display())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Some(format!(
            "Accepted for kube-state-metrics compatibility and ignored, with a warning: {}, and klog's logging flags {}.\nThe flag reference, config-file keys included: docs/cli.md.",
            names(false),
            names(true)
        ))
    }
}

/// `render`'s `--resources`: the exporter's flag with another default, every resource
/// with metrics, so that every object of the input is rendered.
pub const RENDER_RESOURCES: Flag = Flag {
    default: "every resource with metrics",
    ..RESOURCES
};

/// `render`: what selects resources, families and labels.
#[derive(Debug, Clone, Copy)]
pub enum Render {}

impl FlagSet for Render {
    const FLAGS: &'static [Flag] = &[
        RENDER_RESOURCES,
        METRIC_ALLOWLIST,
        METRIC_DENYLIST,
        METRIC_OPT_IN_LIST,
        METRIC_LABELS_ALLOWLIST,
        METRIC_ANNOTATIONS_ALLOWLIST,
    ];
}

/// `record`: where the apiserver is.
#[derive(Debug, Clone, Copy)]
pub enum Connect {}

impl FlagSet for Connect {
    const FLAGS: &'static [Flag] = &[KUBECONFIG, APISERVER];
}

/// The flags of one command as given on the command line: per flag name, its values
/// in order (empty for a switch that is set). Nothing is parsed here.
pub struct Given<S> {
    values: BTreeMap<&'static str, Vec<String>>,
    set: PhantomData<fn() -> S>,
}

pub type ExporterArgs = Given<Exporter>;
pub type RenderFlags = Given<Render>;
pub type ConnectFlags = Given<Connect>;

impl<S> Default for Given<S> {
    fn default() -> Self {
        Given {
            values: BTreeMap::new(),
            set: PhantomData,
        }
    }
}

impl<S> Clone for Given<S> {
    fn clone(&self) -> Self {
        Given {
            values: self.values.clone(),
            set: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Given<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(&self.values).finish()
    }
}

impl<S: FlagSet> Given<S> {
    /// Parses a command line (without the program name) the way the binary does.
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let command = <Self as clap::Args>::augment_args(Command::new("kube-state-exporter"));
        let matches = command.try_get_matches_from(
            std::iter::once(std::ffi::OsString::from("kube-state-exporter"))
                .chain(args.into_iter().map(Into::into)),
        )?;
        <Self as clap::FromArgMatches>::from_arg_matches(&matches)
    }
}

impl<S> Given<S> {
    /// The flag's value as given: the last one, or for lists all of them joined with
    /// commas. `None` when the flag was not given.
    pub fn value(&self, flag: &Flag) -> Option<String> {
        let values = self.values.get(flag.name)?;
        if flag.kind.accumulates() {
            Some(values.join(","))
        } else {
            Some(values.last().cloned().unwrap_or_default())
        }
    }

    /// Whether the flag was given at all (switches have no value).
    pub fn is_set(&self, flag: &Flag) -> bool {
        self.values.contains_key(flag.name)
    }
}

impl<S: FlagSet> clap::FromArgMatches for Given<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut values = BTreeMap::new();
        for flag in S::FLAGS {
            if flag.kind == Kind::Switch {
                if matches.get_flag(flag.name) {
                    values.insert(flag.name, Vec::new());
                }
            } else if let Some(given) = matches.get_many::<String>(flag.name) {
                values.insert(flag.name, given.cloned().collect());
            }
        }
        Ok(Given {
            values,
            set: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<S: FlagSet> clap::Args for Given<S> {
    fn augment_args(command: Command) -> Command {
        let command = command.args(S::FLAGS.iter().map(|flag| flag.arg()));
        match S::after_help() {
            Some(text) => command.after_help(text.clone()).after_long_help(text),
            None => command,
        }
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

/// The flag reference of `docs/cli.md`: one table per support level, every flag with
/// its config-file keys and default.
pub fn markdown_reference() -> String {
    let mut out = String::new();
    let code = |text: &str| {
        if text.is_empty() {
            String::new()
        } else {
            format!("`{text}`")
        }
    };
    let keys = |flag: &Flag| {
        let keys = flag.file_keys();
        if keys.is_empty() {
            "—".to_string()
        } else {
            keys.iter()
                .map(|key| code(key))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let cell = |text: &str| text.replace('|', "\\|");

    out.push_str("### Implemented\n\n| Flag | Config-file keys | Default | Description |\n|---|---|---|---|\n");
    for flag in EXPORTER.iter().filter(|f| f.support == Support::Yes) {
        let mut description = cell(flag.help);
        if let Kind::Choice(choices) = flag.kind {
            let names: Vec<String> = choices.iter().map(|c| code(c.name)).collect();
            description.push_str(&format!("; one of {}", names.join(", ")));
        }
        // A list's default is a description ("all"), not a value to type.
        let default = if flag.kind == Kind::List {
            flag.default.to_string()
        } else {
            code(flag.default)
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            code(&flag.display()),
            keys(flag),
            default,
            description
        ));
    }

    out.push_str("\n### Not supported yet: accepted only at the value that changes nothing\n\n");
    out.push_str("Any other value is refused (exit code 2) with the flag's name, since ignoring it would change what is served.\n\n");
    out.push_str(
        "| Flag | Config-file keys | Accepted value | What it would do |\n|---|---|---|---|\n",
    );
    for flag in EXPORTER.iter() {
        if let Support::NotYet { harmless, effect } = flag.support {
            let accepted = match harmless {
                Harmless::Empty => "empty".to_string(),
                Harmless::False => code("false"),
                Harmless::Int(n) => code(&n.to_string()),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&flag.display()),
                keys(flag),
                accepted,
                cell(effect)
            ));
        }
    }

    out.push_str("\n### Accepted and ignored, with a warning\n\n| Flag | Config-file keys | Why ignoring it is harmless |\n|---|---|---|\n");
    for flag in EXPORTER.iter() {
        if let Support::Ignored(why) = flag.support {
            let mut names = code(&flag.display());
            if flag.name.contains('_') {
                names.push_str(&format!(
                    ", {}",
                    code(&format!("--{}", flag.name.replace('_', "-")))
                ));
            }
            if flag.short.is_some() {
                names.push_str(&format!(", {}", code(&format!("--{}", flag.name))));
            }
            out.push_str(&format!("| {} | {} | {} |\n", names, keys(flag), cell(why)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> &'static Flag {
        EXPORTER
            .iter()
            .find(|flag| flag.name == name)
            .unwrap_or_else(|| panic!("no flag {name}"))
    }

    #[test]
    fn names_and_file_keys_are_unique() {
        let mut names = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        for flag in EXPORTER {
            assert!(names.insert(flag.name), "{} twice", flag.name);
            for key in flag.file_keys() {
                assert!(keys.insert(key.clone()), "config key {key} twice");
            }
        }
        assert_eq!(EXPORTER.len(), names.len());
    }

    #[test]
    fn the_clap_command_is_consistent() {
        let command = <ExporterArgs as clap::Args>::augment_args(Command::new("t"));
        command.debug_assert();
    }

    #[test]
    fn lists_join_and_scalars_take_the_last_value() -> Result<(), clap::Error> {
        let given = ExporterArgs::parse_from([
            "--namespaces=a",
            "--namespaces",
            "b,c",
            "--port=1",
            "--port=2",
            "--enable-gzip-encoding",
            "-v=2",
            "--log-dir=/tmp",
            "--validate-config",
        ])?;
        assert_eq!(given.value(&NAMESPACES).as_deref(), Some("a,b,c"));
        assert_eq!(given.value(&PORT).as_deref(), Some("2"));
        assert_eq!(given.value(&ENABLE_GZIP_ENCODING).as_deref(), Some("true"));
        assert_eq!(given.value(named("v")).as_deref(), Some("2"));
        assert_eq!(given.value(named("log_dir")).as_deref(), Some("/tmp"));
        assert!(given.is_set(&VALIDATE_CONFIG));
        assert!(!given.is_set(&DEMO));
        Ok(())
    }

    #[test]
    fn short_v_takes_its_value_every_way() -> Result<(), clap::Error> {
        for args in [&["-v=2"][..], &["-v", "2"], &["-v2"], &["--v=2"]] {
            let given = ExporterArgs::parse_from(args.iter().copied())?;
            assert_eq!(given.value(named("v")).as_deref(), Some("2"), "{args:?}");
        }
        Ok(())
    }

    #[test]
    fn booleans_take_a_value_only_after_equals() {
        let given = ExporterArgs::parse_from(["--demo", "--enable-gzip-encoding=false"]);
        let given = given.unwrap_or_default();
        assert_eq!(given.value(&DEMO).as_deref(), Some("true"));
        assert_eq!(given.value(&ENABLE_GZIP_ENCODING).as_deref(), Some("false"));
        // `--demo true`: "true" is a stray positional, not the flag's value.
        assert!(ExporterArgs::parse_from(["--demo", "true"]).is_err());
    }
}
