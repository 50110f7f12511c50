//! `merge`: upstream descriptors + overlays → the schema the code is generated from.
//!
//! Rules (docs/overlays.md has the long form):
//! - a fragment message with the full name of an upstream message patches it: fields
//!   match by name (same name: replaced, with its new number, type and label; new
//!   name: added), `reserved "name";` removes the upstream field, `reserved N;`
//!   reserves N and removes the upstream field using it;
//! - any other message is new and is added to the upstream file of its package
//!   (nested in the upstream message when written nested), provided some field uses it;
//! - type names resolve with protobuf scoping against upstream plus all overlays.

use prost_types::FileDescriptorSet;

use crate::error::{OverlayError, OverlayErrors};
use crate::{apply, plan, validate, Overlay};

/// The merged schema and what the build should warn about.
#[derive(Debug, Clone)]
pub struct Merged {
    pub descriptors: FileDescriptorSet,
    /// One line each (build.rs prints them as `cargo:warning=`).
    pub warnings: Vec<String>,
}

/// Merges `overlays` (in order; they must not disagree) into `upstream` and validates
/// the result. Without overlays the upstream set is returned unchanged.
pub fn merge(
    upstream: &FileDescriptorSet,
    overlays: &[Overlay],
) -> Result<FileDescriptorSet, OverlayErrors> {
    merge_with_warnings(upstream, overlays).map(|merged| merged.descriptors)
}

/// [`merge`], also returning warnings (fragments outside the mirrored layout, …).
pub fn merge_with_warnings(
    upstream: &FileDescriptorSet,
    overlays: &[Overlay],
) -> Result<Merged, OverlayErrors> {
    if overlays.is_empty() {
        return Ok(Merged {
            descriptors: upstream.clone(),
            warnings: Vec::new(),
        });
    }
    let mut errors: Vec<OverlayError> = Vec::new();
    let plan = plan::plan(upstream, overlays, &mut errors);
    let applied = apply::apply(upstream, &plan);
    validate::check_numbers(&applied, &mut errors);
    // The whole-schema checks would only repeat (less precisely) what was found so far.
    if errors.is_empty() {
        validate::check_references(&applied, &mut errors);
    }
    if errors.is_empty() {
        validate::check_pool(&applied.fds, &mut errors);
    }
    OverlayErrors::check(errors)?;
    let mut warnings = plan.warnings;
    warnings.extend(applied.warnings);
    warnings.extend(duplicate_names(overlays));
    Ok(Merged {
        descriptors: applied.fds,
        warnings,
    })
}

/// Two selected overlays with one name make `version` and build info ambiguous.
fn duplicate_names(overlays: &[Overlay]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (index, overlay) in overlays.iter().enumerate() {
        if let Some(first) = overlays[..index]
            .iter()
            .find(|o| o.name() == overlay.name())
        {
            warnings.push(format!(
                "overlays {} and {} are both named `{}`; give them distinct names in overlay.toml",
                first.dir().display(),
                overlay.dir().display(),
                overlay.name()
            ));
        }
    }
    warnings
}
