//! Kubernetes' own serialization fixtures (k8s.io/api `testdata/v1.35.0`, copied to
//! `tests/fixtures/k8s-testdata/`): every field of the object is filled with a
//! non-zero value, so these checks are strict — no normalisation.
//!
//! For each `<group>.<version>.<Kind>.pb` / `.json` pair:
//! 1. `.pb` decoded with our prost types equals `.json` decoded with our JSON path
//!    (struct equality);
//! 2. our Kubernetes JSON of the `.pb` object equals the `.json` file as a JSON value;
//! 3. re-encoding the `.pb` object (and sealing it in the envelope) gives the `.pb`
//!    bytes byte for byte;
//! 4. for kinds we serve, the generic dispatch (`envelope::decode`, `json::decode`)
//!    gives the same `Body` from both files.
//!
//! Every fixture file must be listed in `TYPES`, so a new fixture cannot be skipped
//! silently.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kube_state_exporter::api::envelope::{self, Body};
use kube_state_exporter::api::{self, json};
use prost::Message;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s-testdata/v1.35.0")
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Decode,
    SameObject,
    JsonWriter,
    ReEncode,
    Dispatch,
}

/// Failures we understand and cannot fix; the test fails if one of them starts
/// passing (so the list stays true) or if anything else fails.
const KNOWN_FAILURES: &[(&str, Step, &str)] = &[
    (
        "policy.v1.PodDisruptionBudget",
        Step::ReEncode,
        "status.disruptedPods maps to a zero metav1.Time: Go writes the empty value message \
         (`12 00`) in the map entry, prost leaves default map values out; decoding is the same",
    ),
    (
        "core.v1.ListOptions.after_roundtrip",
        Step::ReEncode,
        "written by a Kubernetes newer than 1.35: field 15 is not in our schema, prost drops it",
    ),
    (
        "storage.k8s.io.v1.CSINode.after_roundtrip",
        Step::ReEncode,
        "written by a Kubernetes newer than 1.35: field 3 is not in our schema, prost drops it",
    ),
    (
        "storage.k8s.io.v1.CSINode.after_roundtrip",
        Step::JsonWriter,
        "the fixture JSON has the newer field; we neither know nor write it",
    ),
];

/// What one fixture pair passed.
#[derive(Debug, Default)]
struct Outcome {
    stem: String,
    failures: Vec<(Step, String)>,
    /// No `.json` twin: only the protobuf checks ran.
    protobuf_only: bool,
}

fn check<T>(stem: &str) -> Outcome
where
    T: Message + Default + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut outcome = Outcome {
        stem: stem.to_string(),
        ..Outcome::default()
    };
    let dir = fixture_dir();
    let pb = std::fs::read(dir.join(format!("{stem}.pb"))).expect("fixture .pb");
    // One fixture (core.v1.ListOptions.after_roundtrip) has no .json twin upstream.
    let json_text = std::fs::read(dir.join(format!("{stem}.json"))).ok();

    let envelope = match envelope::open(Bytes::from(pb.clone())) {
        Ok(envelope) => envelope,
        Err(err) => {
            outcome
                .failures
                .push((Step::Decode, format!("envelope: {err}")));
            return outcome;
        }
    };
    let from_pb = match T::decode(envelope.raw.clone()) {
        Ok(object) => object,
        Err(err) => {
            outcome
                .failures
                .push((Step::Decode, format!("protobuf decode: {err}")));
            return outcome;
        }
    };
    // 3. Byte-for-byte protobuf re-encoding.
    let resealed = envelope::seal(
        &envelope.api_version,
        &envelope.kind,
        Bytes::from(from_pb.encode_to_vec()),
    );
    if resealed != pb {
        let at = resealed
            .iter()
            .zip(&pb)
            .position(|(a, b)| a != b)
            .unwrap_or(resealed.len().min(pb.len()));
        outcome.failures.push((
            Step::ReEncode,
            format!(
                "re-encoded protobuf differs at byte {at} ({} vs {} bytes)",
                resealed.len(),
                pb.len()
            ),
        ));
    }

    let Some(json_text) = json_text else {
        outcome.protobuf_only = true;
        return outcome;
    };
    let from_json: T = match json::parse(&json_text) {
        Ok(object) => object,
        Err(err) => {
            outcome
                .failures
                .push((Step::Decode, format!("JSON decode: {err}")));
            return outcome;
        }
    };

    // 1. Same object from both encodings.
    if from_pb != from_json {
        outcome.failures.push((
            Step::SameObject,
            format!(
                "pb != json object: {}",
                first_difference(&format!("{from_pb:#?}"), &format!("{from_json:#?}"))
            ),
        ));
    }

    // 2. Our JSON writer reproduces the fixture's JSON.
    let expected: Value = serde_json::from_slice(&json_text).expect("fixture JSON parses");
    // WatchEvent is not a registered kind: its envelope and JSON carry no type fields.
    let written = if envelope.kind.is_empty() {
        serde_json::to_value(&from_pb)
    } else {
        json::with_type_meta(&envelope.api_version, &envelope.kind, &from_pb)
    };
    match written {
        Ok(written) if written == expected => {}
        Ok(written) => outcome.failures.push((
            Step::JsonWriter,
            format!(
                "our JSON != fixture JSON: {}",
                first_difference(&pretty(&written), &pretty(&expected))
            ),
        )),
        Err(err) => outcome
            .failures
            .push((Step::JsonWriter, format!("JSON serialize: {err}"))),
    }

    // 4. Dispatch, for kinds we serve.
    if api::ResourceType::by_kind(&envelope.api_version, &envelope.kind).is_some() {
        match (
            envelope::decode(Bytes::from(pb.clone())),
            json::decode(&json_text),
        ) {
            (Ok(a @ Body::Object(_)), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => outcome.failures.push((
                Step::Dispatch,
                format!(
                    "dispatch: bodies differ: {}",
                    first_difference(&format!("{a:#?}"), &format!("{b:#?}"))
                ),
            )),
            (a, b) => outcome.failures.push((
                Step::Dispatch,
                format!("dispatch: pb {:?} / json {:?}", a.err(), b.err()),
            )),
        }
    }
    outcome
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The first differing line of two renderings, with a little context.
fn first_difference(left: &str, right: &str) -> String {
    let (l, r): (Vec<&str>, Vec<&str>) = (left.lines().collect(), right.lines().collect());
    let at = l
        .iter()
        .zip(&r)
        .position(|(a, b)| a != b)
        .unwrap_or(l.len().min(r.len()));
    let context =
        |lines: &[&str]| lines[at.saturating_sub(3)..(at + 1).min(lines.len())].join("\n");
    format!(
        "line {at}:\n--- pb side\n{}\n--- json side\n{}",
        context(&l),
        context(&r)
    )
}

type Check = fn(&str) -> Outcome;

macro_rules! types {
    ($($stem:literal => $ty:ty),* $(,)?) => {
        &[$(($stem, check::<$ty> as Check)),*]
    };
}

use api::admissionregistration::{v1 as ar1, v1alpha1 as ar1a1, v1beta1 as ar1b1};
use api::core::v1 as core;
use api::meta::v1 as meta;

/// Fixture file stem (without `.after_roundtrip`) → our type.
const TYPES: &[(&str, Check)] = types! {
    "admissionregistration.k8s.io.v1.MutatingWebhookConfiguration" => ar1::MutatingWebhookConfiguration,
    "admissionregistration.k8s.io.v1.ValidatingAdmissionPolicy" => ar1::ValidatingAdmissionPolicy,
    "admissionregistration.k8s.io.v1.ValidatingAdmissionPolicyBinding" => ar1::ValidatingAdmissionPolicyBinding,
    "admissionregistration.k8s.io.v1.ValidatingWebhookConfiguration" => ar1::ValidatingWebhookConfiguration,
    "admissionregistration.k8s.io.v1alpha1.MutatingAdmissionPolicy" => ar1a1::MutatingAdmissionPolicy,
    "admissionregistration.k8s.io.v1alpha1.MutatingAdmissionPolicyBinding" => ar1a1::MutatingAdmissionPolicyBinding,
    "admissionregistration.k8s.io.v1alpha1.ValidatingAdmissionPolicy" => ar1a1::ValidatingAdmissionPolicy,
    "admissionregistration.k8s.io.v1alpha1.ValidatingAdmissionPolicyBinding" => ar1a1::ValidatingAdmissionPolicyBinding,
    "admissionregistration.k8s.io.v1beta1.MutatingAdmissionPolicy" => ar1b1::MutatingAdmissionPolicy,
    "admissionregistration.k8s.io.v1beta1.MutatingAdmissionPolicyBinding" => ar1b1::MutatingAdmissionPolicyBinding,
    "admissionregistration.k8s.io.v1beta1.MutatingWebhookConfiguration" => ar1b1::MutatingWebhookConfiguration,
    "admissionregistration.k8s.io.v1beta1.ValidatingAdmissionPolicy" => ar1b1::ValidatingAdmissionPolicy,
    "admissionregistration.k8s.io.v1beta1.ValidatingAdmissionPolicyBinding" => ar1b1::ValidatingAdmissionPolicyBinding,
    "admissionregistration.k8s.io.v1beta1.ValidatingWebhookConfiguration" => ar1b1::ValidatingWebhookConfiguration,
    "apps.v1.ControllerRevision" => api::apps::v1::ControllerRevision,
    "apps.v1.DaemonSet" => api::apps::v1::DaemonSet,
    "apps.v1.Deployment" => api::apps::v1::Deployment,
    "apps.v1.ReplicaSet" => api::apps::v1::ReplicaSet,
    "apps.v1.StatefulSet" => api::apps::v1::StatefulSet,
    "autoscaling.v2.HorizontalPodAutoscaler" => api::autoscaling::v2::HorizontalPodAutoscaler,
    "batch.v1.CronJob" => api::batch::v1::CronJob,
    "batch.v1.Job" => api::batch::v1::Job,
    "certificates.k8s.io.v1.CertificateSigningRequest" => api::certificates::v1::CertificateSigningRequest,
    "coordination.k8s.io.v1.Lease" => api::coordination::v1::Lease,
    "core.v1.APIGroup" => meta::ApiGroup,
    "core.v1.APIVersions" => meta::ApiVersions,
    "core.v1.Binding" => core::Binding,
    "core.v1.ComponentStatus" => core::ComponentStatus,
    "core.v1.ConfigMap" => core::ConfigMap,
    "core.v1.CreateOptions" => meta::CreateOptions,
    "core.v1.DeleteOptions" => meta::DeleteOptions,
    "core.v1.Endpoints" => core::Endpoints,
    "core.v1.Event" => core::Event,
    "core.v1.GetOptions" => meta::GetOptions,
    "core.v1.LimitRange" => core::LimitRange,
    "core.v1.ListOptions" => meta::ListOptions,
    "core.v1.Namespace" => core::Namespace,
    "core.v1.Node" => core::Node,
    "core.v1.NodeProxyOptions" => core::NodeProxyOptions,
    "core.v1.PatchOptions" => meta::PatchOptions,
    "core.v1.PersistentVolume" => core::PersistentVolume,
    "core.v1.PersistentVolumeClaim" => core::PersistentVolumeClaim,
    "core.v1.Pod" => core::Pod,
    "core.v1.PodAttachOptions" => core::PodAttachOptions,
    "core.v1.PodExecOptions" => core::PodExecOptions,
    "core.v1.PodLogOptions" => core::PodLogOptions,
    "core.v1.PodPortForwardOptions" => core::PodPortForwardOptions,
    "core.v1.PodProxyOptions" => core::PodProxyOptions,
    "core.v1.PodTemplate" => core::PodTemplate,
    "core.v1.RangeAllocation" => core::RangeAllocation,
    "core.v1.ReplicationController" => core::ReplicationController,
    "core.v1.ResourceQuota" => core::ResourceQuota,
    "core.v1.Secret" => core::Secret,
    "core.v1.SerializedReference" => core::SerializedReference,
    "core.v1.Service" => core::Service,
    "core.v1.ServiceAccount" => core::ServiceAccount,
    "core.v1.ServiceProxyOptions" => core::ServiceProxyOptions,
    "core.v1.Status" => meta::Status,
    "core.v1.UpdateOptions" => meta::UpdateOptions,
    "core.v1.WatchEvent" => meta::WatchEvent,
    "discovery.k8s.io.v1.EndpointSlice" => api::discovery::v1::EndpointSlice,
    "networking.k8s.io.v1.IPAddress" => api::networking::v1::IpAddress,
    "networking.k8s.io.v1.Ingress" => api::networking::v1::Ingress,
    "networking.k8s.io.v1.IngressClass" => api::networking::v1::IngressClass,
    "networking.k8s.io.v1.NetworkPolicy" => api::networking::v1::NetworkPolicy,
    "networking.k8s.io.v1.ServiceCIDR" => api::networking::v1::ServiceCidr,
    "policy.v1.Eviction" => api::policy::v1::Eviction,
    "policy.v1.PodDisruptionBudget" => api::policy::v1::PodDisruptionBudget,
    "rbac.authorization.k8s.io.v1.ClusterRole" => api::rbac::v1::ClusterRole,
    "rbac.authorization.k8s.io.v1.ClusterRoleBinding" => api::rbac::v1::ClusterRoleBinding,
    "rbac.authorization.k8s.io.v1.Role" => api::rbac::v1::Role,
    "rbac.authorization.k8s.io.v1.RoleBinding" => api::rbac::v1::RoleBinding,
    "storage.k8s.io.v1.CSIDriver" => api::storage::v1::CsiDriver,
    "storage.k8s.io.v1.CSINode" => api::storage::v1::CsiNode,
    "storage.k8s.io.v1.CSIStorageCapacity" => api::storage::v1::CsiStorageCapacity,
    "storage.k8s.io.v1.StorageClass" => api::storage::v1::StorageClass,
    "storage.k8s.io.v1.VolumeAttachment" => api::storage::v1::VolumeAttachment,
    "storage.k8s.io.v1.VolumeAttributesClass" => api::storage::v1::VolumeAttributesClass,
};

/// Every fixture stem in the directory (`.after_roundtrip` variants included).
fn fixture_stems() -> BTreeSet<String> {
    std::fs::read_dir(fixture_dir())
        .expect("tests/fixtures/k8s-testdata/v1.35.0 exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".pb").map(str::to_string))
        .collect()
}

fn check_for(stem: &str) -> Option<Check> {
    let base = stem.strip_suffix(".after_roundtrip").unwrap_or(stem);
    TYPES
        .iter()
        .find(|(name, _)| *name == base)
        .map(|(_, check)| *check)
}

#[test]
fn every_fixture_is_covered() {
    let stems = fixture_stems();
    assert!(stems.len() >= 89, "only {} fixtures found", stems.len());
    let missing: Vec<&String> = stems
        .iter()
        .filter(|stem| check_for(stem).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "fixtures without a type in TYPES: {missing:?}"
    );
}

#[test]
fn fixtures_decode_identically_from_protobuf_and_json_and_reencode_byte_for_byte() {
    let outcomes: Vec<Outcome> = fixture_stems()
        .iter()
        .filter_map(|stem| check_for(stem).map(|check| check(stem)))
        .collect();
    let mut unexpected = Vec::new();
    let mut known_seen = Vec::new();
    for outcome in &outcomes {
        for (step, message) in &outcome.failures {
            match KNOWN_FAILURES
                .iter()
                .find(|(stem, s, _)| *stem == outcome.stem && s == step)
            {
                Some(known) => known_seen.push(known),
                None => unexpected.push(format!("{} ({step:?}): {message}", outcome.stem)),
            }
        }
    }
    let clean = outcomes.iter().filter(|o| o.failures.is_empty()).count();
    let protobuf_only: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.protobuf_only)
        .map(|o| o.stem.as_str())
        .collect();
    println!("{clean} of {} fixtures pass every check", outcomes.len());
    println!("protobuf checks only (no .json twin): {protobuf_only:?}");
    for (stem, step, reason) in &known_seen {
        println!("known failure {stem} ({step:?}): {reason}");
    }
    for failure in &unexpected {
        println!("FAIL {failure}");
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected failures (see output)",
        unexpected.len()
    );
    let stale: Vec<_> = KNOWN_FAILURES
        .iter()
        .filter(|k| !known_seen.contains(k))
        .collect();
    assert!(
        stale.is_empty(),
        "known failures that no longer fail, remove them: {stale:?}"
    );
    assert_eq!(
        clean,
        outcomes.len() - 3,
        "three fixtures carry known failures"
    );
}
