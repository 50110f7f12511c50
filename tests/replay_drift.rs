//! Schema drift at run time: a vendor's Node (a field added at protobuf tag 11, the
//! upstream field moved to 12) served to the stock build. In auto mode the reflector
//! logs the diagnosis once, falls back to JSON and the Node still reaches the store.
//! The drift is exported as `kube_state_exporter_schema_drift` series (what the
//! diagnosis found) and the fallback as `kube_state_exporter_json_fallback`.

mod replay_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kube_state_exporter::api::diagnose::{diagnose, Drift};
use kube_state_exporter::api::{envelope, schema, ResourceType};
use kube_state_exporter::client::{ClientMetrics, Target};
use kube_state_exporter::reflector::{ContentTypeMode, Reflector};
use kube_state_exporter::replay::{Faults, ReplayServer};
use replay_support::{
    eventually, fast_options, plain_client, recording, subscriber, Captured, MapSink,
};

fn vendor_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vendor-node")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn serve_vendor_node(
    mode: ContentTypeMode,
) -> (
    Arc<MapSink>,
    ClientMetrics,
    Captured,
    tokio::task::JoinHandle<()>,
    kube_state_exporter::replay::ReplayHandle,
) {
    let (addr, server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&vendor_fixture("vendor-node.json")).unwrap();
    server
        .replace_objects(
            "nodes",
            vec![Bytes::from(vendor_fixture("vendor-node.pb"))],
            vec![json],
            500,
        )
        .unwrap();
    let sink = Arc::new(MapSink::default());
    let metrics = ClientMetrics::unregistered();
    let captured = Captured::default();
    let options = kube_state_exporter::reflector::ReflectorOptions {
        content_type: mode,
        ..fast_options()
    };
    let target = Target::new(ResourceType::by_plural("nodes").unwrap(), None);
    let reflector = Reflector::new(
        plain_client(addr),
        target,
        sink.clone(),
        metrics.clone(),
        options,
    );
    let task = tokio::spawn(reflector.run());
    (sink, metrics, captured, task, server)
}

/// The drift series of `metrics`, as (resource, field_path, field_number, wire_type),
/// sorted; read with `collect` so that looking does not create a series.
fn drift_series(metrics: &ClientMetrics) -> Vec<[String; 4]> {
    use prometheus::core::Collector;
    let mut series: Vec<[String; 4]> = metrics
        .schema_drift
        .collect()
        .iter()
        .flat_map(|family| family.get_metric().to_vec())
        .filter(|metric| metric.get_gauge().get_value() == 1.0)
        .map(|metric| {
            let label = |name: &str| {
                metric
                    .get_label()
                    .iter()
                    .find(|pair| pair.name() == name)
                    .map(|pair| pair.value().to_string())
                    .unwrap_or_default()
            };
            [
                label("resource"),
                label("field_path"),
                label("field_number"),
                label("wire_type"),
            ]
        })
        .collect();
    series.sort();
    series
}

/// What the diagnosis of the fixture reports, as the series the reflector must set.
fn expected_drift() -> Vec<[String; 4]> {
    let diagnosis = diagnose(&schema::compiled_pool(), &vendor_fixture("vendor-node.pb"));
    let mut series: Vec<[String; 4]> = diagnosis
        .drifts()
        .into_iter()
        .map(|d: Drift| {
            [
                "nodes".to_string(),
                d.field_path,
                d.field_number.to_string(),
                d.wire_type.to_string(),
            ]
        })
        .collect();
    series.sort();
    series
}

#[tokio::test]
async fn a_vendor_node_falls_back_to_json_and_arrives() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let (sink, metrics, _, task, _server) = serve_vendor_node(ContentTypeMode::Auto).await;
    let arrived = eventually(Duration::from_secs(20), || {
        sink.snapshot("nodes").len() == 1
    })
    .await;
    task.abort();
    assert!(arrived, "the vendor Node never reached the store");
    assert_eq!(
        metrics
            .json_fallbacks_total
            .with_label_values(&["nodes"])
            .get(),
        1
    );
    assert_eq!(
        metrics
            .decode_errors_total
            .with_label_values(&["nodes", "protobuf"])
            .get(),
        1
    );
    let logs = captured.text();
    assert_eq!(
        logs.matches("schema drift").count(),
        1,
        "diagnosis logged once:\n{logs}"
    );
    assert!(
        logs.contains("status"),
        "the diagnosis names where the schemas differ:\n{logs}"
    );
    assert!(
        logs.contains("hint"),
        "the diagnosis carries its hint:\n{logs}"
    );
    assert!(logs.contains("falling back to JSON"), "{logs}");

    // The drift as a metric: the stock build reads NodeStatus field 11 (config,
    // a message: wire type 2) where the vendor put deviceInfo.
    let drift = drift_series(&metrics);
    println!("{drift:?}");
    assert_eq!(drift, expected_drift());
    assert!(
        drift.contains(&[
            "nodes".to_string(),
            "status.config".to_string(),
            "11".to_string(),
            "2".to_string()
        ]),
        "{drift:?}"
    );
    assert_eq!(metrics.json_fallback.with_label_values(&["nodes"]).get(), 1);
}

#[tokio::test]
async fn the_drift_series_go_when_the_resource_decodes_cleanly_again() {
    let (sink, metrics, _, task, server) = serve_vendor_node(ContentTypeMode::Protobuf).await;
    let drifted = eventually(Duration::from_secs(20), || {
        !drift_series(&metrics).is_empty()
    })
    .await;
    assert!(drifted, "no drift series for the vendor Node");
    assert_eq!(drift_series(&metrics), expected_drift());
    assert_eq!(metrics.json_fallback.with_label_values(&["nodes"]).get(), 0);

    // The server now serves a Node our schema reads (as after a vendor upgrade, or
    // a new image with the overlay): the next relist decodes and the series go.
    let node = kube_state_exporter::api::core::v1::Node {
        metadata: Some(kube_state_exporter::api::meta::v1::ObjectMeta {
            name: Some("plain-node".into()),
            uid: Some("0b7c1e52-0d1f-4a43-9d1e-2f3a4b5c6d7e".into()),
            resource_version: Some("600".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = envelope::seal(
        "v1",
        "Node",
        Bytes::from(prost::Message::encode_to_vec(&node)),
    );
    let json = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "plain-node", "uid": "0b7c1e52-0d1f-4a43-9d1e-2f3a4b5c6d7e", "resourceVersion": "600"}
    });
    server
        .replace_objects("nodes", vec![Bytes::from(body)], vec![json], 600)
        .unwrap();
    let cleared = eventually(Duration::from_secs(20), || {
        drift_series(&metrics).is_empty() && sink.snapshot("nodes").len() == 1
    })
    .await;
    task.abort();
    assert!(cleared, "drift still set: {:?}", drift_series(&metrics));
}

#[tokio::test]
async fn forced_protobuf_keeps_failing_but_diagnoses_only_once() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let (sink, metrics, _, task, _server) = serve_vendor_node(ContentTypeMode::Protobuf).await;
    let failed_often = eventually(Duration::from_secs(20), || {
        metrics
            .decode_errors_total
            .with_label_values(&["nodes", "protobuf"])
            .get()
            >= 3
    })
    .await;
    task.abort();
    assert!(failed_often);
    assert!(sink.snapshot("nodes").is_empty());
    assert_eq!(
        metrics
            .json_fallbacks_total
            .with_label_values(&["nodes"])
            .get(),
        0
    );
    assert_eq!(captured.text().matches("schema drift").count(), 1);
}
