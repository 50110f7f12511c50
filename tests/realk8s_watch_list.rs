//! `--watch-list auto` against the real kube-apiserver 1.35 of `../shared/realk8s`:
//! with the WatchList feature (1.35's default) the reflector fills its store from a
//! streaming list and never sends a list request; with the gate off
//! (`--feature-gates=WatchList=false`, answered with 422 Invalid exactly as 1.28
//! answers) it says so in one info line and lists instead. Either way the watch then
//! resumes where the initial state ended: an object created afterwards arrives.

mod replay_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{connect, ApiClient, ClientMetrics, ConnectOptions, Target};
use kube_state_exporter::reflector::{Reflector, ReflectorOptions, WatchListMode};
use kube_state_exporter::store::{Store, StoreOptions};
use replay_support::{eventually, subscriber, Captured};
use support::realk8s::{kubectl_available, RealK8s};

const DEADLINE: Duration = Duration::from_secs(30);

fn config_maps(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  k: v\n")
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

struct Outcome {
    metrics: ClientMetrics,
    logs: String,
}

/// Three ConfigMaps in `default` (the apiserver keeps one of its own in
/// kube-system), a reflector in `auto` mode until its store holds them, then a
/// fourth created while it watches.
async fn reflect_config_maps(k8s: &RealK8s) -> Outcome {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    k8s.kubectl(&["apply", "-f", "-"], Some(&config_maps(&["a", "b", "c"])));
    let options = ConnectOptions {
        kubeconfig: Some(k8s.kubeconfig()),
        ..ConnectOptions::default()
    };
    let client = ApiClient::new(connect(&options).await.expect("connects"));
    let store = Arc::new(Store::new(&["configmaps"], &StoreOptions::default()).unwrap());
    let metrics = ClientMetrics::unregistered();
    let resource = ResourceType::by_plural("configmaps").expect("configmaps are served");
    let reflector = Reflector::new(
        client,
        Target::new(resource, Some("default".to_string())),
        store.clone(),
        metrics.clone(),
        ReflectorOptions {
            watch_list: WatchListMode::Auto,
            ..ReflectorOptions::default()
        },
    );
    let task = tokio::spawn(reflector.run());
    let objects = |metrics: &ClientMetrics| {
        metrics
            .objects
            .with_label_values(&["configmaps/default"])
            .get()
    };
    let listed = eventually(DEADLINE, || {
        store.is_synced("configmaps") && objects(&metrics) == 3
    })
    .await;
    assert!(
        listed,
        "the store never held the 3 ConfigMaps ({})",
        objects(&metrics)
    );
    k8s.kubectl(&["apply", "-f", "-"], Some(&config_maps(&["d"])));
    let watched = eventually(DEADLINE, || objects(&metrics) == 4).await;
    task.abort();
    assert!(
        watched,
        "the ConfigMap created after the initial state never arrived"
    );
    Outcome {
        metrics,
        logs: captured.text(),
    }
}

fn lists(metrics: &ClientMetrics, mode: &str) -> u64 {
    metrics
        .lists_total
        .with_label_values(&["configmaps", mode])
        .get()
}

#[tokio::test]
async fn a_1_35_apiserver_serves_the_initial_state_as_a_streaming_list() {
    if !kubectl_available() {
        return;
    }
    let Some(k8s) = RealK8s::start() else {
        return;
    };
    let outcome = reflect_config_maps(&k8s).await;
    assert_eq!(lists(&outcome.metrics, "watch_list"), 1, "{}", outcome.logs);
    assert_eq!(lists(&outcome.metrics, "list"), 0, "{}", outcome.logs);
    assert!(
        !outcome.logs.contains("does not serve streaming lists"),
        "{}",
        outcome.logs
    );
}

#[tokio::test]
async fn without_the_watch_list_gate_the_refusal_falls_back_to_lists_in_one_line() {
    if !kubectl_available() {
        return;
    }
    let Some(k8s) = RealK8s::start_with_args("--feature-gates=WatchList=false") else {
        return;
    };
    let outcome = reflect_config_maps(&k8s).await;
    assert_eq!(lists(&outcome.metrics, "watch_list"), 0, "{}", outcome.logs);
    assert_eq!(lists(&outcome.metrics, "list"), 1, "{}", outcome.logs);
    let lines: Vec<&str> = outcome
        .logs
        .lines()
        .filter(|l| l.contains("resource=configmaps/default"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", outcome.logs);
    assert!(lines[0].contains(" INFO "), "{}", lines[0]);
    assert!(
        lines[0].contains("does not serve streaming lists"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("WatchList feature gate"), "{}", lines[0]);
    assert_eq!(
        outcome
            .metrics
            .list_total
            .with_label_values(&["configmaps", "error"])
            .get(),
        0
    );
}
