//! `horizontalpodautoscalers`: 15 families, in kube-state-metrics' order. Default
//! labels: namespace, horizontalpodautoscaler.

use crate::api::autoscaling::v2::CrossVersionObjectReference;
use crate::api::autoscaling::v2::{
    HorizontalPodAutoscaler as Hpa, HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec,
    HorizontalPodAutoscalerStatus, HpaScalingRules, MetricIdentifier, MetricSpec, MetricStatus,
    MetricTarget, MetricValueStatus,
};
use crate::api::resource::Quantity as QuantityMessage;
use crate::metrics::family::{dynamic_gauge, gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

const TARGET_LABELS: &[&str] = &["metric_name", "metric_target_type", "container"];

#[rustfmt::skip]
pub static FAMILIES: &[Family<Hpa>] = &[
    dynamic_gauge("kube_horizontalpodautoscaler_info", Alpha, "What the autoscaler scales (api version only when set).", info),
    generic::generation("kube_horizontalpodautoscaler_metadata_generation", Stable),
    gauge("kube_horizontalpodautoscaler_spec_max_replicas", Stable, "Most replicas the autoscaler may set.", &[], spec_max_replicas),
    gauge("kube_horizontalpodautoscaler_spec_min_replicas", Stable, "Fewest replicas the autoscaler may set (1 when unset).", &[], spec_min_replicas),
    gauge("kube_horizontalpodautoscaler_spec_target_metric", Alpha, "Each target of each metric the autoscaler scales on.", TARGET_LABELS, spec_target_metric),
    gauge("kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance", Alpha, "Relative metric change below which the autoscaler does not scale down.", &[], spec_behavior_scale_down_tolerance),
    gauge("kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance", Alpha, "Relative metric change below which the autoscaler does not scale up.", &[], spec_behavior_scale_up_tolerance),
    gauge("kube_horizontalpodautoscaler_status_target_metric", Stable, "Each current value of each metric the autoscaler scales on.", TARGET_LABELS, status_target_metric),
    gauge("kube_horizontalpodautoscaler_status_current_replicas", Stable, "Replicas the autoscaler last saw.", &[], status_current_replicas),
    gauge("kube_horizontalpodautoscaler_status_desired_replicas", Stable, "Replicas the autoscaler last asked for.", &[], status_desired_replicas),
    generic::annotations("kube_horizontalpodautoscaler_annotations", Alpha),
    generic::labels("kube_horizontalpodautoscaler_labels", Stable),
    gauge("kube_horizontalpodautoscaler_status_condition", Stable, "Status of each autoscaler condition, one series per status.", &["condition", "status"], status_condition),
    generic::created("kube_horizontalpodautoscaler_created", Alpha),
    generic::deletion_timestamp("kube_horizontalpodautoscaler_deletion_timestamp", Alpha),
];

pub static RESOURCE: ResourceDef<Hpa> = ResourceDef {
    default_labels: &["namespace", "horizontalpodautoscaler"],
    default_values: namespace_and_name::<Hpa>,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(a: &Hpa) -> &HorizontalPodAutoscalerSpec {
    zero_or!(a.spec, HorizontalPodAutoscalerSpec)
}

fn status(a: &Hpa) -> &HorizontalPodAutoscalerStatus {
    zero_or!(a.status, HorizontalPodAutoscalerStatus)
}

fn metric_name(m: &Option<MetricIdentifier>) -> &str {
    s(&zero_or!(m, MetricIdentifier).name)
}

/// The three ways a metric target or current value is given, as KSM names them:
/// an absolute value, a utilization percentage, an average value per pod.
fn target_values(
    value: &Option<QuantityMessage>,
    utilization: Option<i32>,
    average: &Option<QuantityMessage>,
) -> impl Iterator<Item = (&'static str, f64)> {
    let cores =
        |q: &Option<QuantityMessage>| q.as_ref().and_then(kube::quantity).map(|q| q.cores());
    [
        ("value", cores(value)),
        ("utilization", utilization.map(f64::from)),
        ("average", cores(average)),
    ]
    .into_iter()
    .filter_map(|(kind, v)| v.map(|v| (kind, v)))
}

/// Name, container (ContainerResource only) and target of a spec metric; `None`
/// for a type KSM does not know or whose source is missing.
fn spec_source(m: &MetricSpec) -> Option<(&str, &str, &Option<MetricTarget>)> {
    Some(match s(&m.r#type) {
        "Object" => m
            .object
            .as_ref()
            .map(|o| (metric_name(&o.metric), "", &o.target))?,
        "Pods" => m
            .pods
            .as_ref()
            .map(|p| (metric_name(&p.metric), "", &p.target))?,
        "Resource" => m.resource.as_ref().map(|r| (s(&r.name), "", &r.target))?,
        "ContainerResource" => m
            .container_resource
            .as_ref()
            .map(|c| (s(&c.name), s(&c.container), &c.target))?,
        "External" => m
            .external
            .as_ref()
            .map(|e| (metric_name(&e.metric), "", &e.target))?,
        _ => return None,
    })
}

/// As [`spec_source`] for a status metric (KSM skips entries without their source,
/// as status is not validated by the API server).
fn status_source(m: &MetricStatus) -> Option<(&str, &str, &Option<MetricValueStatus>)> {
    Some(match s(&m.r#type) {
        "Object" => m
            .object
            .as_ref()
            .map(|o| (metric_name(&o.metric), "", &o.current))?,
        "Pods" => m
            .pods
            .as_ref()
            .map(|p| (metric_name(&p.metric), "", &p.current))?,
        "Resource" => m.resource.as_ref().map(|r| (s(&r.name), "", &r.current))?,
        "ContainerResource" => m
            .container_resource
            .as_ref()
            .map(|c| (s(&c.name), s(&c.container), &c.current))?,
        "External" => m
            .external
            .as_ref()
            .map(|e| (metric_name(&e.metric), "", &e.current))?,
        _ => return None,
    })
}

fn tolerance<'a>(
    rules: fn(&HorizontalPodAutoscalerBehavior) -> &Option<HpaScalingRules>,
    a: &'a Hpa,
    out: Out<'a, '_>,
) {
    let tolerance = spec(a)
        .behavior
        .as_ref()
        .and_then(|b| rules(b).as_ref())
        .and_then(|r| r.tolerance.as_ref())
        .and_then(approximate_float);
    if let Some(value) = tolerance {
        out.push([], value);
    }
}

/// apimachinery's `Quantity.AsApproximateFloat64`: the digits as an integer (rounded
/// up to nano precision, as parsing does) times a power of ten computed like Go's
/// `math.Pow10`, so a value such as `0.05` or `50m` is the same float as in KSM.
fn approximate_float(q: &QuantityMessage) -> Option<f64> {
    let text = q.string.as_deref()?;
    kube::quantity(q)?;
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let (exp10, exp2) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        e => (e.get(1..)?.parse::<i32>().ok()?, 0),
    };
    let mut digits = format!("{whole}{fraction}");
    let mut scale = exp10 - i32::try_from(fraction.len()).ok()?;
    if scale < -9 {
        // Parsing keeps at most nine decimals, rounding away from zero.
        let cut = usize::try_from(-9 - scale).ok()?;
        let keep = digits.len().saturating_sub(cut);
        let dropped_nonzero = digits[keep..].bytes().any(|b| b != b'0');
        digits.truncate(keep);
        let mut value: f64 = if digits.is_empty() {
            0.0
        } else {
            digits.parse().ok()?
        };
        if dropped_nonzero {
            value += 1.0;
        }
        digits = format!("{value}");
        scale = -9;
    }
    let base: f64 = digits.parse::<f64>().ok()? * 2f64.powi(exp2);
    let value = if scale == 0 {
        base
    } else {
        base * go_pow10(scale)?
    };
    Some(if negative { -value } else { value })
}

/// Go's `math.Pow10` for the exponents a quantity can have: a product (or quotient)
/// of two correctly rounded powers of ten.
fn go_pow10(n: i32) -> Option<f64> {
    let power = |e: i32| format!("1e{e}").parse::<f64>().ok();
    match n {
        0..=308 => Some(power(n / 32 * 32)? * power(n % 32)?),
        -323..=-1 => Some(power(n / 32 * 32)? / power(-n % 32)?),
        _ if n > 0 => Some(f64::INFINITY),
        _ => Some(0.0),
    }
}

fn target_metric_series<'a>(
    name: &'a str,
    container: &'a str,
    values: impl Iterator<Item = (&'static str, f64)>,
    out: Out<'a, '_>,
) {
    for (kind, value) in values {
        out.push([name, kind, container], value);
    }
}

// ---- families ----------------------------------------------------------------

fn info<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    let target = zero_or!(spec(a).scale_target_ref, CrossVersionObjectReference);
    let mut pairs = Vec::with_capacity(3);
    let api_version = s(&target.api_version);
    if !api_version.is_empty() {
        pairs.push(("scaletargetref_api_version".to_string(), api_version));
    }
    pairs.push(("scaletargetref_kind".to_string(), s(&target.kind)));
    pairs.push(("scaletargetref_name".to_string(), s(&target.name)));
    out.push_dynamic(pairs, 1.0);
}

fn spec_max_replicas<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(spec(a).max_replicas.unwrap_or(0)));
}

/// KSM reports the API default (1) when `minReplicas` is omitted.
fn spec_min_replicas<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(spec(a).min_replicas.unwrap_or(1)));
}

fn spec_target_metric<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    for m in &spec(a).metrics {
        if let Some((name, container, target)) = spec_source(m) {
            let t = zero_or!(target, MetricTarget);
            let values = target_values(&t.value, t.average_utilization, &t.average_value);
            target_metric_series(name, container, values, out);
        }
    }
}

fn spec_behavior_scale_down_tolerance<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    tolerance(|b| &b.scale_down, a, out);
}

fn spec_behavior_scale_up_tolerance<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    tolerance(|b| &b.scale_up, a, out);
}

fn status_target_metric<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    for m in &status(a).current_metrics {
        if let Some((name, container, current)) = status_source(m) {
            let c = zero_or!(current, MetricValueStatus);
            let values = target_values(&c.value, c.average_utilization, &c.average_value);
            target_metric_series(name, container, values, out);
        }
    }
}

fn status_current_replicas<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(a).current_replicas.unwrap_or(0)));
}

fn status_desired_replicas<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(a).desired_replicas.unwrap_or(0)));
}

fn status_condition<'a>(a: &'a Hpa, _: &Context, out: Out<'a, '_>) {
    for c in &status(a).conditions {
        for (word, value) in kube::condition_statuses(s(&c.status)) {
            out.push([s(&c.r#type), word], value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(text: &str) -> Option<f64> {
        approximate_float(&QuantityMessage {
            string: Some(text.into()),
        })
    }

    #[test]
    fn tolerances_read_as_approximate_floats() {
        assert_eq!(approx("0.05"), Some(0.05));
        assert_eq!(approx("50m"), Some(0.05));
        assert_eq!(approx("100m"), Some(0.1));
        assert_eq!(approx("1"), Some(1.0));
        assert_eq!(approx("2k"), Some(2000.0));
        assert_eq!(approx("1Ki"), Some(1024.0));
        assert_eq!(approx("5e-3"), Some(0.005));
        // Below nano precision parsing rounds up.
        assert_eq!(approx("0.0000000001"), Some(1e-9));
        assert_eq!(approx("-0.5"), Some(-0.5));
        assert_eq!(approx("bogus"), None);
    }

    #[test]
    fn pow10_matches_go() {
        assert_eq!(go_pow10(-2), Some(0.01));
        assert_eq!(go_pow10(3), Some(1000.0));
        assert_eq!(go_pow10(40), Some(1e40));
        // Go divides by a table entry, which is not the correctly rounded 1e-40.
        assert_eq!(go_pow10(-40), Some(1e-32 / 1e8));
    }
}
