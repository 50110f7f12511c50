//! `synth` writes recordings whose every body decodes, whose counts follow the flags,
//! whose owners exist, whose pods show the promised mix of states, and which are
//! byte-identical for a seed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use prost::Message;

use kube_state_exporter::api::core::v1::Pod;
use kube_state_exporter::api::envelope::{self, Body};
use kube_state_exporter::api::meta::v1::WatchEvent;
use kube_state_exporter::api::{Object, ObjectList};
use kube_state_exporter::synth::{generate, Summary, SynthError, SynthOptions};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("kse-synth-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options(nodes: u32, pods_per_node: u32, seed: u64) -> SynthOptions {
    SynthOptions {
        nodes,
        pods_per_node,
        seed,
        ..SynthOptions::default()
    }
}

#[derive(Debug)]
struct Capture {
    body: String,
    path: String,
    content_type: String,
    bytes: u64,
}

fn captures(dir: &Path) -> Vec<Capture> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Capture {
            body: c["body"].as_str().unwrap().to_string(),
            path: c["path"].as_str().unwrap().to_string(),
            content_type: c["content_type"].as_str().unwrap().to_string(),
            bytes: c["bytes"].as_u64().unwrap(),
        })
        .collect()
}

fn read_body(dir: &Path, capture: &Capture) -> Bytes {
    let body = std::fs::read(dir.join(&capture.body)).unwrap();
    assert_eq!(
        body.len() as u64,
        capture.bytes,
        "{} size in the manifest",
        capture.body
    );
    Bytes::from(body)
}

/// Every list in the recording, by plural, as decoded objects (metadata-only lists
/// give their metadata count).
struct Decoded {
    lists: HashMap<String, Body>,
    watches: HashMap<String, Vec<(String, Body, u64)>>,
    list_rv: HashMap<String, u64>,
}

fn plural_of(path: &str) -> String {
    path.split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

fn rv_of(body: &Body) -> u64 {
    let meta = match body {
        Body::Object(object) => object.metadata().cloned(),
        Body::PartialObjectMetadata(p) => p.metadata.clone(),
        other => panic!("watch object is not an object: {other:?}"),
    };
    meta.and_then(|m| m.resource_version)
        .expect("every watch object carries a resourceVersion")
        .parse()
        .unwrap()
}

fn decode_all(dir: &Path) -> Decoded {
    let mut decoded = Decoded {
        lists: HashMap::new(),
        watches: HashMap::new(),
        list_rv: HashMap::new(),
    };
    for capture in captures(dir) {
        let body = read_body(dir, &capture);
        let plural = plural_of(&capture.path);
        if capture.path.contains("watch=1") {
            assert_eq!(
                capture.content_type,
                "application/vnd.kubernetes.protobuf;stream=watch"
            );
            let mut events = Vec::new();
            let mut rest = body.clone();
            while !rest.is_empty() {
                assert!(rest.len() >= 4, "{}: frame header cut", capture.body);
                let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let frame = rest.slice(4..4 + len);
                rest = rest.slice(4 + len..);
                let event = WatchEvent::decode(frame).unwrap();
                let raw = event.object.unwrap().raw.unwrap();
                let object = envelope::decode(raw)
                    .unwrap_or_else(|e| panic!("{}: watch object: {e}", capture.body));
                let rv = rv_of(&object);
                events.push((event.r#type.unwrap(), object, rv));
            }
            decoded.watches.insert(plural, events);
        } else {
            assert_eq!(capture.content_type, "application/vnd.kubernetes.protobuf");
            let list = envelope::decode(body.clone())
                .unwrap_or_else(|e| panic!("{} ({}): {e}", capture.body, capture.path));
            let rv = match &list {
                Body::List(list) => list.list_meta().and_then(|m| m.resource_version.clone()),
                Body::PartialObjectMetadataList(list) => list
                    .metadata
                    .as_ref()
                    .and_then(|m| m.resource_version.clone()),
                other => panic!("{}: not a list: {other:?}", capture.body),
            };
            decoded
                .list_rv
                .insert(plural.clone(), rv.unwrap().parse().unwrap());
            decoded.lists.insert(plural, list);
        }
    }
    decoded
}

fn items(decoded: &Decoded, plural: &str) -> Vec<Object> {
    match decoded.lists.get(plural) {
        Some(Body::List(list)) => list.clone().into_items(),
        other => panic!("{plural}: {other:?}"),
    }
}

fn list_len(decoded: &Decoded, plural: &str) -> usize {
    match decoded.lists.get(plural) {
        Some(Body::List(list)) => list.clone().into_items().len(),
        Some(Body::PartialObjectMetadataList(list)) => list.items.len(),
        other => panic!("{plural}: {other:?}"),
    }
}

fn pods(decoded: &Decoded) -> Vec<Pod> {
    items(decoded, "pods")
        .into_iter()
        .map(|o| match o {
            Object::Pod(pod) => *pod,
            other => panic!("not a pod: {other:?}"),
        })
        .collect()
}

fn generate_into(dir: &TempDir, options: SynthOptions) -> Summary {
    generate(options, &dir.0).unwrap()
}

#[test]
fn small_cluster_decodes_and_counts_follow_the_flags() {
    let dir = TempDir::new("small");
    let summary = generate_into(&dir, options(3, 4, 7));
    let decoded = decode_all(&dir.0);
    assert_eq!(list_len(&decoded, "nodes"), 3);
    assert_eq!(list_len(&decoded, "pods"), 12);
    assert_eq!(summary.count("pods"), 12);
    for (plural, count) in &summary.objects {
        assert_eq!(list_len(&decoded, plural) as u64, *count, "{plural}");
    }
    // A list and a watch for each of the 11 kinds.
    assert_eq!(decoded.lists.len(), 11);
    assert_eq!(decoded.watches.len(), 11);
    assert_eq!(summary.bodies, 22);
    for plural in [
        "namespaces",
        "deployments",
        "replicasets",
        "daemonsets",
        "services",
        "configmaps",
        "secrets",
    ] {
        assert!(list_len(&decoded, plural) > 0, "{plural} is empty");
    }
    // Secrets and configmaps are metadata-only, as `record` captures them.
    assert!(matches!(
        decoded.lists["secrets"],
        Body::PartialObjectMetadataList(_)
    ));
    assert!(matches!(
        decoded.lists["configmaps"],
        Body::PartialObjectMetadataList(_)
    ));
    let rvs: HashSet<u64> = decoded.list_rv.values().copied().collect();
    assert_eq!(rvs, HashSet::from([summary.list_resource_version]));
}

#[test]
fn streamed_list_matches_seal_over_the_whole_list() {
    let dir = TempDir::new("seal");
    generate_into(&dir, options(4, 6, 3));
    for capture in captures(&dir.0) {
        if capture.path.contains("watch=1") {
            continue;
        }
        let body = read_body(&dir.0, &capture);
        let opened = envelope::open(body.clone()).unwrap();
        let resealed = envelope::seal(&opened.api_version, &opened.kind, opened.raw.clone());
        assert_eq!(resealed, body.to_vec(), "{}", capture.path);
        if let Body::List(ObjectList::Pod(list)) = envelope::decode(body.clone()).unwrap() {
            assert_eq!(list.items.len(), 24);
            let again = envelope::seal(
                &opened.api_version,
                &opened.kind,
                Bytes::from(list.encode_to_vec()),
            );
            assert_eq!(
                again,
                body.to_vec(),
                "{}: re-encoding the decoded list",
                capture.path
            );
        }
    }
}

#[test]
fn every_owner_reference_points_at_a_generated_controller() {
    let dir = TempDir::new("owners");
    generate_into(&dir, options(20, 10, 11));
    let decoded = decode_all(&dir.0);
    let mut controllers: HashMap<String, (String, String)> = HashMap::new();
    for plural in [
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "deployments",
    ] {
        for object in items(&decoded, plural) {
            let meta = object.metadata().unwrap();
            let kind = object.resource().kind.to_string();
            controllers.insert(
                meta.uid.clone().unwrap(),
                (kind, meta.name.clone().unwrap()),
            );
        }
    }
    let mut owned_by = BTreeMap::new();
    for pod in pods(&decoded) {
        let meta = pod.metadata.unwrap();
        for owner in &meta.owner_references {
            let (kind, name) = controllers
                .get(owner.uid.as_deref().unwrap())
                .unwrap_or_else(|| panic!("pod {:?}: owner {owner:?} not generated", meta.name));
            assert_eq!(Some(kind.as_str()), owner.kind.as_deref());
            assert_eq!(Some(name.as_str()), owner.name.as_deref());
            assert_eq!(owner.controller, Some(true));
            *owned_by.entry(kind.clone()).or_insert(0) += 1;
        }
    }
    for kind in ["ReplicaSet", "StatefulSet", "DaemonSet", "Job"] {
        assert!(
            owned_by.get(kind).copied().unwrap_or(0) > 0,
            "no pod owned by a {kind}: {owned_by:?}"
        );
    }
    // Daemon pods: one per node per DaemonSet.
    assert_eq!(owned_by["DaemonSet"], 20 * list_len(&decoded, "daemonsets"));
    for object in items(&decoded, "replicasets") {
        let meta = object.metadata().unwrap();
        let owner = &meta.owner_references[0];
        let (kind, name) = &controllers[owner.uid.as_deref().unwrap()];
        assert_eq!(kind, "Deployment");
        assert_eq!(owner.name.as_deref(), Some(name.as_str()));
    }
}

#[test]
fn pods_show_the_promised_mix_of_states_and_sizes() {
    let dir = TempDir::new("mix");
    generate_into(&dir, options(50, 20, 5));
    let decoded = decode_all(&dir.0);
    let pods = pods(&decoded);
    assert_eq!(pods.len(), 1000);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut note = |what: &'static str| *seen.entry(what).or_insert(0) += 1;
    for pod in &pods {
        let status = pod.status.as_ref().unwrap();
        let phase = status.phase.as_deref().unwrap();
        let mut waiting = Vec::new();
        let mut last = Vec::new();
        for c in &status.container_statuses {
            let state = c.state.as_ref().unwrap();
            if let Some(w) = &state.waiting {
                waiting.push(w.reason.clone().unwrap());
            }
            if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
                last.push(t.reason.clone().unwrap());
            }
        }
        match phase {
            "Running" => note("Running"),
            "Succeeded" => note("Succeeded"),
            "Pending" => note("Pending"),
            "Failed" => note("Failed"),
            other => panic!("phase {other}"),
        }
        if waiting.iter().any(|r| r == "CrashLoopBackOff")
            && status
                .container_statuses
                .iter()
                .any(|c| c.restart_count.unwrap() > 0)
            && last.iter().any(|r| r == "Error")
        {
            note("CrashLoopBackOff");
        }
        if last.iter().any(|r| r == "OOMKilled") {
            note("OOMKilled");
        }
        if waiting.iter().any(|r| r == "ContainerCreating") {
            note("ContainerCreating");
        }
        if waiting.iter().any(|r| r == "ImagePullBackOff") {
            note("ImagePullBackOff");
        }
        if phase == "Failed" && status.reason.as_deref() == Some("Evicted") {
            note("Evicted");
        }
        if phase == "Succeeded"
            && status.container_statuses.iter().all(|c| {
                c.state
                    .as_ref()
                    .unwrap()
                    .terminated
                    .as_ref()
                    .and_then(|t| t.reason.as_deref())
                    == Some("Completed")
            })
        {
            note("Completed");
        }
        let unschedulable = status.conditions.iter().any(|c| {
            c.r#type.as_deref() == Some("PodScheduled")
                && c.status.as_deref() == Some("False")
                && c.reason.as_deref() == Some("Unschedulable")
        });
        if phase == "Pending" && unschedulable {
            assert!(pod.spec.as_ref().unwrap().node_name.is_none());
            note("Unschedulable");
        }
        if !pod.spec.as_ref().unwrap().init_containers.is_empty() {
            note("init containers");
        }
        let containers = pod.spec.as_ref().unwrap().containers.len();
        assert!((1..=3).contains(&containers), "{containers} containers");
        let labels = pod.metadata.as_ref().unwrap().labels.len();
        assert!((5..=8).contains(&labels), "{labels} labels");
    }
    for state in [
        "Running",
        "Succeeded",
        "Pending",
        "Failed",
        "CrashLoopBackOff",
        "OOMKilled",
        "ContainerCreating",
        "ImagePullBackOff",
        "Evicted",
        "Completed",
        "Unschedulable",
        "init containers",
    ] {
        assert!(
            seen.get(state).copied().unwrap_or(0) > 0,
            "no {state} pod: {seen:?}"
        );
    }
    assert!(seen["Running"] > 800, "{seen:?}");
    let bytes: usize = pods.iter().map(|p| p.encoded_len()).sum();
    let average = bytes / pods.len();
    assert!(
        (3_000..=7_000).contains(&average),
        "average pod is {average} bytes"
    );
    // Nodes: some tainted, some not Ready.
    let nodes = items(&decoded, "nodes");
    let not_ready = nodes
        .iter()
        .filter(|n| match n {
            Object::Node(node) => node.status.as_ref().unwrap().conditions.iter().any(|c| {
                c.r#type.as_deref() == Some("Ready") && c.status.as_deref() != Some("True")
            }),
            _ => false,
        })
        .count();
    assert!(not_ready >= 1);
}

#[test]
fn watches_churn_with_increasing_resource_versions_and_end_with_a_bookmark() {
    let dir = TempDir::new("watch");
    let summary = generate_into(
        &dir,
        SynthOptions {
            churn_per_mille: 200,
            ..options(20, 10, 2)
        },
    );
    let decoded = decode_all(&dir.0);
    let list_rv = summary.list_resource_version;
    let mut types_seen = HashSet::new();
    for (plural, events) in &decoded.watches {
        let mut last = list_rv;
        let (final_type, _, final_rv) = events.last().unwrap();
        assert_eq!(final_type, "BOOKMARK", "{plural}");
        assert_eq!(*final_rv, summary.churn.last_resource_version, "{plural}");
        for (event_type, _, rv) in events {
            if event_type == "BOOKMARK" {
                assert!(*rv >= last, "{plural}: bookmark at {rv} after {last}");
            } else {
                assert!(*rv > last, "{plural}: {event_type} at {rv} after {last}");
            }
            last = *rv;
            types_seen.insert((plural.clone(), event_type.clone()));
        }
    }
    for wanted in ["ADDED", "MODIFIED", "DELETED"] {
        assert!(
            types_seen.contains(&("pods".to_string(), wanted.to_string())),
            "no pod {wanted}"
        );
    }
    assert!(types_seen.contains(&("nodes".to_string(), "MODIFIED".to_string())));
    let pod_events = decoded.watches["pods"].len() as u64 - 1;
    assert_eq!(pod_events, summary.churn.pod_events);
    assert_eq!(pod_events, 40, "20 % of 200 pods");
    // Deleted pods were listed or added before; added pods are new.
    let listed: HashSet<String> = pods(&decoded)
        .into_iter()
        .map(|p| p.metadata.unwrap().uid.unwrap())
        .collect();
    let mut added = HashSet::new();
    for (event_type, object, _) in &decoded.watches["pods"] {
        if event_type == "BOOKMARK" {
            continue;
        }
        let Body::Object(Object::Pod(pod)) = object else {
            panic!("pod watch carries {object:?}")
        };
        let uid = pod.metadata.as_ref().unwrap().uid.clone().unwrap();
        match event_type.as_str() {
            "ADDED" => assert!(added.insert(uid.clone()) && !listed.contains(&uid)),
            "MODIFIED" | "DELETED" => assert!(listed.contains(&uid) || added.contains(&uid)),
            _ => {}
        }
    }
}

#[test]
fn a_seed_gives_identical_bytes_and_another_seed_differs() {
    let first = TempDir::new("seed-a");
    let second = TempDir::new("seed-b");
    let third = TempDir::new("seed-c");
    generate_into(&first, options(5, 6, 42));
    generate_into(&second, options(5, 6, 42));
    generate_into(&third, options(5, 6, 43));
    let files = |dir: &TempDir| {
        let mut names: Vec<String> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let names = files(&first);
    assert_eq!(names, files(&second));
    assert!(!names.iter().any(|n| n.ends_with(".part")), "{names:?}");
    for name in &names {
        assert_eq!(
            std::fs::read(first.0.join(name)).unwrap(),
            std::fs::read(second.0.join(name)).unwrap(),
            "{name} differs between runs with one seed"
        );
    }
    let pods_body = captures(&first.0)
        .into_iter()
        .find(|c| c.path == "/api/v1/pods")
        .unwrap()
        .body;
    assert_ne!(
        std::fs::read(first.0.join(&pods_body)).unwrap(),
        std::fs::read(third.0.join(&pods_body)).unwrap()
    );
}

#[test]
fn zero_nodes_is_refused() {
    let dir = TempDir::new("zero");
    let err = generate(options(0, 10, 1), &dir.0).unwrap_err();
    assert!(matches!(err, SynthError::NoNodes));
    assert_eq!(err.to_string(), "--nodes must be at least 1");
}

#[test]
fn manifest_paths_are_what_the_replay_server_reads() {
    let dir = TempDir::new("paths");
    generate_into(&dir, options(2, 3, 1));
    let caps = captures(&dir.0);
    let paths: Vec<&str> = caps.iter().map(|c| c.path.as_str()).collect();
    assert!(paths.contains(&"/api/v1/pods"));
    assert!(paths.contains(&"/apis/apps/v1/replicasets"));
    assert!(paths.contains(&"/apis/batch/v1/jobs"));
    let list_rv = decode_all(&dir.0).list_rv["pods"];
    assert!(paths.contains(&format!("/api/v1/pods?watch=1&resourceVersion={list_rv}&allowWatchBookmarks=true&timeoutSeconds=30").as_str()));
    // Lists come first, then watches, in request order with numbered bodies.
    for (i, capture) in caps.iter().enumerate() {
        assert_eq!(capture.body, format!("{:04}.body", i + 1));
        assert_eq!(capture.path.contains("watch=1"), i >= caps.len() / 2);
    }
}

#[test]
fn the_subcommand_writes_a_recording_and_reports_it() {
    let dir = TempDir::new("cli");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args([
            "synth",
            "--nodes",
            "2",
            "--pods-per-node",
            "3",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&dir.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("(22 bodies,"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pods", "6"]),
        "{stdout}"
    );
    assert_eq!(list_len(&decode_all(&dir.0), "pods"), 6);

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args([
            "synth",
            "--nodes",
            "2",
            "--pods-per-node",
            "3",
            "--churn",
            "150",
            "--out",
        ])
        .arg(&dir.0)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "synth: --churn must be between 0 and 100 (percent), got 150"
    );
}

#[test]
fn render_reads_a_synth_recording() {
    let dir = TempDir::new("render");
    let summary = generate_into(&dir, options(5, 6, 8));
    assert_eq!(summary.count("pods"), 30);
    // Pods and nodes are the resources with metrics so far.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .arg("render")
        .arg(&dir.0)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let samples = |family: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{family}{{")))
            .count() as u64
    };
    assert_eq!(samples("kube_pod_info"), 30);
    assert_eq!(samples("kube_node_info"), 5);
}

fn names_and_uids(body: &Body) -> Vec<(Option<String>, Option<String>)> {
    let metas: Vec<_> = match body {
        Body::List(list) => list
            .clone()
            .into_items()
            .iter()
            .map(|o| o.metadata().cloned().unwrap_or_default())
            .collect(),
        Body::PartialObjectMetadataList(list) => list
            .items
            .iter()
            .map(|o| o.metadata.clone().unwrap_or_default())
            .collect(),
        other => panic!("not a list: {other:?}"),
    };
    metas.into_iter().map(|m| (m.name, m.uid)).collect()
}

#[test]
fn json_twins_hold_the_same_objects_and_events() {
    let dir = TempDir::new("json");
    let summary = generate_into(
        &dir,
        SynthOptions {
            json: true,
            churn_per_mille: 200,
            ..options(6, 5, 4)
        },
    );
    assert_eq!(summary.bodies, 44);
    let caps = captures(&dir.0);
    let mut protobuf_lists = HashMap::new();
    let mut protobuf_watches: HashMap<String, Vec<String>> = HashMap::new();
    let mut json_checked = 0;
    for capture in &caps {
        let body = read_body(&dir.0, capture);
        let watch = capture.path.contains("watch=1");
        let plural = plural_of(&capture.path);
        match (capture.content_type.starts_with("application/json"), watch) {
            (false, false) => {
                protobuf_lists.insert(plural, envelope::decode(body).unwrap());
            }
            (false, true) => {
                let mut types = Vec::new();
                let mut rest = body;
                while rest.len() >= 4 {
                    let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                    let event = WatchEvent::decode(rest.slice(4..4 + len)).unwrap();
                    types.push(event.r#type.unwrap());
                    rest = rest.slice(4 + len..);
                }
                protobuf_watches.insert(plural, types);
            }
            (true, false) => {
                let decoded = kube_state_exporter::api::json::decode(&body)
                    .unwrap_or_else(|e| panic!("{} ({}): {e}", capture.body, capture.path));
                assert_eq!(
                    names_and_uids(&decoded),
                    names_and_uids(&protobuf_lists[&plural]),
                    "{plural}: JSON and protobuf lists differ"
                );
                json_checked += 1;
            }
            (true, true) => {
                let types: Vec<String> = body
                    .split(|b| *b == b'\n')
                    .filter(|line| !line.is_empty())
                    .map(|line| {
                        kube_state_exporter::api::json::decode_watch_event(line)
                            .unwrap_or_else(|e| panic!("{}: {e}", capture.body))
                            .event_type
                    })
                    .collect();
                assert_eq!(types, protobuf_watches[&plural], "{plural}");
                json_checked += 1;
            }
        }
    }
    assert_eq!(json_checked, 22);
    assert!(protobuf_watches["pods"].len() > 1);
}
