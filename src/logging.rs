//! Logs on stderr, shaped for where they go: colour only on a terminal, JSON lines for
//! log pipelines (`--log-format json`), and one rule for the level: `--log-level` when
//! given, else `RUST_LOG` when set, else `info`.

use std::io::IsTerminal;
use std::str::FromStr;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
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

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(text: &str) -> Result<LogLevel, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            _ => Err(format!(
                "{text:?} is not one of error, warn, info, debug, trace"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, message and fields).
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(text: &str) -> Result<LogFormat, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{text:?} is not one of text, json")),
        }
    }
}

/// The filter directive: an explicit level wins over `RUST_LOG` (a level typed on the
/// command line or written in the config file is what the operator means now, while
/// `RUST_LOG` may be a leftover of the environment); `RUST_LOG` applies when it is the
/// only one given, so per-module directives stay possible.
pub fn directive(level: Option<LogLevel>, rust_log: Option<&str>) -> String {
    match (level, rust_log.map(str::trim).filter(|v| !v.is_empty())) {
        (Some(level), _) => level.as_str().to_string(),
        (None, Some(env)) => env.to_string(),
        (None, None) => LogLevel::Info.as_str().to_string(),
    }
}

/// How `--validate-config` shows the level that will apply.
pub fn describe(level: Option<LogLevel>) -> String {
    let rust_log = std::env::var("RUST_LOG").ok();
    match (
        level,
        rust_log.as_deref().map(str::trim).filter(|v| !v.is_empty()),
    ) {
        (None, Some(env)) => format!("RUST_LOG={env}"),
        _ => directive(level, None),
    }
}

/// Colour codes only when stderr is a terminal and `NO_COLOR` is unset: piped into a
/// file, journald or a container log they would be noise in every line.
fn use_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the process-wide subscriber writing to stderr. A second call in one
/// process keeps the first subscriber.
pub fn init(level: Option<LogLevel>, format: LogFormat) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let directive = directive(level, rust_log.as_deref());
    let (filter, bad_filter) = match EnvFilter::try_new(&directive) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new(LogLevel::Info.as_str()), Some(error)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` only fails when a subscriber is already installed; the first one stays.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(use_colour()).try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .try_init(),
    };
    if let Some(error) = bad_filter {
        tracing::warn!(filter = %directive, %error, "not a valid log filter; logging at info");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_level_wins_over_rust_log() {
        assert_eq!(directive(Some(LogLevel::Warn), Some("debug")), "warn");
        assert_eq!(
            directive(None, Some("kube_state_exporter=trace")),
            "kube_state_exporter=trace"
        );
        assert_eq!(directive(None, Some("  ")), "info");
        assert_eq!(directive(None, None), "info");
    }

    #[test]
    fn names_parse() {
        assert_eq!("DEBUG".parse(), Ok(LogLevel::Debug));
        assert!("loud".parse::<LogLevel>().is_err());
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
