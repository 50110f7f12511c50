//! `record` against the replay apiserver, then replay of what it recorded: the
//! round trip keeps every object and event.

mod replay_support;

use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::Format;
use kube_state_exporter::replay::record::{record, RecordOptions};
use kube_state_exporter::replay::{Faults, Recording, ReplayServer, ReplayState};
use replay_support::{bounded, plain_client, recording};

#[tokio::test]
async fn a_recording_of_the_replay_replays_to_the_same_final_state() {
    let original = recording();
    let (addr, _server) = ReplayServer::start(&original, Faults::default())
        .await
        .unwrap();
    let resources = ["pods", "nodes", "secrets"]
        .map(|p| ResourceType::by_plural(p).unwrap())
        .to_vec();
    let options = RecordOptions {
        resources,
        duration: Duration::from_secs(1),
    };
    let recorded = bounded(
        Duration::from_secs(30),
        record(&plain_client(addr), &options),
    )
    .await
    .unwrap();

    let notes: Vec<&str> = recorded
        .manifest
        .captures
        .iter()
        .map(|c| c.note.as_str())
        .collect();
    assert!(
        notes.contains(&"list pods protobuf") && notes.contains(&"watch pods json"),
        "{notes:?}"
    );
    assert_eq!(
        recorded.manifest.captures.len(),
        3 * 4,
        "two lists and two watches per resource"
    );
    let secrets = recorded
        .manifest
        .captures
        .iter()
        .find(|c| c.note == "list secrets protobuf")
        .unwrap();
    assert!(
        secrets.accept.contains("as=PartialObjectMetadataList"),
        "secret values are never recorded"
    );

    // Through the files and back.
    let dir = tempfile::tempdir().unwrap();
    recorded.save(dir.path()).unwrap();
    let reloaded = Recording::load(dir.path()).unwrap();
    let before = ReplayState::new(&original, Faults::default());
    let after = ReplayState::new(&reloaded, Faults::default());
    for plural in ["pods", "nodes", "secrets"] {
        for format in [Format::Protobuf, Format::Json] {
            assert_eq!(
                after.final_state(plural, format).unwrap().0,
                before.final_state(plural, format).unwrap().0,
                "{plural} {format:?}"
            );
        }
    }
}

#[test]
fn the_record_command_writes_a_loadable_recording() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let original = recording();
    let (addr, server) = runtime
        .block_on(ReplayServer::start(&original, Faults::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rec");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args([
            "record",
            "--apiserver",
            &format!("http://{addr}"),
            "--resources",
            "nodes,deployments",
            "--duration",
            "1s",
            "--out",
        ])
        .arg(&out)
        .env("KUBECONFIG", dir.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .status()
        .unwrap();
    assert!(status.success());
    let reloaded = Recording::load(&out).unwrap();
    assert_eq!(reloaded.manifest.captures.len(), 8);
    assert_eq!(
        reloaded
            .manifest
            .server_version
            .as_ref()
            .and_then(|v| v["gitVersion"].as_str()),
        Some("v1.28.7")
    );
    drop(server);
}
