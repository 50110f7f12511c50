//! `overlay.toml`: the overlay's name, what it changes and which upstream versions it
//! was written for.

use serde::Deserialize;

use crate::error::{Loc, OverlayError};
use crate::families::{FamilyDecl, RawFamily};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name, shown by `version` and in build info.
    pub name: String,
    /// What the overlay changes and why.
    pub description: String,
    /// Upstream Kubernetes minor versions the overlay was written for ("1.35").
    pub kubernetes: Vec<String>,
    /// `[[metric]]` tables as written; [`Manifest::families`] has them with positions.
    #[serde(default, rename = "metric")]
    metric: Vec<RawFamily>,
    /// Metric families the overlay declares (checked against the merged schema by
    /// [`crate::check_families`]).
    #[serde(skip)]
    pub families: Vec<FamilyDecl>,
}

pub const MANIFEST_FILE: &str = "overlay.toml";

impl Manifest {
    /// Parses the manifest text; `file` is how errors name it.
    // Errors are rare and reported once: their size does not matter.
    #[allow(clippy::result_large_err)]
    pub fn parse(text: &str, file: &str) -> Result<Manifest, OverlayError> {
        let mut manifest: Manifest =
            toml::from_str(text).map_err(|err| OverlayError::Manifest {
                at: match err.span() {
                    Some(span) => Loc::at_offset(file, text, span.start),
                    None => Loc::file(file),
                },
                message: err.message().trim().to_string(),
            })?;
        if manifest.name.trim().is_empty() || manifest.name.contains(',') {
            return Err(OverlayError::Manifest {
                at: Loc::file(file),
                message: format!(
                    "`name` must be a non-empty name without commas, found {:?}",
                    manifest.name
                ),
            });
        }
        if manifest.kubernetes.is_empty() {
            return Err(OverlayError::Manifest {
                at: Loc::file(file),
                message: "`kubernetes` lists no upstream version".into(),
            });
        }
        manifest.families = std::mem::take(&mut manifest.metric)
            .into_iter()
            .map(|raw| raw.locate(file, text))
            .collect();
        Ok(manifest)
    }

    /// A warning when the pinned upstream version is not one the overlay was written for.
    pub fn version_warning(&self, pinned: &str) -> Option<String> {
        if self.kubernetes.iter().any(|v| v == pinned) {
            return None;
        }
        Some(format!(
            "overlay `{}` was written for Kubernetes {} but the pinned upstream is {pinned}; \
             check its field numbers against the {pinned} protos and add \"{pinned}\" to `kubernetes` in its overlay.toml",
            self.name,
            self.kubernetes.join(", "),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_manifest() {
        let manifest = Manifest::parse(
            "name = \"x\"\ndescription = \"d\"\nkubernetes = [\"1.35\"]\n",
            "o/overlay.toml",
        )
        .unwrap();
        assert_eq!(manifest.name, "x");
        assert_eq!(manifest.version_warning("1.35"), None);
        let warning = manifest.version_warning("1.36").unwrap();
        assert!(warning.contains("written for Kubernetes 1.35"), "{warning}");
    }

    #[test]
    fn unknown_keys_are_reported_with_their_line() {
        let err = Manifest::parse(
            "name = \"x\"\ndescription = \"d\"\nkubernetes = [\"1.35\"]\nversion = 2\n",
            "o/overlay.toml",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("o/overlay.toml:4"), "{text}");
        assert!(text.contains("unknown field `version`"), "{text}");
    }
}
