//! Errors of loading and merging overlays. Every error says where (overlay file and
//! line), what (message and field) and how to fix it; the merger collects all of them
//! instead of stopping at the first.

use std::fmt;

use thiserror::Error;

/// A place in an overlay (or upstream) file: `file`, `file:line` or `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Loc {
    pub fn file(file: impl Into<String>) -> Loc {
        Loc {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    pub fn line(file: impl Into<String>, line: u32) -> Loc {
        Loc {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }

    /// The 1-based line and column of a byte offset in `source`.
    pub fn at_offset(file: impl Into<String>, source: &str, offset: usize) -> Loc {
        let before = &source[..floor_char_boundary(source, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Loc {
            file: file.into(),
            line: Some(to_u32(line)),
            column: Some(to_u32(column)),
        }
    }
}

fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// ` (did you mean `X`?)` when there is a close name, nothing otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DidYouMean(pub Option<String>);

impl fmt::Display for DidYouMean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(name) => write!(f, " (did you mean `{name}`?)"),
            None => Ok(()),
        }
    }
}

/// One problem found in an overlay.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum OverlayError {
    #[error("{at}: cannot read the overlay: {message}\n  fix: {fix}")]
    Io {
        at: Loc,
        message: String,
        fix: String,
    },

    #[error("{at}: invalid overlay manifest: {message}\n  fix: overlay.toml needs exactly `name = \"...\"`, `description = \"...\"` and `kubernetes = [\"1.35\"]` (the upstream versions the overlay was written for), optionally `[[metric]]` tables (docs/overlays.md)")]
    Manifest { at: Loc, message: String },

    #[error("{at}: the overlay has no .proto fragments\n  fix: add fragments that mirror the upstream layout, e.g. k8s.io/api/core/v1/nodestatus.proto with `package k8s.io.api.core.v1;`")]
    NoFragments { at: Loc },

    #[error("{at}: malformed proto: {message}\n  fix: {fix}")]
    Parse {
        at: Loc,
        message: String,
        fix: String,
    },

    #[error("{at}: {what} is not supported in overlays\n  fix: {fix}")]
    Unsupported { at: Loc, what: String, fix: String },

    #[error("{at}: package `{package}` is not an upstream package{suggestion}\n  fix: a fragment must use the package of the upstream file it changes, with the `k8s.io.` prefix, e.g. `package k8s.io.api.core.v1;`")]
    PackageNotUpstream {
        at: Loc,
        package: String,
        suggestion: DidYouMean,
    },

    #[error("{at}: message `{message}` does not exist upstream in package `{package}` and no field refers to it, so it is almost certainly a misspelled target{suggestion}\n  fix: rename it to the upstream message you meant to change; if it really is a new message, add a field of type `{message}` to a message that uses it")]
    UnknownTargetMessage {
        at: Loc,
        message: String,
        package: String,
        suggestion: DidYouMean,
    },

    #[error("{at}: {message}.{field}: unknown type `{type_name}`{suggestion}\n  fix: use the name of a message of the upstream schema or of this overlay; names resolve like protobuf scopes (the message, then the fragment package, then outward), or write the full name with a leading dot, e.g. `.k8s.io.apimachinery.pkg.apis.meta.v1.Time`")]
    UnknownFieldType {
        at: Loc,
        message: String,
        field: String,
        type_name: String,
        suggestion: DidYouMean,
    },

    #[error("{at}: {message}: `reserved \"{field}\";` removes nothing: upstream `{message}` has no field `{field}`{suggestion}\n  fix: name an existing upstream field (reserved names remove the upstream field of that name), or drop the line")]
    UnknownRemovedField {
        at: Loc,
        message: String,
        field: String,
        suggestion: DidYouMean,
    },

    #[error("{at}: {message}: field number {number} is used by {fields}\n  fix: {fix}")]
    DuplicateFieldNumber {
        at: Loc,
        message: String,
        number: i32,
        fields: String,
        fix: String,
    },

    #[error("{at}: {message}.{field}: {problem}\n  fix: {fix}")]
    Reserved {
        at: Loc,
        message: String,
        field: String,
        problem: String,
        fix: String,
    },

    #[error("{at}: {message}.{field}: invalid field number {number}: {problem}\n  fix: use a number from 1 to 536870911 outside 19000-19999, e.g. the next free number {free}")]
    InvalidFieldNumber {
        at: Loc,
        message: String,
        field: String,
        number: i32,
        problem: String,
        free: i32,
    },

    #[error("{at}: {what} is defined differently by overlay `{overlay}` and by overlay `{other_overlay}` at {other}{detail}\n  fix: the overlays disagree; make the definitions identical, or select only one of them in SCHEMA_OVERLAYS")]
    Conflict {
        at: Loc,
        what: String,
        /// The two definitions side by side, when they fit on a line.
        detail: String,
        overlay: String,
        other: Loc,
        other_overlay: String,
    },

    #[error("{at}: {what} is defined twice in overlay `{overlay}`, differently here and at {other}{detail}\n  fix: keep one definition")]
    Contradiction {
        at: Loc,
        what: String,
        detail: String,
        overlay: String,
        other: Loc,
    },

    #[error("{at}: metric family `{family}`: {problem}\n  fix: {fix}")]
    Metric {
        at: Loc,
        family: String,
        problem: String,
        fix: String,
    },

    #[error("the merged schema is not valid: {message}\n  fix: {fix}")]
    InvalidSchema { message: String, fix: String },
}

impl OverlayError {
    /// The location the error points at, when it has one (for sorting and tests).
    pub fn location(&self) -> Option<&Loc> {
        match self {
            OverlayError::Io { at, .. }
            | OverlayError::Manifest { at, .. }
            | OverlayError::NoFragments { at }
            | OverlayError::Parse { at, .. }
            | OverlayError::Unsupported { at, .. }
            | OverlayError::PackageNotUpstream { at, .. }
            | OverlayError::UnknownTargetMessage { at, .. }
            | OverlayError::UnknownFieldType { at, .. }
            | OverlayError::UnknownRemovedField { at, .. }
            | OverlayError::DuplicateFieldNumber { at, .. }
            | OverlayError::Reserved { at, .. }
            | OverlayError::InvalidFieldNumber { at, .. }
            | OverlayError::Conflict { at, .. }
            | OverlayError::Contradiction { at, .. }
            | OverlayError::Metric { at, .. } => Some(at),
            OverlayError::InvalidSchema { .. } => None,
        }
    }
}

/// All problems found while loading or merging overlays (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayErrors {
    errors: Vec<OverlayError>,
}

impl OverlayErrors {
    /// `Err` with all errors sorted by place, or `Ok` when there are none.
    pub(crate) fn check(mut errors: Vec<OverlayError>) -> Result<(), OverlayErrors> {
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by(|a, b| a.location().cmp(&b.location()));
        errors.dedup();
        Err(OverlayErrors { errors })
    }

    pub(crate) fn one(error: OverlayError) -> OverlayErrors {
        OverlayErrors {
            errors: vec![error],
        }
    }

    pub fn errors(&self) -> &[OverlayError] {
        &self.errors
    }
}

impl fmt::Display for OverlayErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        let noun = if count == 1 { "error" } else { "errors" };
        write!(f, "schema overlay: {count} {noun}")?;
        for error in &self.errors {
            write!(f, "\n\n{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OverlayErrors {}
