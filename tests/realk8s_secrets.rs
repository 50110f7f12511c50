//! Secrets against the real kube-apiserver 1.35 of `../shared/realk8s`, written with
//! `kubectl apply` as users write them: `kubectl apply` copies the whole manifest,
//! values included, into the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation. The exporter asks for a server-side Table (metadata + the Type
//! column) and drops that annotation at decode, so no value may reach the decoded
//! objects (what the store is fed), the logs, or `/metrics` — even with every
//! annotation of secrets allowlisted. Each check looks for the values themselves.

mod support;

use std::time::Duration;

use kube_state_exporter::api::{Object, ResourceType};
use kube_state_exporter::client::list::{list_all, ListOptions};
use kube_state_exporter::client::watch::{start_watch, WatchEvent, WatchOptions};
use kube_state_exporter::client::{connect, ApiClient, ConnectOptions, Format, Target};
use support::realk8s::{kubectl_available, RealK8s};

/// Values no output may contain: plain (stringData, and what last-applied copies)
/// and base64 (data).
const PLAIN: &str = "kse-plain-value-7f3c1a";
const ENCODED_PLAIN: &str = "kse-encoded-value-91be44";

fn b64(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn forbidden() -> Vec<String> {
    vec![
        PLAIN.to_string(),
        ENCODED_PLAIN.to_string(),
        b64(ENCODED_PLAIN),
    ]
}

fn manifests(suffix: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: basic{suffix}\n  namespace: default\n  labels: {{app: web}}\n  annotations: {{team: payments}}\n\
         type: kubernetes.io/basic-auth\nstringData:\n  username: admin\n  password: {PLAIN}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: opaque{suffix}\n  namespace: default\n\
         data:\n  token: {}\n",
        b64(ENCODED_PLAIN)
    )
}

/// No value in `text`. (The annotation's name may still appear: managedFields
/// lists the field names a manager owns, never their values.)
fn assert_clean(what: &str, text: &str) {
    for value in forbidden() {
        assert!(
            !text.contains(&value),
            "{what} contains a secret value ({value})"
        );
    }
}

fn assert_no_last_applied(object: &Object) {
    let annotations = object.metadata().map(|m| &m.annotations);
    assert!(
        annotations
            .is_some_and(|a| !a.contains_key("kubectl.kubernetes.io/last-applied-configuration")),
        "the last-applied-configuration annotation reached a decoded object"
    );
}

fn secret_type(object: &Object) -> Option<(String, String)> {
    match object {
        Object::Secret(secret) => Some((
            secret.metadata.as_ref()?.name.clone()?,
            secret.r#type.clone().unwrap_or_default(),
        )),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_secret_values_never_reach_decoded_objects_logs_or_metrics() {
    if !kubectl_available() {
        return;
    }
    let Some(k8s) = RealK8s::start() else {
        return;
    };
    let applied = k8s.kubectl(&["apply", "-f", "-"], Some(&manifests("")));
    assert!(applied.status.success());
    // The server really holds the values in the annotation: the test has teeth.
    let raw = k8s.kubectl(&["get", "secret", "basic", "-o", "json"], None);
    assert!(String::from_utf8_lossy(&raw.stdout).contains(PLAIN));

    // What the store is fed: the decoded list and watch objects.
    let options = ConnectOptions {
        kubeconfig: Some(k8s.kubeconfig()),
        ..ConnectOptions::default()
    };
    let client = ApiClient::new(connect(&options).await.expect("connects"));
    let secrets = ResourceType::by_plural("secrets").expect("secrets are served");
    let target = Target::new(secrets, None);
    let listed = tokio::time::timeout(
        Duration::from_secs(20),
        list_all(&client, &target, Format::Protobuf, &ListOptions::default()),
    )
    .await
    .expect("the list answers in time")
    .expect("secrets list");
    assert_eq!(listed.format, Format::Json, "a Table is JSON");
    let mut types: Vec<(String, String)> = listed.objects.iter().filter_map(secret_type).collect();
    types.sort();
    assert_eq!(
        types,
        [
            ("basic".to_string(), "kubernetes.io/basic-auth".to_string()),
            ("opaque".to_string(), "Opaque".to_string())
        ]
    );
    for object in &listed.objects {
        let json = object.to_json_value().expect("serializes").to_string();
        assert_clean("a listed secret", &json);
        assert_no_last_applied(object);
    }

    let mut watch = start_watch(
        &client,
        &target,
        Format::Protobuf,
        &listed.resource_version,
        &WatchOptions::default(),
    )
    .await
    .expect("the watch opens");
    k8s.kubectl(&["apply", "-f", "-"], Some(&manifests("-later")));
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(20), watch.next())
            .await
            .expect("the watch delivers the new secrets in time")
            .expect("the watch event decodes")
            .expect("the watch stays open");
        if let WatchEvent::Added(object) | WatchEvent::Modified(object) = &event {
            assert_clean(
                "a watched secret",
                &object.to_json_value().expect("serializes").to_string(),
            );
            seen.extend(secret_type(object));
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "basic-later".to_string(),
                "kubernetes.io/basic-auth".to_string()
            ),
            ("opaque-later".to_string(), "Opaque".to_string())
        ]
    );

    // The binary, every annotation and label of secrets allowlisted, logging at trace.
    let dir = tempfile::tempdir().expect("a temp dir");
    let log = dir.path().join("exporter.log");
    let kubeconfig = k8s.kubeconfig().to_string_lossy().into_owned();
    let (exporter, port) = support::start_logged(
        &[
            "--kubeconfig",
            &kubeconfig,
            "--resources=secrets",
            "--metric-annotations-allowlist=secrets=[*]",
            "--metric-labels-allowlist=secrets=[*]",
        ],
        Some(&log),
        &[("RUST_LOG", "trace")],
    );
    let metrics = support::metrics(port);
    assert!(
        metrics.contains("kube_secret_type{namespace=\"default\",secret=\"basic\",type=\"kubernetes.io/basic-auth\"} 1"),
        "the type arrives through the Table:\n{metrics}"
    );
    assert!(
        metrics.contains("annotation_team=\"payments\""),
        "other annotations are served"
    );
    assert_clean("/metrics", &metrics);
    assert!(
        !metrics.contains("last_applied_configuration"),
        "the annotation reached /metrics"
    );
    drop(exporter);
    let logs = std::fs::read_to_string(&log).expect("the log");
    assert!(!logs.is_empty(), "the exporter logged at trace level");
    assert_clean("the exporter's log", &logs);
}
