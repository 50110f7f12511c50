//! Schema drift at run time: a vendor's Node (a field added at protobuf tag 11, the
//! upstream field moved to 12) served to the stock build. In auto mode the reflector
//! logs the diagnosis once, falls back to JSON and the Node still reaches the store.

mod replay_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kube_state_exporter::api::ResourceType;
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
