//! The aggregated lifecycle counters per workload (namespace, controller owner) and
//! their exposition in text 0.0.4 and OpenMetrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::metrics::filter::MetricFilter;
use crate::metrics::format::{escape_help, push_escaped_label_value, push_go_float};

/// Labels every lifecycle series starts with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    pub namespace: Box<str>,
    pub owner_kind: Box<str>,
    pub owner_name: Box<str>,
}

/// Distinct (container, reason) series one workload may have per family; past it new
/// reasons are counted as `Other`, so a status writer inventing reasons cannot grow
/// the output without bound.
pub const MAX_REASON_SERIES: usize = 64;

/// Upper bounds (seconds) of the startup histogram: timestamps have a resolution of
/// one second, so finer buckets would say nothing.
pub const STARTUP_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// Upper bounds (seconds) of the lifetime histogram: a second to a week.
pub const LIFETIME_BUCKETS: &[f64] = &[
    1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0, 604800.0,
];

#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// Per bucket (not cumulative), one more than the bounds for +Inf.
    buckets: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() + 1 {
            self.buckets = vec![0; bounds.len() + 1];
        }
        let index = bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(bounds.len());
        self.buckets[index] += 1;
        self.sum += value;
        self.count += 1;
    }
}

/// Everything counted for one workload, and how many of its pods are tracked now.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    pub live: u32,
    /// When `live` last dropped to zero: the series go after the retention.
    pub idle_since: Option<Instant>,
    pub creations: u64,
    pub deletions: BTreeMap<Box<str>, u64>,
    pub phases: BTreeMap<Box<str>, u64>,
    pub waiting: BTreeMap<(Box<str>, Box<str>), u64>,
    pub terminations: BTreeMap<(Box<str>, Box<str>), u64>,
    pub startup: Histogram,
    pub lifetime: BTreeMap<Box<str>, Histogram>,
}

fn bump_reason(map: &mut BTreeMap<(Box<str>, Box<str>), u64>, container: &str, reason: &str) {
    let key = (Box::from(container), Box::from(reason));
    if map.contains_key(&key) || map.len() < MAX_REASON_SERIES {
        *map.entry(key).or_default() += 1;
    } else {
        *map.entry((key.0, "Other".into())).or_default() += 1;
    }
}

impl Workload {
    pub fn phase_entered(&mut self, phase: &str) {
        *self.phases.entry(phase.into()).or_default() += 1;
    }

    pub fn waiting_entered(&mut self, container: &str, reason: &str) {
        bump_reason(&mut self.waiting, container, reason);
    }

    pub fn terminated(&mut self, container: &str, reason: &str) {
        bump_reason(&mut self.terminations, container, reason);
    }

    pub fn started(&mut self, seconds: f64) {
        self.startup.observe(STARTUP_BUCKETS, seconds);
    }

    pub fn deleted(&mut self, phase: &str, lifetime: f64) {
        *self.deletions.entry(phase.into()).or_default() += 1;
        self.lifetime
            .entry(phase.into())
            .or_default()
            .observe(LIFETIME_BUCKETS, lifetime);
    }
}

pub type Workloads = BTreeMap<Arc<WorkloadKey>, Workload>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Counter,
    Histogram,
}

/// One family: its name in the text format (counters end in `_total`), shape, help.
struct FamilyDef {
    name: &'static str,
    shape: Shape,
    help: &'static str,
}

#[rustfmt::skip]
const FAMILIES: [FamilyDef; 7] = [
    FamilyDef { name: "kube_pod_lifecycle_creations_total", shape: Shape::Counter, help: "Pods that appeared after the exporter's initial list (watch ADDED, or new at a relist)." },
    FamilyDef { name: "kube_pod_lifecycle_deletions_total", shape: Shape::Counter, help: "Pods that disappeared (watch DELETED, or gone at a relist), by the last phase seen." },
    FamilyDef { name: "kube_pod_lifecycle_phase_transitions_total", shape: Shape::Counter, help: "Entries of pods into each phase." },
    FamilyDef { name: "kube_pod_lifecycle_container_waiting_total", shape: Shape::Counter, help: "Entries of containers (init containers too) into waiting, by reason." },
    FamilyDef { name: "kube_pod_lifecycle_container_terminations_total", shape: Shape::Counter, help: "Terminations of containers, each once, including those only known from a restartCount increase (reason Unobserved when the object does not say)." },
    FamilyDef { name: "kube_pod_lifecycle_startup_duration_seconds", shape: Shape::Histogram, help: "Seconds from a pod's creation to its first Ready=True (object timestamps), for pods created while watched." },
    FamilyDef { name: "kube_pod_lifecycle_lifetime_seconds", shape: Shape::Histogram, help: "Seconds from a pod's creation to its deletion, by the last phase seen." },
];

/// Every lifecycle family name (text format), in output order.
pub fn family_names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|f| f.name)
}

/// (name, type, help) of every lifecycle family, for docs/metrics.md.
pub fn family_docs() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    FAMILIES.iter().map(|f| {
        let kind = match f.shape {
            Shape::Counter => "counter",
            Shape::Histogram => "histogram",
        };
        (f.name, kind, f.help)
    })
}

/// Which lifecycle families the filter lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enabled([bool; 7]);

impl Enabled {
    pub fn from_filter(filter: &MetricFilter) -> Enabled {
        Enabled(FAMILIES.map(|f| filter.allows(f.name, false)))
    }

    pub fn any(&self) -> bool {
        self.0.iter().any(|&on| on)
    }
}

/// Writes the enabled families of `workloads` (sorted by key). Nothing at all when
/// there is no workload, as a resource without objects writes no headers.
pub fn write(workloads: &Workloads, enabled: Enabled, openmetrics: bool, out: &mut Vec<u8>) {
    let mut keep = |_: &mut Vec<u8>| Ok(());
    // Nothing can fail when the whole text stays in `out`.
    let _ = write_flushing(workloads, enabled, openmetrics, out, &mut keep);
}

/// [`write`], handing `out` to `flush` whenever it holds [`FLUSH_AT`] bytes or more (between
/// two workloads), so the exposition of many workloads is never held whole.
pub fn write_flushing(
    workloads: &Workloads,
    enabled: Enabled,
    openmetrics: bool,
    out: &mut Vec<u8>,
    flush: &mut dyn FnMut(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if workloads.is_empty() {
        return Ok(());
    }
    for (index, family) in FAMILIES.iter().enumerate() {
        if !enabled.0[index] {
            continue;
        }
        // OpenMetrics names a counter family without its `_total` suffix.
        let family_name = match (family.shape, openmetrics) {
            (Shape::Counter, true) => family.name.trim_end_matches("_total"),
            _ => family.name,
        };
        let kind = match family.shape {
            Shape::Counter => "counter",
            Shape::Histogram => "histogram",
        };
        out.extend_from_slice(
            format!(
                "# HELP {family_name} {}\n# TYPE {family_name} {kind}\n",
                escape_help(family.help)
            )
            .as_bytes(),
        );
        for (key, workload) in workloads {
            let line = Line {
                key,
                out: &mut *out,
                openmetrics,
            };
            write_samples(index, family.name, workload, line);
            if out.len() >= FLUSH_AT {
                flush(out)?;
            }
        }
    }
    Ok(())
}

/// Bytes gathered before [`write_flushing`] hands them on.
pub const FLUSH_AT: usize = 64 * 1024;

fn write_samples(index: usize, name: &str, w: &Workload, mut line: Line<'_>) {
    match index {
        0 => line.counter(name, &[], w.creations),
        1 => w
            .deletions
            .iter()
            .for_each(|(phase, &n)| line.counter(name, &[("phase", phase)], n)),
        2 => w
            .phases
            .iter()
            .for_each(|(phase, &n)| line.counter(name, &[("phase", phase)], n)),
        3 => w.waiting.iter().for_each(|((container, reason), &n)| {
            line.counter(name, &[("container", container), ("reason", reason)], n)
        }),
        4 => w.terminations.iter().for_each(|((container, reason), &n)| {
            line.counter(name, &[("container", container), ("reason", reason)], n)
        }),
        5 => line.histogram(name, &[], STARTUP_BUCKETS, &w.startup),
        _ => w.lifetime.iter().for_each(|(phase, histogram)| {
            line.histogram(name, &[("phase", phase)], LIFETIME_BUCKETS, histogram)
        }),
    }
}

/// Sample writer for one workload.
struct Line<'a> {
    key: &'a WorkloadKey,
    out: &'a mut Vec<u8>,
    openmetrics: bool,
}

impl Line<'_> {
    fn start(&mut self, name: &str, suffix: &str, extra: &[(&str, &str)]) {
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(suffix.as_bytes());
        let fixed = [
            ("namespace", self.key.namespace.as_ref()),
            ("owner_kind", self.key.owner_kind.as_ref()),
            ("owner_name", self.key.owner_name.as_ref()),
        ];
        self.out.push(b'{');
        for (i, (label, value)) in fixed.iter().chain(extra).enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(label.as_bytes());
            self.out.extend_from_slice(b"=\"");
            push_escaped_label_value(self.out, value);
            self.out.push(b'"');
        }
        self.out.extend_from_slice(b"} ");
    }

    fn counter(&mut self, name: &str, extra: &[(&str, &str)], value: u64) {
        self.start(name, "", extra);
        push_go_float(self.out, value as f64);
        self.out.push(b'\n');
    }

    fn histogram(&mut self, name: &str, extra: &[(&str, &str)], bounds: &[f64], h: &Histogram) {
        let mut cumulative = 0;
        for (i, bound) in bounds.iter().map(Some).chain([None]).enumerate() {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            let le = match bound {
                Some(&b) => self.le(b),
                None => "+Inf".to_string(),
            };
            let mut labels = extra.to_vec();
            labels.push(("le", &le));
            self.start(name, "_bucket", &labels);
            push_go_float(self.out, cumulative as f64);
            self.out.push(b'\n');
        }
        self.start(name, "_sum", extra);
        push_go_float(self.out, h.sum);
        self.out.push(b'\n');
        self.start(name, "_count", extra);
        push_go_float(self.out, h.count as f64);
        self.out.push(b'\n');
    }

    /// `le` as client_golang writes it: Go's shortest form in text, with a `.0` on
    /// whole numbers in OpenMetrics (its canonical float form).
    fn le(&self, bound: f64) -> String {
        let mut text = Vec::new();
        push_go_float(&mut text, bound);
        let mut text = String::from_utf8(text).unwrap_or_default();
        if self.openmetrics && !text.contains(['.', 'e']) {
            text.push_str(".0");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workloads() -> Workloads {
        let key = Arc::new(WorkloadKey {
            namespace: "ns".into(),
            owner_kind: "ReplicaSet".into(),
            owner_name: "web-1".into(),
        });
        let mut w = Workload {
            creations: 2,
            ..Workload::default()
        };
        w.terminated("app", "OOMKilled");
        w.started(3.0);
        w.deleted("Running", 12.0);
        BTreeMap::from([(key, w)])
    }

    fn all() -> Enabled {
        Enabled([true; 7])
    }

    #[test]
    fn text_and_openmetrics_names() {
        let mut text = Vec::new();
        write(&workloads(), all(), false, &mut text);
        let text = String::from_utf8(text).unwrap_or_default();
        assert!(text.contains("# TYPE kube_pod_lifecycle_creations_total counter\n"));
        assert!(text.contains(
            "kube_pod_lifecycle_creations_total{namespace=\"ns\",owner_kind=\"ReplicaSet\",owner_name=\"web-1\"} 2\n"
        ));
        assert!(text.contains("kube_pod_lifecycle_startup_duration_seconds_bucket{namespace=\"ns\",owner_kind=\"ReplicaSet\",owner_name=\"web-1\",le=\"2\"} 0\n"));
        assert!(text.contains("kube_pod_lifecycle_startup_duration_seconds_bucket{namespace=\"ns\",owner_kind=\"ReplicaSet\",owner_name=\"web-1\",le=\"5\"} 1\n"));
        assert!(text.contains("kube_pod_lifecycle_lifetime_seconds_bucket{namespace=\"ns\",owner_kind=\"ReplicaSet\",owner_name=\"web-1\",phase=\"Running\",le=\"+Inf\"} 1\n"));
        assert!(text.contains("kube_pod_lifecycle_lifetime_seconds_sum{namespace=\"ns\",owner_kind=\"ReplicaSet\",owner_name=\"web-1\",phase=\"Running\"} 12\n"));

        let mut om = Vec::new();
        write(&workloads(), all(), true, &mut om);
        let om = String::from_utf8(om).unwrap_or_default();
        assert!(om.contains("# TYPE kube_pod_lifecycle_creations counter\n"));
        assert!(om.contains("# HELP kube_pod_lifecycle_creations "));
        assert!(om.contains("kube_pod_lifecycle_creations_total{"));
        assert!(om.contains("le=\"5.0\"} 1\n"));
    }

    #[test]
    fn nothing_without_workloads_and_filtered_families_skipped() {
        let mut out = Vec::new();
        write(&Workloads::new(), all(), false, &mut out);
        assert!(out.is_empty());
        let mut only = [false; 7];
        only[0] = true;
        write(&workloads(), Enabled(only), false, &mut out);
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(text.matches("# TYPE").count(), 1, "{text}");
    }

    #[test]
    fn reasons_beyond_the_cap_become_other() {
        let mut w = Workload::default();
        for i in 0..(MAX_REASON_SERIES + 5) {
            w.waiting_entered("c", &format!("R{i}"));
        }
        assert_eq!(w.waiting.len(), MAX_REASON_SERIES + 1);
        assert_eq!(w.waiting.get(&("c".into(), "Other".into())), Some(&5));
    }

    /// Thousands of workloads: the text leaves in pieces of at least `FLUSH_AT` bytes (the
    /// last may be shorter), and the pieces are exactly the whole text.
    #[test]
    fn many_workloads_are_handed_on_in_pieces() {
        let mut many = Workloads::new();
        for index in 0..3000 {
            let key = WorkloadKey {
                namespace: "ns".into(),
                owner_kind: "ReplicaSet".into(),
                owner_name: format!("web-{index}").into(),
            };
            let workload = Workload {
                creations: index,
                ..Workload::default()
            };
            many.insert(Arc::new(key), workload);
        }
        let mut whole = Vec::new();
        write(&many, all(), false, &mut whole);
        assert!(whole.len() > 4 * FLUSH_AT, "{} bytes", whole.len());

        let mut pieces: Vec<Vec<u8>> = Vec::new();
        let mut buffer = Vec::new();
        let mut flush = |buffer: &mut Vec<u8>| {
            pieces.push(std::mem::take(buffer));
            Ok(())
        };
        write_flushing(&many, all(), false, &mut buffer, &mut flush).expect("no failure");
        pieces.push(buffer);
        assert!(pieces.len() > 4);
        let (last, full) = pieces.split_last().expect("pieces");
        assert!(full.iter().all(|piece| piece.len() >= FLUSH_AT));
        assert!(last.len() < FLUSH_AT + 4096);
        assert!(
            pieces.concat() == whole,
            "pieces differ from the whole text"
        );
    }
}
