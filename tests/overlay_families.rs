//! Acceptance of the metric families overlays/deviceinfo declares: only in a build
//! with `SCHEMA_OVERLAYS=overlays/deviceinfo` (build.rs sets `cfg(overlay_deviceinfo)`;
//! .ci/run runs `SCHEMA_OVERLAYS=overlays/deviceinfo cargo test --test overlay_families`).
//! The vendor Node of tests/fixtures/vendor-node (protoc-encoded, two devices) is
//! served by the replay apiserver, then a MODIFIED event where the gpu turns
//! unhealthy: `kube_node_device_healthy` goes 1 → 0 for it, the exposition passes
//! `promtool check metrics`, and no drift is reported.
#![cfg(overlay_deviceinfo)]

mod replay_support;
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{ClientMetrics, Target};
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::{ContentTypeMode, Reflector, ReflectorOptions};
use kube_state_exporter::replay::{Faults, ReplayServer};
use kube_state_exporter::store::{Store, StoreOptions};
use replay_support::{eventually, fast_options, plain_client, recording};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vendor-node")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).expect("fixture JSON")
}

fn exposition(store: &Store) -> String {
    let request = RenderRequest::all(ExpositionFormat::Text);
    let mut out = Vec::new();
    store
        .write_exposition(&request, &mut out)
        .expect("render to memory");
    String::from_utf8(out).expect("UTF-8 exposition")
}

const GPU: &str = r#"{node="gpu-node-1",device="nvidia.com/gpu",type="nvidia-h100"}"#;
const FPGA: &str = r#"{node="gpu-node-1",device="xilinx.com/fpga",type="xilinx-u250"}"#;

#[test]
fn the_overlay_declares_the_device_families_after_ksms() {
    assert_eq!(
        kube_state_exporter::metrics::overlay::OVERLAY_FAMILY_NAMES,
        [
            "kube_node_device_info",
            "kube_node_device_units",
            "kube_node_device_healthy"
        ]
    );
    let nodes = kube_state_exporter::metrics::resources::by_plural("nodes").expect("nodes");
    let names: Vec<&str> = nodes.families().iter().map(|f| f.name).collect();
    assert_eq!(names.len(), 16, "{names:?}");
    assert_eq!(names[12], "kube_node_status_addresses", "KSM's table first");
    assert_eq!(names[15], "kube_node_device_healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_turning_unhealthy_moves_its_gauge_from_1_to_0() {
    let (addr, server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .expect("replay apiserver on 127.0.0.1");
    server
        .replace_objects(
            "nodes",
            vec![Bytes::from(fixture("vendor-node.pb"))],
            vec![json("vendor-node.json")],
            48213,
        )
        .expect("the vendor Node is served");
    let store = Arc::new(Store::new(&["nodes"], &StoreOptions::default()).expect("a store"));
    let metrics = ClientMetrics::unregistered();
    let reflector = Reflector::new(
        plain_client(addr),
        Target::new(ResourceType::by_plural("nodes").expect("nodes"), None),
        store.clone(),
        metrics.clone(),
        ReflectorOptions {
            content_type: ContentTypeMode::Auto,
            ..fast_options()
        },
    );
    let task = tokio::spawn(reflector.run());

    let healthy = format!("kube_node_device_healthy{GPU} 1");
    let listed = eventually(Duration::from_secs(20), || {
        exposition(&store).contains(&healthy)
    })
    .await;
    let before = exposition(&store);
    assert!(listed, "no healthy gpu series:\n{before}");
    for line in [
        format!("kube_node_device_info{GPU} 1"),
        format!("kube_node_device_info{FPGA} 1"),
        format!("kube_node_device_units{GPU} 4"),
        format!("kube_node_device_units{FPGA} 1"),
        format!("kube_node_device_healthy{FPGA} 0"),
        "# TYPE kube_node_device_healthy gauge".to_string(),
        "# HELP kube_node_device_healthy 1 when the device is healthy, 0 when not.".to_string(),
    ] {
        assert!(before.contains(&line), "missing {line:?} in:\n{before}");
    }
    support::promtool_check(&before);

    server
        .append_modified(
            "nodes",
            Bytes::from(fixture("vendor-node-gpu-unhealthy.pb")),
            json("vendor-node-gpu-unhealthy.json"),
            48214,
        )
        .expect("the event is queued");
    let unhealthy = format!("kube_node_device_healthy{GPU} 0");
    let changed = eventually(Duration::from_secs(20), || {
        exposition(&store).contains(&unhealthy)
    })
    .await;
    task.abort();
    let after = exposition(&store);
    assert!(changed, "the gpu never turned 0:\n{after}");
    assert!(after.contains(&format!("kube_node_device_healthy{FPGA} 0")));
    assert!(!after.contains(&healthy), "{after}");
    support::promtool_check(&after);

    // The overlay build reads the vendor Node as protobuf: no drift, no fallback.
    assert_eq!(metrics.json_fallback.with_label_values(&["nodes"]).get(), 0);
    assert_eq!(
        metrics
            .decode_errors_total
            .with_label_values(&["nodes", "protobuf"])
            .get(),
        0
    );
}
