//! Kubernetes maps (labels, annotations, node selectors) as Prometheus labels, the
//! way KSM does it: allowlists per resource (`pods=[app,team],nodes=[*]`), key
//! sanitising (`app.kubernetes.io/name` → `label_app_kubernetes_io_name`,
//! `fooBar` → `label_foo_bar`) and `_conflictN` suffixes when two keys collide.

use std::collections::{BTreeMap, HashMap};

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllowListError {
    #[error("invalid format {0:?}: expected resource=[key1,key2,...],resource2=[...]")]
    Format(String),
    #[error("{entry:?} of {resource}: at most one '*' per key")]
    TooManyWildcards { resource: String, entry: String },
    #[error("unknown resource {0:?}")]
    UnknownResource(String),
}

/// The keys allowed for one resource, in flag order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowList {
    entries: Vec<String>,
}

impl AllowList {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(entries: I) -> AllowList {
        AllowList {
            entries: entries.into_iter().map(Into::into).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in flag order.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// The entries of `map` this list allows. `*` as the first entry allows all; a
    /// later `*` is ignored (as in KSM); an entry with one `*` is a prefix/suffix
    /// pattern; anything else is an exact key.
    pub fn select<'a>(&self, map: &'a BTreeMap<String, String>) -> BTreeMap<&'a str, &'a str> {
        let mut selected = BTreeMap::new();
        for (index, entry) in self.entries.iter().enumerate() {
            if entry == "*" {
                if index == 0 {
                    return map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                }
                continue;
            }
            match entry.split_once('*') {
                None => {
                    if let Some((k, v)) = map.get_key_value(entry.as_str()) {
                        selected.insert(k.as_str(), v.as_str());
                    }
                }
                Some((prefix, suffix)) if !suffix.contains('*') => {
                    for (k, v) in map {
                        if k.len() >= prefix.len() + suffix.len()
                            && k.starts_with(prefix)
                            && k.ends_with(suffix)
                        {
                            selected.insert(k.as_str(), v.as_str());
                        }
                    }
                }
                // More than one wildcard: rejected at flag parsing, ignored here.
                Some(_) => {}
            }
        }
        selected
    }
}

/// Parsed `--metric-labels-allowlist` / `--metric-annotations-allowlist`: the one
/// parser and the one resolution rule for the exporter's flags, its config file and
/// `render`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowListFlag {
    by_resource: BTreeMap<String, AllowList>,
}

impl AllowListFlag {
    /// Parses `pods=[app,team],nodes=[*]`. Whitespace around names is ignored; `[]`
    /// is an empty list (the family then has no series); `*` as resource name means
    /// every resource and wins over per-resource entries (KSM's rule: with
    /// `*=[app],pods=[team]` pods get `[app]`). A resource named twice gets the keys
    /// of both entries.
    pub fn parse(text: &str) -> Result<AllowListFlag, AllowListError> {
        let format_error = || AllowListError::Format(text.to_string());
        let mut by_resource = BTreeMap::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (name, after_name) = rest.split_once('=').ok_or_else(format_error)?;
            let name = name.trim();
            let after_name = after_name
                .trim_start()
                .strip_prefix('[')
                .ok_or_else(format_error)?;
            let (items, after_items) = after_name.split_once(']').ok_or_else(format_error)?;
            if name.is_empty() || name.contains([',', '[', ']']) || items.contains('[') {
                return Err(format_error());
            }
            let mut entries = Vec::new();
            if !items.trim().is_empty() {
                for item in items.split(',') {
                    let item = item.trim();
                    if item.is_empty() {
                        return Err(format_error());
                    }
                    if item.matches('*').count() > 1 {
                        return Err(AllowListError::TooManyWildcards {
                            resource: name.to_string(),
                            entry: item.to_string(),
                        });
                    }
                    entries.push(item.to_string());
                }
            }
            let list: &mut AllowList = by_resource.entry(name.to_string()).or_default();
            for entry in entries {
                if !list.entries.contains(&entry) {
                    list.entries.push(entry);
                }
            }
            rest = after_items.trim_start();
            if let Some(next) = rest.strip_prefix(',') {
                rest = next.trim_start();
                if rest.is_empty() {
                    return Err(format_error());
                }
            } else if !rest.is_empty() {
                return Err(format_error());
            }
        }
        Ok(AllowListFlag { by_resource })
    }

    /// Sets the list of one resource (`*`: every resource without its own entry).
    pub fn insert(&mut self, resource: &str, list: AllowList) {
        self.by_resource.insert(resource.to_string(), list);
    }

    /// Fails on resource names that are neither `*` nor in `known`.
    pub fn validate(&self, known: &[&str]) -> Result<(), AllowListError> {
        match self
            .by_resource
            .keys()
            .find(|name| *name != "*" && !known.contains(&name.as_str()))
        {
            Some(name) => Err(AllowListError::UnknownResource(name.clone())),
            None => Ok(()),
        }
    }

    /// True when no resource has a list.
    pub fn is_empty(&self) -> bool {
        self.by_resource.is_empty()
    }

    /// The list for a resource: the `*` entry if there is one (in KSM it takes
    /// precedence over per-resource entries), else the resource's own; `None` when
    /// that is missing or empty.
    pub fn for_resource(&self, plural: &str) -> Option<AllowList> {
        self.by_resource
            .get("*")
            .or_else(|| self.by_resource.get(plural))
            .filter(|list| !list.is_empty())
            .cloned()
    }
}

/// `prefix_<key>` with every character outside `[a-zA-Z0-9_]` replaced by `_` and
/// camelCase turned into snake_case.
pub fn label_name(prefix: &str, key: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + key.len() + 4);
    name.push_str(prefix);
    name.push('_');
    let mut previous: Option<char> = None;
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        };
        if c.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    name
}

/// Turns selected map entries (sorted by their Kubernetes key) into label pairs.
/// When two keys sanitise to the same name, the first one seen is renamed
/// `<name>_conflict1` and later ones get the next free `_conflictN`.
pub fn to_label_pairs<'a>(
    prefix: &str,
    selected: &BTreeMap<&'a str, &'a str>,
) -> Vec<(String, &'a str)> {
    let mut pairs: Vec<(String, &'a str)> = Vec::with_capacity(selected.len());
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut conflict_counts: HashMap<String, usize> = HashMap::new();
    let next_free = |base: &str, count: &mut usize, used: &HashMap<String, usize>| loop {
        *count += 1;
        let candidate = format!("{base}_conflict{count}");
        if !used.contains_key(&candidate) {
            return candidate;
        }
    };
    for (key, value) in selected {
        let base = label_name(prefix, key);
        let name = if let Some(count) = conflict_counts.get_mut(&base) {
            next_free(&base, count, &used)
        } else if let Some(&index) = used.get(&base) {
            let mut count = 0;
            let renamed = next_free(&base, &mut count, &used);
            used.remove(&base);
            pairs[index].0 = renamed.clone();
            used.insert(renamed, index);
            let name = next_free(&base, &mut count, &used);
            conflict_counts.insert(base, count);
            name
        } else {
            base
        };
        used.insert(name.clone(), pairs.len());
        pairs.push((name, value));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sanitises_keys() {
        assert_eq!(
            label_name("label", "app.kubernetes.io/name"),
            "label_app_kubernetes_io_name"
        );
        assert_eq!(label_name("label", "fooBar"), "label_foo_bar");
        assert_eq!(label_name("label", "foo2Bar"), "label_foo2_bar");
        assert_eq!(label_name("label", "ABC"), "label_abc");
        assert_eq!(
            label_name("nodeselector", "kubernetes.io/os"),
            "nodeselector_kubernetes_io_os"
        );
    }

    #[test]
    fn conflicts_get_suffixes() {
        let m = map(&[("foo-bar", "1"), ("foo_bar", "2"), ("foo.bar", "3")]);
        let all = AllowList::new(["*"]).select(&m);
        let pairs = to_label_pairs("label", &all);
        // Sorted by Kubernetes key: foo-bar, foo.bar, foo_bar.
        assert_eq!(
            pairs,
            vec![
                ("label_foo_bar_conflict1".to_string(), "1"),
                ("label_foo_bar_conflict2".to_string(), "3"),
                ("label_foo_bar_conflict3".to_string(), "2"),
            ]
        );
    }

    #[test]
    fn conflict_suffix_skips_names_in_use() {
        let m = map(&[("a-b", "1"), ("a_b", "2"), ("a_b_conflict1", "3")]);
        let pairs = to_label_pairs("label", &AllowList::new(["*"]).select(&m));
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 3);
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 3, "{names:?}");
    }

    #[test]
    fn allowlist_semantics() {
        let m = map(&[
            ("app", "web"),
            ("team", "a"),
            ("app.kubernetes.io/name", "x"),
            ("other", "o"),
        ]);
        let picked = |entries: &[&str]| {
            AllowList::new(entries.iter().copied())
                .select(&m)
                .into_keys()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            picked(&["*"]),
            vec!["app", "app.kubernetes.io/name", "other", "team"]
        );
        assert_eq!(picked(&["team", "*"]), vec!["team"], "a later * is ignored");
        assert_eq!(picked(&["app*"]), vec!["app", "app.kubernetes.io/name"]);
        assert_eq!(picked(&["*name"]), vec!["app.kubernetes.io/name"]);
        assert_eq!(picked(&["missing"]), Vec::<&str>::new());
    }

    #[test]
    fn parses_the_flag() {
        let flag = AllowListFlag::parse("pods=[app, team],nodes=[*]").unwrap_or_default();
        assert_eq!(
            flag.for_resource("pods"),
            Some(AllowList::new(["app", "team"]))
        );
        assert_eq!(flag.for_resource("nodes"), Some(AllowList::new(["*"])));
        assert_eq!(flag.for_resource("services"), None);
        let flag = AllowListFlag::parse("*=[app],pods=[team]").unwrap_or_default();
        assert_eq!(flag.for_resource("nodes"), Some(AllowList::new(["app"])));
        assert_eq!(
            flag.for_resource("pods"),
            Some(AllowList::new(["app"])),
            "* takes precedence"
        );
        let flag = AllowListFlag::parse("pods=[a,b],pods=[b,c]").unwrap_or_default();
        assert_eq!(
            flag.for_resource("pods"),
            Some(AllowList::new(["a", "b", "c"])),
            "a resource named twice gets both entries' keys"
        );
        let flag = AllowListFlag::parse("pods=[]").unwrap_or_default();
        assert_eq!(
            flag.for_resource("pods"),
            None,
            "an empty list means no series"
        );
        assert_eq!(AllowListFlag::parse(""), Ok(AllowListFlag::default()));
        for bad in [
            "pods",
            "pods=app",
            "pods=[app",
            "pods=[app],",
            "pods=[a,,b]",
            "pods=[a]x",
            ",pods=[a]",
        ] {
            assert!(
                matches!(AllowListFlag::parse(bad), Err(AllowListError::Format(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            AllowListFlag::parse("pods=[a*b*]"),
            Err(AllowListError::TooManyWildcards { .. })
        ));
        let flag = AllowListFlag::parse("pods=[a],bogus=[b]").unwrap_or_default();
        assert_eq!(
            flag.validate(&["pods", "nodes"]),
            Err(AllowListError::UnknownResource("bogus".into()))
        );
    }
}
