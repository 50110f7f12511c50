//! The type names of a schema (upstream plus the overlays' new messages), protobuf
//! name resolution, and did-you-mean suggestions.

use std::collections::BTreeMap;

use prost_types::{DescriptorProto, FileDescriptorSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Message,
    Enum,
}

#[derive(Debug, Clone)]
pub(crate) struct TypeInfo {
    pub kind: Kind,
    /// The file that holds (or, for new messages, will hold) the type.
    pub file: String,
    pub upstream: bool,
}

/// Full names start with a dot: `.k8s.io.api.core.v1.NodeStatus`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Symbols {
    types: BTreeMap<String, TypeInfo>,
    /// package → the first upstream file declaring it (where new messages go).
    packages: BTreeMap<String, String>,
}

impl Symbols {
    pub fn from_set(fds: &FileDescriptorSet) -> Symbols {
        let mut symbols = Symbols::default();
        for file in &fds.file {
            let package = file.package.clone().unwrap_or_default();
            let name = file.name.clone().unwrap_or_default();
            symbols
                .packages
                .entry(package.clone())
                .or_insert_with(|| name.clone());
            let scope = if package.is_empty() {
                String::new()
            } else {
                format!(".{package}")
            };
            for message in &file.message_type {
                symbols.add_message_tree(&scope, message, &name, true);
            }
            for enumeration in &file.enum_type {
                symbols.insert_enum(&scope, enumeration.name(), &name, true);
            }
        }
        symbols
    }

    /// Registers a message and everything nested in it under `scope` (`.pkg` or a message).
    pub fn add_message_tree(
        &mut self,
        scope: &str,
        message: &DescriptorProto,
        file: &str,
        upstream: bool,
    ) {
        let full = format!("{scope}.{}", message.name());
        self.types.entry(full.clone()).or_insert(TypeInfo {
            kind: Kind::Message,
            file: file.to_string(),
            upstream,
        });
        for nested in &message.nested_type {
            self.add_message_tree(&full, nested, file, upstream);
        }
        for enumeration in &message.enum_type {
            self.insert_enum(&full, enumeration.name(), file, upstream);
        }
    }

    fn insert_enum(&mut self, scope: &str, name: &str, file: &str, upstream: bool) {
        self.types
            .entry(format!("{scope}.{name}"))
            .or_insert(TypeInfo {
                kind: Kind::Enum,
                file: file.to_string(),
                upstream,
            });
    }

    pub fn get(&self, full: &str) -> Option<&TypeInfo> {
        self.types.get(full)
    }

    pub fn has_package(&self, package: &str) -> bool {
        self.packages.contains_key(package)
    }

    pub fn file_of_package(&self, package: &str) -> Option<&str> {
        self.packages.get(package).map(String::as_str)
    }

    /// Resolves a type name as written in a fragment, seen from `scope` (the full
    /// name of the message holding the field): an absolute `.a.b.C` must exist; a
    /// relative `b.C` is looked up in the scope, then in each enclosing scope.
    /// (Lenient where protoc is strict: a first component that matches a scope but
    /// leads nowhere does not stop the search outward.)
    pub fn resolve(&self, name: &str, scope: &str) -> Option<String> {
        if name.starts_with('.') {
            return self.types.contains_key(name).then(|| name.to_string());
        }
        let mut scope = scope.trim_start_matches('.');
        loop {
            let candidate = if scope.is_empty() {
                format!(".{name}")
            } else {
                format!(".{scope}.{name}")
            };
            if self.types.contains_key(&candidate) {
                return Some(candidate);
            }
            if scope.is_empty() {
                return None;
            }
            scope = scope.rfind('.').map_or("", |dot| &scope[..dot]);
        }
    }

    /// The closest type to an unknown `name`, written as a fragment in `package` would
    /// write it (relative inside the package, absolute elsewhere).
    pub fn suggest_type(&self, name: &str, package: &str) -> Option<String> {
        self.suggest_type_full(name)
            .map(|full| relative_to(&full, package))
    }

    /// The full name of the type closest to an unknown `name`.
    pub fn suggest_type_full(&self, name: &str) -> Option<String> {
        let wanted = last_component(name);
        closest(
            wanted,
            self.types
                .keys()
                .map(|full| (last_component(full), full.as_str())),
        )
        .map(str::to_string)
    }

    /// The closest upstream message of `package` to `name` (a name relative to the package).
    pub fn suggest_upstream_message(&self, name: &str, package: &str) -> Option<String> {
        let prefix = format!(".{package}.");
        let candidates = self.types.iter().filter_map(|(full, info)| {
            let relative = full.strip_prefix(&prefix)?;
            (info.upstream && info.kind == Kind::Message && !is_map_entry_name(relative))
                .then_some((relative, relative))
        });
        closest(name, candidates).map(str::to_string)
    }

    pub fn suggest_package(&self, package: &str) -> Option<String> {
        // The registry package strips `k8s.io.`; fragments copied from it lack the prefix.
        let suffix = format!(".{package}");
        if let Some(full) = self.packages.keys().find(|p| p.ends_with(&suffix)) {
            return Some(full.clone());
        }
        closest(
            package,
            self.packages.keys().map(|p| (p.as_str(), p.as_str())),
        )
        .map(str::to_string)
    }
}

/// Map entries (`CapacityEntry`) are generated, never targets.
fn is_map_entry_name(relative: &str) -> bool {
    relative.contains('.') && relative.ends_with("Entry")
}

fn last_component(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// `.pkg.Foo` → `Foo` inside `pkg`, else the full name.
pub(crate) fn relative_to(full: &str, package: &str) -> String {
    let prefix = format!(".{package}.");
    match full.strip_prefix(&prefix) {
        Some(rest) if !package.is_empty() => rest.to_string(),
        _ => full.to_string(),
    }
}

/// The candidate whose key is most similar to `wanted` (case-insensitive), if similar enough.
pub(crate) fn closest<'a, K: AsRef<str>>(
    wanted: &str,
    candidates: impl Iterator<Item = (K, &'a str)>,
) -> Option<&'a str> {
    let wanted = wanted.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for (key, value) in candidates {
        let score = strsim::jaro_winkler(&wanted, &key.as_ref().to_lowercase());
        if score >= 0.85 && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, value));
        }
    }
    best.map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Symbols {
        let mut symbols = Symbols::default();
        symbols.packages.insert("a.b".into(), "a/b/x.proto".into());
        symbols.packages.insert("c".into(), "c/y.proto".into());
        for (name, upstream) in [
            (".a.b.Outer", true),
            (".a.b.Outer.Inner", true),
            (".c.Other", true),
            (".a.b.New", false),
        ] {
            symbols.types.insert(
                name.into(),
                TypeInfo {
                    kind: Kind::Message,
                    file: "x".into(),
                    upstream,
                },
            );
        }
        symbols
    }

    #[test]
    fn resolves_inner_scope_first_then_outward() {
        let symbols = symbols();
        assert_eq!(
            symbols.resolve("Inner", ".a.b.Outer").as_deref(),
            Some(".a.b.Outer.Inner")
        );
        assert_eq!(
            symbols.resolve("Outer", ".a.b.Outer").as_deref(),
            Some(".a.b.Outer")
        );
        assert_eq!(
            symbols.resolve("c.Other", ".a.b.Outer").as_deref(),
            Some(".c.Other")
        );
        assert_eq!(
            symbols.resolve("b.Outer.Inner", ".a.b.New").as_deref(),
            Some(".a.b.Outer.Inner")
        );
        assert_eq!(
            symbols.resolve(".c.Other", ".a.b.Outer").as_deref(),
            Some(".c.Other")
        );
        assert_eq!(symbols.resolve(".Other", ".c").as_deref(), None);
        assert_eq!(symbols.resolve("Inner", ".a.b").as_deref(), None);
    }

    #[test]
    fn suggests_close_names_only() {
        let symbols = symbols();
        assert_eq!(
            symbols.suggest_type("Outr", "a.b").as_deref(),
            Some("Outer")
        );
        assert_eq!(
            symbols.suggest_type("Othre", "a.b").as_deref(),
            Some(".c.Other")
        );
        assert_eq!(symbols.suggest_type("Completely", "a.b"), None);
        assert_eq!(
            symbols.suggest_upstream_message("Outter", "a.b").as_deref(),
            Some("Outer")
        );
        assert_eq!(symbols.suggest_upstream_message("Nw", "a.b"), None);
        assert_eq!(symbols.suggest_package("a.bx").as_deref(), Some("a.b"));
        assert_eq!(symbols.suggest_package("b").as_deref(), Some("a.b"));
    }
}
