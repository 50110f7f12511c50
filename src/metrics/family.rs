//! The family model: what a metric family is (name, type, stability, help, label
//! names) and what its generator produces for one object (samples).

use std::borrow::Cow;

use super::labelmap::AllowList;

/// Metric types as KSM declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
    Info,
    StateSet,
}

impl MetricType {
    /// The `# TYPE` word. Text format 0.0.4 knows no `info`/`stateset`: KSM rewrites
    /// them to `gauge` there and keeps them in OpenMetrics.
    pub fn type_word(self, openmetrics: bool) -> &'static str {
        match (self, openmetrics) {
            (MetricType::Gauge, _) => "gauge",
            (MetricType::Counter, _) => "counter",
            (MetricType::Info, true) => "info",
            (MetricType::StateSet, true) => "stateset",
            (MetricType::Info | MetricType::StateSet, false) => "gauge",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    Stable,
    Alpha,
}

/// Everything about a family except how to compute it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyMeta {
    pub name: &'static str,
    pub kind: MetricType,
    pub stability: Stability,
    /// Only generated when `--metric-opt-in-list` names it.
    pub opt_in: bool,
    pub help: &'static str,
    /// Extra label names after the resource's default labels. `None`: the label
    /// names differ per object (`_labels`, `_annotations`, `kube_pod_nodeselectors`).
    pub labels: Option<&'static [&'static str]>,
}

/// Per-resource settings a generator may read.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `--metric-labels-allowlist` entry of this resource (`None`: no entry).
    pub labels: Option<AllowList>,
    /// `--metric-annotations-allowlist` entry of this resource.
    pub annotations: Option<AllowList>,
}

/// One sample before it is stored: label values (and, for families with per-object
/// label names, the names) borrowed from the object where possible.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub keys: Vec<Cow<'a, str>>,
    pub values: Vec<Cow<'a, str>>,
    pub value: f64,
}

/// What a generator writes into.
#[derive(Debug, Default)]
pub struct Samples<'a> {
    pub samples: Vec<Sample<'a>>,
}

impl<'a> Samples<'a> {
    /// A sample of a family with fixed label names, values in the declared order.
    pub fn push<const N: usize>(&mut self, values: [&'a str; N], value: f64) {
        self.samples.push(Sample {
            keys: Vec::new(),
            values: values.into_iter().map(Cow::Borrowed).collect(),
            value,
        });
    }

    /// Like [`Samples::push`] for values that had to be computed.
    pub fn push_owned(&mut self, values: Vec<Cow<'a, str>>, value: f64) {
        self.samples.push(Sample {
            keys: Vec::new(),
            values,
            value,
        });
    }

    /// A sample whose label names are per object.
    pub fn push_dynamic(&mut self, pairs: Vec<(String, &'a str)>, value: f64) {
        let (keys, values) = pairs
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Borrowed(v)))
            .unzip();
        self.samples.push(Sample {
            keys,
            values,
            value,
        });
    }

    /// Drops every sample whose label set equals an earlier one, so one object can
    /// never yield two identical series in a family (Prometheus ≥ 2.52 rejects the
    /// whole scrape for that). The first sample wins, as KSM's own deduplication of
    /// tolerations does.
    pub fn dedup(&mut self) {
        if self.samples.len() < 2 {
            return;
        }
        let mut kept: Vec<Sample<'a>> = Vec::with_capacity(self.samples.len());
        for sample in self.samples.drain(..) {
            if !kept
                .iter()
                .any(|k| k.keys == sample.keys && k.values == sample.values)
            {
                kept.push(sample);
            }
        }
        self.samples = kept;
    }
}

/// Where a family's function writes: `fn f<'a>(o: &'a Kind, ctx: &Context, out: Out<'a, '_>)`.
pub type Out<'a, 'b> = &'b mut Samples<'a>;

/// A family's function: object in, samples (borrowing from the object) out.
pub type Generator<T> = for<'a> fn(&'a T, &Context, &mut Samples<'a>);

/// A family of resource `T`: metadata plus a pure function from the object to samples.
pub struct Family<T: 'static> {
    pub meta: FamilyMeta,
    pub generate: Generator<T>,
}

/// Compact constructors so resource files read like a table.
pub const fn gauge<T>(
    name: &'static str,
    stability: Stability,
    help: &'static str,
    labels: &'static [&'static str],
    generate: Generator<T>,
) -> Family<T> {
    Family {
        meta: FamilyMeta {
            name,
            kind: MetricType::Gauge,
            stability,
            opt_in: false,
            help,
            labels: Some(labels),
        },
        generate,
    }
}

pub const fn counter<T>(
    name: &'static str,
    stability: Stability,
    help: &'static str,
    labels: &'static [&'static str],
    generate: Generator<T>,
) -> Family<T> {
    Family {
        meta: FamilyMeta {
            name,
            kind: MetricType::Counter,
            stability,
            opt_in: false,
            help,
            labels: Some(labels),
        },
        generate,
    }
}

/// A gauge whose label names come from the object (labels, annotations, selectors).
pub const fn dynamic_gauge<T>(
    name: &'static str,
    stability: Stability,
    help: &'static str,
    generate: Generator<T>,
) -> Family<T> {
    Family {
        meta: FamilyMeta {
            name,
            kind: MetricType::Gauge,
            stability,
            opt_in: false,
            help,
            labels: None,
        },
        generate,
    }
}

impl<T> Family<T> {
    /// Marks the family opt-in (`--metric-opt-in-list`).
    pub const fn opt_in(mut self) -> Family<T> {
        self.meta.opt_in = true;
        self
    }
}
