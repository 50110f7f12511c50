//! Families every resource builds the same way from its metadata: creation and
//! deletion time, allowlisted labels and annotations, owners, resource version,
//! generation, and the label-less info series. Each constructor takes only what differs between resources (the
//! family name and stability), so a resource table names them in one row each.

use crate::api::Kind;

use super::family::{dynamic_gauge, gauge, Context, Family, Samples, Stability};
use super::kube::{self, bool_word, s, unix_if_set};

/// `kube_<kind>_created`: creation time in Unix seconds, no series when unset.
pub const fn created<T: Kind>(name: &'static str, stability: Stability) -> Family<T> {
    gauge(
        name,
        stability,
        "Unix time at which the object was created.",
        &[],
        created_at::<T>,
    )
}

/// `kube_<kind>_deletion_timestamp`: only while a deletion is pending.
pub const fn deletion_timestamp<T: Kind>(name: &'static str, stability: Stability) -> Family<T> {
    gauge(
        name,
        stability,
        "Unix time at which the object was asked to go away.",
        &[],
        deletion_at::<T>,
    )
}

/// `kube_<kind>_labels`: one series of the allowlisted labels, only when the
/// resource has a `--metric-labels-allowlist` entry.
pub const fn labels<T: Kind>(name: &'static str, stability: Stability) -> Family<T> {
    dynamic_gauge(
        name,
        stability,
        "Allowlisted Kubernetes labels of the object as label_<key> labels.",
        allowed_labels::<T>,
    )
}

/// `kube_<kind>_annotations`: as [`labels`] for `--metric-annotations-allowlist`.
pub const fn annotations<T: Kind>(name: &'static str, stability: Stability) -> Family<T> {
    dynamic_gauge(
        name,
        stability,
        "Allowlisted Kubernetes annotations of the object as annotation_<key> labels.",
        allowed_annotations::<T>,
    )
}

/// `kube_<kind>_owner{owner_kind, owner_name, owner_is_controller}`: one series per
/// owner reference, one with empty values when there is none.
pub const fn owner<T: Kind>(name: &'static str, stability: Stability) -> Family<T> {
    gauge(
        name,
        stability,
        "Each owner reference of the object; empty labels when it has none.",
        &["owner_kind", "owner_name", "owner_is_controller"],
        owners::<T>,
    )
}

/// `kube_<kind>_metadata_resource_version`: the resource version as a number, no
/// series when it does not parse as one.
pub const fn resource_version<T: Kind>(name: &'static str, stability: Stability) -> Family<T> {
    gauge(
        name,
        stability,
        "Resource version of the object, as a number.",
        &[],
        resource_version_number::<T>,
    )
}

/// `kube_<kind>_metadata_generation`: the generation of the desired state (0 when unset).
pub const fn generation<T: Kind>(name: &'static str, stability: Stability) -> Family<T> {
    gauge(
        name,
        stability,
        "Sequence number of the object's desired state.",
        &[],
        generation_number::<T>,
    )
}

/// `kube_<kind>_info` with no labels beyond the defaults: 1 for every object.
pub const fn info<T: Kind>(
    name: &'static str,
    stability: Stability,
    help: &'static str,
) -> Family<T> {
    gauge(name, stability, help, &[], one::<T>)
}

fn one<'a, T: Kind>(_: &'a T, _: &Context, out: &mut Samples<'a>) {
    out.push([], 1.0);
}

fn created_at<'a, T: Kind>(object: &'a T, _: &Context, out: &mut Samples<'a>) {
    if let Some(t) = unix_if_set(&object.metadata().creation_timestamp) {
        out.push([], t);
    }
}

fn deletion_at<'a, T: Kind>(object: &'a T, _: &Context, out: &mut Samples<'a>) {
    if let Some(t) = unix_if_set(&object.metadata().deletion_timestamp) {
        out.push([], t);
    }
}

fn allowed_labels<'a, T: Kind>(object: &'a T, ctx: &Context, out: &mut Samples<'a>) {
    if let Some(allow) = &ctx.labels {
        out.push_dynamic(
            kube::allowed_pairs("label", &object.metadata().labels, allow),
            1.0,
        );
    }
}

fn allowed_annotations<'a, T: Kind>(object: &'a T, ctx: &Context, out: &mut Samples<'a>) {
    if let Some(allow) = &ctx.annotations {
        out.push_dynamic(
            kube::allowed_pairs("annotation", &object.metadata().annotations, allow),
            1.0,
        );
    }
}

fn owners<'a, T: Kind>(object: &'a T, _: &Context, out: &mut Samples<'a>) {
    let references = &object.metadata().owner_references;
    if references.is_empty() {
        out.push(["", "", ""], 1.0);
    }
    for o in references {
        let controller = bool_word(o.controller.unwrap_or(false));
        out.push([s(&o.kind), s(&o.name), controller], 1.0);
    }
}

fn resource_version_number<'a, T: Kind>(object: &'a T, _: &Context, out: &mut Samples<'a>) {
    if let Ok(version) = s(&object.metadata().resource_version).parse::<f64>() {
        out.push([], version);
    }
}

fn generation_number<'a, T: Kind>(object: &'a T, _: &Context, out: &mut Samples<'a>) {
    out.push([], object.metadata().generation.unwrap_or(0) as f64);
}
