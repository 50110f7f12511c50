//! Which families are generated at all: `--metric-allowlist` / `--metric-denylist`
//! (ECMAScript-style regexes with lookarounds, unanchored search, mutually
//! exclusive) and `--metric-opt-in-list` (RE2 regexes, no lookarounds, unanchored,
//! consulted only for opt-in families). Filtered families cost nothing: they are never
//! computed.
//!
//! Each list is compiled once, with the engine KSM uses for it, into the type the store
//! keeps: the configuration (`crate::config`), `render` and the store all hold these
//! values, so a pattern that validates is the pattern that is applied.

use std::fmt;

use thiserror::Error;

use super::family::FamilyMeta;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error("--metric-allowlist and --metric-denylist are mutually exclusive")]
    BothLists,
    #[error("invalid regex {pattern:?}: {reason}")]
    BadPattern { pattern: String, reason: String },
}

fn bad_pattern(pattern: &str, reason: impl fmt::Display) -> FilterError {
    FilterError::BadPattern {
        pattern: pattern.to_string(),
        reason: reason.to_string(),
    }
}

/// Entries of a comma-separated list, trimmed, empty ones dropped (`a,,b` and a
/// trailing comma mean `a,b`, as KSM's flag parsing does).
fn entries<I, S>(patterns: I) -> impl Iterator<Item = String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    patterns
        .into_iter()
        .map(|p| p.as_ref().trim().to_string())
        .filter(|p| !p.is_empty())
}

/// `--metric-allowlist` or `--metric-denylist` entries: ECMAScript-style regexes (KSM
/// compiles them with regexp2 in ECMAScript mode, so lookarounds work), each an
/// unanchored search in a family name.
#[derive(Debug, Clone, Default)]
pub struct FamilyPatterns(Vec<fancy_regex::Regex>);

impl FamilyPatterns {
    pub fn compile<I, S>(patterns: I) -> Result<FamilyPatterns, FilterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        entries(patterns)
            .map(|p| fancy_regex::Regex::new(&p).map_err(|e| bad_pattern(&p, e)))
            .collect::<Result<_, _>>()
            .map(FamilyPatterns)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The patterns as given (trimmed).
    pub fn patterns(&self) -> Vec<&str> {
        self.0.iter().map(fancy_regex::Regex::as_str).collect()
    }

    fn matches(&self, name: &str) -> bool {
        // A backtracking pattern that exceeds fancy-regex's step limit counts as "no
        // match" (regexp2 in KSM would time out after a minute and also not match).
        self.0.iter().any(|re| re.is_match(name).unwrap_or(false))
    }
}

/// `--metric-opt-in-list` entries: RE2 syntax as Go's `regexp` (KSM uses it for this
/// list), so lookarounds are rejected when the list is compiled; unanchored search.
#[derive(Debug, Clone, Default)]
pub struct OptInPatterns(Vec<regex::Regex>);

impl OptInPatterns {
    pub fn compile<I, S>(patterns: I) -> Result<OptInPatterns, FilterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        entries(patterns)
            .map(|p| regex::Regex::new(&p).map_err(|e| bad_pattern(&p, e)))
            .collect::<Result<_, _>>()
            .map(OptInPatterns)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn patterns(&self) -> Vec<&str> {
        self.0.iter().map(regex::Regex::as_str).collect()
    }

    fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|re| re.is_match(name))
    }
}

/// The compiled family selection: allow or deny list (never both) plus the opt-in list.
#[derive(Debug, Clone, Default)]
pub struct MetricFilter {
    allow: FamilyPatterns,
    deny: FamilyPatterns,
    opt_in: OptInPatterns,
}

impl MetricFilter {
    /// Compiles one regex per entry (callers split the flag at commas).
    pub fn new(
        allow: &[String],
        deny: &[String],
        opt_in: &[String],
    ) -> Result<MetricFilter, FilterError> {
        MetricFilter::from_parts(
            FamilyPatterns::compile(allow)?,
            FamilyPatterns::compile(deny)?,
            OptInPatterns::compile(opt_in)?,
        )
    }

    /// From lists compiled separately (so that each error can name its own flag).
    pub fn from_parts(
        allow: FamilyPatterns,
        deny: FamilyPatterns,
        opt_in: OptInPatterns,
    ) -> Result<MetricFilter, FilterError> {
        if !allow.is_empty() && !deny.is_empty() {
            return Err(FilterError::BothLists);
        }
        Ok(MetricFilter {
            allow,
            deny,
            opt_in,
        })
    }

    /// A filter that enables every family, opt-in ones included (for `render` of
    /// KSM's test cases and for debugging).
    pub fn everything() -> MetricFilter {
        MetricFilter {
            opt_in: OptInPatterns(regex::Regex::new(".*").into_iter().collect()),
            ..MetricFilter::default()
        }
    }

    pub fn enabled(&self, family: &FamilyMeta) -> bool {
        self.allows(family.name, family.opt_in)
    }

    /// Whether a family of this name is generated; `opt_in` families also need a match
    /// in the opt-in list.
    pub fn allows(&self, name: &str, opt_in: bool) -> bool {
        if opt_in && !self.opt_in.matches(name) {
            return false;
        }
        if !self.allow.is_empty() {
            return self.allow.matches(name);
        }
        !self.deny.matches(name)
    }

    pub fn allowlist(&self) -> &FamilyPatterns {
        &self.allow
    }

    pub fn denylist(&self) -> &FamilyPatterns {
        &self.deny
    }

    pub fn opt_in(&self) -> &OptInPatterns {
        &self.opt_in
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::{MetricType, Stability};

    fn meta(name: &'static str, opt_in: bool) -> FamilyMeta {
        FamilyMeta {
            name,
            kind: MetricType::Gauge,
            stability: Stability::Alpha,
            opt_in,
            help: "",
            labels: Some(&[]),
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn allowlist_is_an_unanchored_search_with_lookarounds() -> Result<(), FilterError> {
        let filter = MetricFilter::new(&strings(&["kube_(?=node.*cores|pod.*bytes)"]), &[], &[])?;
        assert!(filter.enabled(&meta("kube_pod_overhead_memory_bytes", false)));
        assert!(!filter.enabled(&meta("kube_pod_info", false)));
        let filter = MetricFilter::new(&strings(&["kube_pod_info"]), &[], &[])?;
        assert!(filter.enabled(&meta("kube_pod_info", false)));
        let filter = MetricFilter::new(&[], &strings(&["kube_pod_(?!container).*"]), &[])?;
        assert!(!filter.enabled(&meta("kube_pod_info", false)));
        assert!(filter.enabled(&meta("kube_pod_container_info", false)));
        Ok(())
    }

    #[test]
    fn denylist_and_opt_in() -> Result<(), FilterError> {
        let filter = MetricFilter::new(&[], &strings(&["^kube_node_.*"]), &[])?;
        assert!(!filter.enabled(&meta("kube_node_info", false)));
        assert!(filter.enabled(&meta("kube_pod_info", false)));
        assert!(
            !filter.enabled(&meta("kube_pod_nodeselectors", true)),
            "opt-in needs the opt-in list"
        );
        let filter = MetricFilter::new(&[], &[], &strings(&["kube_pod_nodeselectors"]))?;
        assert!(filter.enabled(&meta("kube_pod_nodeselectors", true)));
        assert!(MetricFilter::everything().enabled(&meta("kube_pod_nodeselectors", true)));
        Ok(())
    }

    #[test]
    fn opt_in_list_is_re2_without_lookarounds() {
        assert!(matches!(
            OptInPatterns::compile(["kube_pod_(?!x)"]),
            Err(FilterError::BadPattern { .. })
        ));
        assert!(FamilyPatterns::compile(["kube_pod_(?!x)"]).is_ok());
    }

    #[test]
    fn empty_entries_are_dropped() -> Result<(), FilterError> {
        let list = FamilyPatterns::compile([" a ", "", "  "])?;
        assert_eq!(list.patterns(), ["a"]);
        Ok(())
    }

    #[test]
    fn rejects_both_lists_and_bad_patterns() {
        assert!(matches!(
            MetricFilter::new(&strings(&["a"]), &strings(&["b"]), &[]),
            Err(FilterError::BothLists)
        ));
        assert!(matches!(
            MetricFilter::new(&strings(&["("]), &[], &[]),
            Err(FilterError::BadPattern { .. })
        ));
    }
}
