//! Overlay fragments: `.proto` files parsed (not compiled: type names stay as written)
//! with their source positions, so every later error can point at a line.

use std::collections::HashMap;

use miette::Diagnostic;
use prost_types::FileDescriptorProto;

use crate::error::{Loc, OverlayError};

/// Tags of descriptor fields, as used in `SourceCodeInfo` paths.
pub(crate) mod tag {
    pub const FILE_PACKAGE: i32 = 2;
    pub const FILE_SYNTAX: i32 = 12;
    pub const FILE_MESSAGE: i32 = 4;
    pub const FILE_ENUM: i32 = 5;
    pub const FILE_SERVICE: i32 = 6;
    pub const FILE_EXTENSION: i32 = 7;
    pub const MESSAGE_FIELD: i32 = 2;
    pub const MESSAGE_NESTED: i32 = 3;
    pub const MESSAGE_ENUM: i32 = 4;
    pub const MESSAGE_EXTENSION: i32 = 6;
    pub const MESSAGE_OPTIONS: i32 = 7;
    pub const MESSAGE_ONEOF: i32 = 8;
    pub const MESSAGE_RESERVED_NAME: i32 = 10;
    pub const FIELD_OPTIONS: i32 = 8;
}

/// One parsed fragment of an overlay.
#[derive(Debug, Clone)]
pub(crate) struct Fragment {
    /// How errors name the file (`overlays/deviceinfo/k8s.io/api/core/v1/x.proto`).
    pub display: String,
    /// Path inside the overlay (`k8s.io/api/core/v1/x.proto`).
    pub relative: String,
    pub file: FileDescriptorProto,
    /// Source path → 1-based (line, column) of the element's start.
    positions: HashMap<Vec<i32>, (u32, u32)>,
}

impl Fragment {
    /// Parses one fragment; a malformed file yields one error per problem found.
    pub fn parse(
        display: &str,
        relative: &str,
        source: &str,
    ) -> Result<Fragment, Vec<OverlayError>> {
        let mut file = protox_parse::parse(display, source)
            .map_err(|err| parse_errors(&err, display, source))?;
        let positions = file
            .source_code_info
            .take()
            .map(|info| {
                let mut positions = HashMap::new();
                for location in info.location {
                    if let [line, column, ..] = location.span[..] {
                        positions
                            .entry(location.path)
                            .or_insert((one_based(line), one_based(column)));
                    }
                }
                positions
            })
            .unwrap_or_default();
        Ok(Fragment {
            display: display.to_string(),
            relative: relative.to_string(),
            file,
            positions,
        })
    }

    pub fn package(&self) -> &str {
        self.file.package.as_deref().unwrap_or("")
    }

    /// The place of the element at `path` (or of its closest enclosing element).
    pub fn loc(&self, path: &[i32]) -> Loc {
        let mut path = path;
        loop {
            // Lines only: the element's start column adds nothing for the reader.
            if let Some(&(line, _column)) = self.positions.get(path) {
                return Loc::line(self.display.clone(), line);
            }
            match path.split_last() {
                Some((_, rest)) => path = rest,
                None => return Loc::file(self.display.clone()),
            }
        }
    }
}

fn one_based(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0).saturating_add(1)
}

/// Every problem protox-parse reported, with file:line:col.
fn parse_errors(err: &protox_parse::ParseError, display: &str, source: &str) -> Vec<OverlayError> {
    let mut errors = vec![OverlayError::Parse {
        at: offset_loc(display, source, err.span().map(|s| s.start)),
        message: err.to_string(),
        fix: fix_hint(err.help().map(|h| h.to_string())),
    }];
    if let Some(related) = err.related() {
        for diagnostic in related {
            let offset = diagnostic
                .labels()
                .and_then(|mut labels| labels.next())
                .map(|l| l.offset());
            errors.push(OverlayError::Parse {
                at: offset_loc(display, source, offset),
                message: diagnostic.to_string(),
                fix: fix_hint(diagnostic.help().map(|h| h.to_string())),
            });
        }
    }
    errors
}

/// Errors without a span (unexpected end of file) point at the end of the file.
fn offset_loc(display: &str, source: &str, offset: Option<usize>) -> Loc {
    Loc::at_offset(display, source, offset.unwrap_or(source.len()))
}

fn fix_hint(help: Option<String>) -> String {
    let general = "correct the proto syntax; fragments are proto2 like the upstream files (`optional`/`repeated` on every field, `;` after each)";
    match help {
        Some(help) => format!("{help}; {general}"),
        None => general.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines() {
        let fragment = Fragment::parse(
            "o/a.proto",
            "a.proto",
            "syntax = \"proto2\";\npackage p;\n\nmessage M {\n  optional string a = 1;\n}\n",
        )
        .unwrap();
        assert_eq!(fragment.loc(&[4, 0]).to_string(), "o/a.proto:4");
        assert_eq!(fragment.loc(&[4, 0, 2, 0]).to_string(), "o/a.proto:5");
        // Unknown paths fall back to the closest enclosing element.
        assert_eq!(fragment.loc(&[4, 0, 2, 7]).to_string(), "o/a.proto:4");
    }

    #[test]
    fn malformed_proto_reports_line_and_column() {
        let errors = Fragment::parse(
            "o/a.proto",
            "a.proto",
            "package p;\nmessage M {\n  optional string a = ;\n}\n",
        )
        .unwrap_err();
        let text = errors[0].to_string();
        assert!(
            text.starts_with("o/a.proto:3:23: malformed proto"),
            "{text}"
        );
    }
}
