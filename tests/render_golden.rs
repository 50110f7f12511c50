//! `render` on objects recorded from a real kube-apiserver 1.28 (copied from
//! `../shared/recordings/real-1.28-demo`: the node and pod lists, protobuf and JSON)
//! against golden expositions in `tests/golden/`. Set `UPDATE_GOLDEN=1` to rewrite
//! the golden files after an intended change, then review the diff.

use std::path::PathBuf;

use kube_state_exporter::commands::render::{run, RenderOptions};
use kube_state_exporter::metrics::filter::MetricFilter;
use kube_state_exporter::metrics::labelmap::AllowListFlag;
use kube_state_exporter::store::StoreOptions;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-1.28-demo")
        .join(name)
}

fn render(options: &RenderOptions, inputs: &[&str]) -> String {
    let inputs: Vec<PathBuf> = inputs.iter().map(|name| fixture(name)).collect();
    let mut out = Vec::new();
    run(options, &inputs, &mut out).unwrap_or_else(|e| panic!("render: {e}"));
    String::from_utf8(out).unwrap_or_else(|e| panic!("not UTF-8: {e}"))
}

fn compare(golden: &str, got: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(golden);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if want != got {
        let first = want.lines().zip(got.lines()).position(|(w, g)| w != g);
        panic!(
            "{golden} differs (first differing line {first:?}; want {} lines, got {}):\n{}",
            want.lines().count(),
            got.lines().count(),
            first
                .map(|i| format!(
                    "want {:?}\n got {:?}",
                    want.lines().nth(i),
                    got.lines().nth(i)
                ))
                .unwrap_or_default()
        );
    }
}

#[test]
fn default_flags_match_golden() {
    let got = render(&RenderOptions::default(), &["nodes.pb", "pods.pb"]);
    assert!(got.contains("kube_pod_container_status_waiting_reason{namespace=\"demo\""));
    compare("real-1.28-demo.prom", &got);
}

#[test]
fn json_lists_render_like_protobuf_lists() {
    let proto = render(&RenderOptions::default(), &["nodes.pb", "pods.pb"]);
    let json = render(&RenderOptions::default(), &["nodes.json", "pods.json"]);
    assert_eq!(proto, json);
}

#[test]
fn allowlists_opt_in_and_openmetrics_match_golden() {
    let allowlist =
        |text: &str| AllowListFlag::parse(text).unwrap_or_else(|e| panic!("allowlist {text}: {e}"));
    let options = RenderOptions {
        store: StoreOptions {
            filter: MetricFilter::new(&[], &[], &["kube_pod_nodeselectors".into()])
                .unwrap_or_else(|e| panic!("filter: {e}")),
            labels_allowlist: allowlist("pods=[app,app.kubernetes.io/*],nodes=[*]"),
            annotations_allowlist: allowlist("*=[*]"),
        },
        openmetrics: true,
        ..RenderOptions::default()
    };
    let got = render(&options, &["nodes.pb", "pods.pb"]);
    assert!(got.ends_with("# EOF\n"));
    compare("real-1.28-demo-allowlists.om.prom", &got);
}

#[test]
fn resource_and_family_filters() {
    let options = RenderOptions {
        resources: vec!["nodes".into()],
        store: StoreOptions {
            filter: MetricFilter::new(&[], &["kube_node_status_.*".into()], &[])
                .unwrap_or_else(|e| panic!("filter: {e}")),
            ..StoreOptions::default()
        },
        ..RenderOptions::default()
    };
    let got = render(&options, &["nodes.pb", "pods.pb"]);
    assert!(
        got.contains("kube_node_info{")
            && !got.contains("kube_pod_")
            && !got.contains("kube_node_status_")
    );
}

#[test]
fn json_lines_of_objects_and_watch_events() {
    let list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("pods.json")).unwrap_or_default())
            .unwrap_or_else(|e| panic!("pods.json: {e}"));
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert!(items.len() > 2);
    let mut lines = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let mut object = item.clone();
        object["apiVersion"] = "v1".into();
        object["kind"] = "Pod".into();
        // Every other object as a watch event line.
        let line = if index % 2 == 0 {
            object
        } else {
            serde_json::json!({"type": "ADDED", "object": object})
        };
        lines.push(line.to_string());
    }
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pods.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    run(&RenderOptions::default(), &[path], &mut out).unwrap_or_else(|e| panic!("render: {e}"));
    let from_lines = String::from_utf8(out).unwrap_or_default();
    assert_eq!(
        from_lines,
        render(&RenderOptions::default(), &["pods.json"])
    );
}
