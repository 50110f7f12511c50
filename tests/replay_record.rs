//! `record` against the replay apiserver, then replay of what it recorded: the
//! round trip keeps every object and event.

mod replay_support;

use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::Format;
use kube_state_exporter::replay::record::{record, RecordOptions};
use kube_state_exporter::replay::{Faults, Recording, ReplayServer, ReplayState};
use replay_support::{bounded, plain_client, recording};

/// A value planted in every Secret of the original (the demo recording itself holds
/// none: tests/recording_secrets.rs), so that there is something `record` must not copy.
const PLANTED: &str = "planted-secret-value-7f3a";

fn with_planted_secret_values(mut recording: Recording) -> Recording {
    use base64::Engine;
    use kube_state_exporter::api::core::v1::SecretList;
    use kube_state_exporter::api::envelope;
    use prost::Message;
    let encoded = base64::engine::general_purpose::STANDARD.encode(PLANTED);
    for capture in &mut recording.manifest.captures {
        let path = capture.path.split('?').next().unwrap_or_default();
        if !path.ends_with("/secrets") || capture.path.contains("watch=") {
            continue;
        }
        let body = recording.bodies[&capture.body].clone();
        let planted = if capture.content_type.contains("json") {
            let mut list: serde_json::Value = serde_json::from_slice(&body).unwrap();
            if list["kind"] != "SecretList" {
                continue;
            }
            for item in list["items"].as_array_mut().into_iter().flatten() {
                item["data"]["password"] = serde_json::Value::String(encoded.clone());
            }
            serde_json::to_vec(&list).unwrap()
        } else {
            let opened = envelope::open(body).unwrap();
            if opened.kind != "SecretList" {
                continue;
            }
            let mut list = SecretList::decode(opened.raw).unwrap();
            for item in &mut list.items {
                item.data
                    .insert("password".to_string(), PLANTED.as_bytes().to_vec());
            }
            envelope::seal(
                &opened.api_version,
                "SecretList",
                list.encode_to_vec().into(),
            )
        };
        capture.bytes = planted.len() as u64;
        recording
            .bodies
            .insert(capture.body.clone(), bytes::Bytes::from(planted));
    }
    recording
}

#[tokio::test]
async fn a_recording_of_the_replay_replays_to_the_same_final_state() {
    let original = with_planted_secret_values(recording());
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
        2 * 4 + 2,
        "two lists and two watches of pods and nodes; one Table list and watch of secrets"
    );
    let secrets: Vec<_> = recorded
        .manifest
        .captures
        .iter()
        .filter(|c| c.note.starts_with("list secrets") || c.note.starts_with("watch secrets"))
        .collect();
    assert_eq!(secrets.len(), 2);
    assert!(
        secrets
            .iter()
            .all(|c| c.accept.starts_with("application/json;as=Table")
                && c.path.contains("includeObject=Metadata")),
        "secrets are recorded as server-side Tables: {secrets:?}"
    );
    // Not one value of the recorded secrets reaches the new recording.
    let mut values = secret_values(&original);
    values.push(PLANTED.to_string());
    assert!(
        !values.is_empty(),
        "the original recording has secret values to look for"
    );
    for (name, body) in &recorded.bodies {
        let text = String::from_utf8_lossy(body);
        for value in &values {
            assert!(
                !text.contains(value.as_str()),
                "{name} holds a secret value"
            );
        }
    }

    // Through the files and back.
    let dir = tempfile::tempdir().unwrap();
    recorded.save(dir.path()).unwrap();
    let reloaded = Recording::load(dir.path()).unwrap();
    let before = ReplayState::new(&original, Faults::default());
    let after = ReplayState::new(&reloaded, Faults::default());
    for (plural, formats) in [
        ("pods", &[Format::Protobuf, Format::Json][..]),
        ("nodes", &[Format::Protobuf, Format::Json][..]),
        ("secrets", &[Format::Json][..]),
    ] {
        for &format in formats {
            assert_eq!(
                after.final_state(plural, format).unwrap().0,
                before.final_state(plural, format).unwrap().0,
                "{plural} {format:?}"
            );
        }
    }
}

/// Every value of every Secret in the recording's JSON secret lists.
fn secret_values(recording: &Recording) -> Vec<String> {
    let mut values = Vec::new();
    for capture in &recording.manifest.captures {
        if !capture.note.starts_with("list secrets json") {
            continue;
        }
        let Some(body) = recording.bodies.get(&capture.body) else {
            continue;
        };
        let Ok(list) = serde_json::from_slice::<serde_json::Value>(body) else {
            continue;
        };
        for item in list["items"].as_array().into_iter().flatten() {
            for value in item["data"]
                .as_object()
                .into_iter()
                .flat_map(|d| d.values())
            {
                values.extend(
                    value
                        .as_str()
                        .filter(|value| !value.is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    values
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
