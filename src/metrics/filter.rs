//! Which families are generated at all: `--metric-allowlist` / `--metric-denylist`
//! (ECMAScript-style regexes with lookarounds, unanchored search, mutually
//! exclusive) and `--metric-opt-in-list` (plain regexes, unanchored, consulted only
//! for opt-in families). Filtered families cost nothing: they are never computed.

use thiserror::Error;

use super::family::FamilyMeta;

#[derive(Debug, Error)]
pub enum FilterError {
    #[error("--metric-allowlist and --metric-denylist are mutually exclusive")]
    BothLists,
    #[error("invalid metric regex {pattern:?}: {reason}")]
    BadPattern { pattern: String, reason: String },
}

#[derive(Debug, Default)]
pub struct MetricFilter {
    allow: Vec<fancy_regex::Regex>,
    deny: Vec<fancy_regex::Regex>,
    opt_in: Vec<regex::Regex>,
}

impl MetricFilter {
    /// Each list holds one regex per entry (the CLI splits the flag at commas).
    pub fn new(
        allow: &[String],
        deny: &[String],
        opt_in: &[String],
    ) -> Result<MetricFilter, FilterError> {
        let allow: Vec<&String> = allow.iter().filter(|p| !p.trim().is_empty()).collect();
        let deny: Vec<&String> = deny.iter().filter(|p| !p.trim().is_empty()).collect();
        if !allow.is_empty() && !deny.is_empty() {
            return Err(FilterError::BothLists);
        }
        let fancy = |pattern: &&String| {
            fancy_regex::Regex::new(pattern.trim()).map_err(|e| FilterError::BadPattern {
                pattern: pattern.to_string(),
                reason: e.to_string(),
            })
        };
        let opt_in = opt_in
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|pattern| {
                regex::Regex::new(pattern.trim()).map_err(|e| FilterError::BadPattern {
                    pattern: pattern.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(MetricFilter {
            allow: allow.iter().map(fancy).collect::<Result<_, _>>()?,
            deny: deny.iter().map(fancy).collect::<Result<_, _>>()?,
            opt_in,
        })
    }

    /// A filter that enables every family, opt-in ones included (for `render` of
    /// KSM's test cases and for debugging).
    pub fn everything() -> MetricFilter {
        MetricFilter {
            opt_in: regex::Regex::new(".*").into_iter().collect(),
            ..MetricFilter::default()
        }
    }

    pub fn enabled(&self, family: &FamilyMeta) -> bool {
        let found = |list: &[fancy_regex::Regex]| {
            list.iter()
                .any(|re| re.is_match(family.name).unwrap_or(false))
        };
        if family.opt_in && !self.opt_in.iter().any(|re| re.is_match(family.name)) {
            return false;
        }
        if !self.allow.is_empty() {
            return found(&self.allow);
        }
        !found(&self.deny)
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
