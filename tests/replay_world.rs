//! The replay world built from the real recording: initial lists and watch timelines.

mod replay_support;

use kube_state_exporter::client::Format;
use kube_state_exporter::replay::world::{build, ChangeKind};
use kube_state_exporter::replay::{Faults, ReplayState};

#[test]
fn pods_timeline_has_the_recorded_life_cycle() {
    let worlds = build(&replay_support::recording());
    let pods = worlds["pods"].protobuf.as_ref().unwrap();
    assert_eq!(pods.initial_rv, 313);
    assert_eq!(pods.initial.len(), 10);
    let kinds: Vec<ChangeKind> = pods.events.iter().map(|c| c.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == ChangeKind::Added).count(), 2);
    assert_eq!(
        kinds.iter().filter(|k| **k == ChangeKind::Deleted).count(),
        2
    );
    assert_eq!(
        kinds.last(),
        Some(&ChangeKind::Bookmark),
        "the watch ended with a bookmark"
    );
    // The JSON twin of the watch tells the same story.
    let json = worlds["pods"].json.as_ref().unwrap();
    let json_rvs: Vec<u64> = json.events.iter().map(|c| c.rv).collect();
    let protobuf_rvs: Vec<u64> = pods.events.iter().map(|c| c.rv).collect();
    assert_eq!(json_rvs, protobuf_rvs);
    let nodes = worlds["nodes"].protobuf.as_ref().unwrap();
    assert_eq!(nodes.initial.len(), 2);
    assert!(
        nodes
            .events
            .iter()
            .filter(|c| c.kind == ChangeKind::Modified)
            .count()
            >= 2
    );
}

#[test]
fn the_final_pod_state_matches_the_list_recorded_after_the_script() {
    // Capture 0075 is the pod list taken after the watch; replaying the watch on the
    // first list must give exactly its objects and resourceVersions.
    let recording = replay_support::recording();
    let state = ReplayState::new(&recording, Faults::default());
    let (replayed, _) = state.final_state("pods", Format::Protobuf).unwrap();
    let after = recording.bodies["0075.body"].clone();
    let envelope = kube_state_exporter::api::envelope::open(after).unwrap();
    let (_, items) = kube_state_exporter::replay::wire::split_list(&envelope.raw).unwrap();
    let mut recorded: Vec<(String, String)> = items
        .iter()
        .map(|raw| {
            let meta = kube_state_exporter::replay::wire::object_meta(raw).unwrap();
            (meta.uid.unwrap(), meta.resource_version.unwrap())
        })
        .collect();
    recorded.sort();
    assert_eq!(replayed, recorded);
    let (json, _) = state.final_state("pods", Format::Json).unwrap();
    assert_eq!(json, recorded);
}
