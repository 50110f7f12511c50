//! The `--config` YAML file: a mapping of option names (the flags' config-file keys,
//! from the flag table) to values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::flags::{Flag, Kind};
use super::{ConfigError, Origin};

/// The values found in a `--config` file, by flag name.
#[derive(Debug, Default)]
pub(crate) struct FileValues {
    path: PathBuf,
    /// Flag name → (key as spelled in the file, value).
    values: BTreeMap<&'static str, (String, Value)>,
}

/// Why a file could not be loaded: missing (which `--continue-without-config` may
/// forgive) or anything else.
pub(crate) enum LoadError {
    NotFound(ConfigError),
    Invalid(ConfigError),
}

impl FileValues {
    pub(crate) fn load(path: &Path, flags: &'static [Flag]) -> Result<FileValues, LoadError> {
        let origin = format!("config file {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|error| {
            let missing = error.kind() == std::io::ErrorKind::NotFound;
            let error = ConfigError::new(&origin, error);
            if missing {
                LoadError::NotFound(error)
            } else {
                LoadError::Invalid(error)
            }
        })?;
        FileValues::parse(path, &text, flags).map_err(LoadError::Invalid)
    }

    fn parse(path: &Path, text: &str, flags: &'static [Flag]) -> Result<FileValues, ConfigError> {
        let origin = format!("config file {}", path.display());
        let document: Value = serde_norway::from_str(text)
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
            let flag = flags
                .iter()
                .find(|flag| flag.file_keys().iter().any(|known| *known == key.trim()))
                .ok_or_else(|| {
                    let known: Vec<&str> = flags
                        .iter()
                        .filter(|flag| flag.in_file)
                        .map(|flag| flag.name)
                        .collect();
                    ConfigError::new(
                        &origin,
                        format!(
                            "unknown key {key:?} (known, in kebab-case or snake_case: {})",
                            known.join(", ")
                        ),
                    )
                })?;
            if let Some((previous, _)) = values.insert(flag.name, (key.clone(), value)) {
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

    /// The flag's value as text (the same text the command line would give), with
    /// where it came from; `None` when the file does not set it.
    pub(crate) fn text(&self, flag: &Flag) -> Result<Option<(String, Origin)>, ConfigError> {
        let Some((key, value)) = self.values.get(flag.name) else {
            return Ok(None);
        };
        let origin = Origin::File {
            path: self.path.clone(),
            key: key.clone(),
        };
        let text = match flag.kind {
            Kind::List => list_text(value, &origin)?,
            Kind::AllowList => allowlist_text(value, &origin)?,
            _ => scalar_text(value).ok_or_else(|| {
                ConfigError::new(
                    &origin,
                    format!("expected a single value, found {}", describe(value)),
                )
            })?,
        };
        Ok(Some((text, origin)))
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

/// A list option: a YAML list of scalars or a comma-separated string.
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

/// An allowlist: the flag syntax as a string, or a mapping `pods: [app, team]`.
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
