//! Reflectors against the replay apiserver serving the real 1.28 recording: after
//! every fault the store converges to the true final state (same objects, same
//! resourceVersions as a fresh list after all recorded events), and the failure is
//! visible in the self-metrics.

mod replay_support;

use std::sync::Arc;
use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{ClientMetrics, Format, Target};
use kube_state_exporter::reflector::{Reflector, ReflectorOptions, WatchListMode};
use kube_state_exporter::replay::{Faults, ReplayHandle, ReplayServer};
use replay_support::{eventually, fast_options, plain_client, recording, MapSink};

const CONVERGE: Duration = Duration::from_secs(20);

struct Run {
    server: ReplayHandle,
    sink: Arc<MapSink>,
    metrics: ClientMetrics,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Run {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn run(plurals: &[&str], faults: Faults, options: ReflectorOptions) -> Run {
    let (addr, server) = ReplayServer::start(&recording(), faults).await.unwrap();
    let client = plain_client(addr);
    let sink = Arc::new(MapSink::default());
    let metrics = ClientMetrics::unregistered();
    let tasks = plurals
        .iter()
        .map(|plural| {
            let target = Target::new(ResourceType::by_plural(plural).unwrap(), None);
            let reflector = Reflector::new(
                client.clone(),
                target,
                sink.clone(),
                metrics.clone(),
                options.clone(),
            );
            tokio::spawn(reflector.run())
        })
        .collect();
    Run {
        server,
        sink,
        metrics,
        tasks,
    }
}

impl Run {
    fn truth(&self, plural: &str) -> Vec<(String, String)> {
        self.server.final_state(plural, Format::Protobuf).unwrap().0
    }

    /// Waits (bounded) until the store holds what a fresh list in `format` would.
    async fn converges_as(&self, plural: &str, format: Format) {
        let truth = self.server.final_state(plural, format).unwrap().0;
        assert!(!truth.is_empty(), "the recording has {plural}");
        let ok = eventually(CONVERGE, || self.sink.snapshot(plural) == truth).await;
        assert!(
            ok,
            "{plural} did not converge ({format:?}):\n store {:?}\n truth {:?}",
            self.sink.snapshot(plural),
            truth
        );
    }

    async fn converges(&self, plural: &str) {
        self.converges_as(plural, Format::Protobuf).await;
    }

    fn count(&self, counter: &prometheus::IntCounterVec, labels: &[&str]) -> u64 {
        counter.with_label_values(labels).get()
    }

    /// Waits (bounded) until `counter{labels}` reaches `at_least`: each fault shows in
    /// the self-metrics, counted when it happens, which may be after the store converged.
    async fn counts(&self, counter: &prometheus::IntCounterVec, labels: &[&str], at_least: u64) {
        use prometheus::core::Collector;
        let reached = eventually(CONVERGE, || self.count(counter, labels) >= at_least).await;
        let name = counter
            .desc()
            .first()
            .map_or(String::new(), |desc| desc.fq_name.clone());
        assert!(
            reached,
            "{name}{labels:?} is {} after {CONVERGE:?}, want at least {at_least}",
            self.count(counter, labels)
        );
    }
}

/// Pod reflectors with `options` against the recording with `faults` on pods, once their
/// store holds what a fresh list would (`format`).
async fn pods_converged(faults: Faults, options: ReflectorOptions, format: Format) -> Run {
    let run = run(&["pods"], pods(faults), options).await;
    run.converges_as("pods", format).await;
    run
}

#[tokio::test]
async fn converges_without_faults_with_paged_lists_and_bookmarks() {
    let run = run(
        &["pods", "nodes", "secrets"],
        Faults::default(),
        fast_options(),
    )
    .await;
    run.converges("pods").await;
    run.converges("nodes").await;
    run.converges("secrets").await;
    let requests = run.server.requests();
    assert!(
        requests.iter().any(|r| r
            .path_and_query
            .starts_with("/api/v1/pods?limit=3&continue=")),
        "lists are paged"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path_and_query.starts_with("/api/v1/secrets")
                && r.accept.contains("as=PartialObjectMetadataList")),
        "secrets are listed metadata-only"
    );
    run.counts(&run.metrics.bookmarks_total, &["pods"], 1).await;
    assert_eq!(run.count(&run.metrics.list_total, &["pods", "error"]), 0);
    assert!(run.count(&run.metrics.list_total, &["pods", "success"]) >= 1);
    assert_eq!(
        run.count(&run.metrics.decode_errors_total, &["pods", "protobuf"]),
        0
    );
    let truth = run.truth("pods").len() as i64;
    assert_eq!(
        run.metrics.objects.with_label_values(&["pods"]).get(),
        truth
    );
    assert!(
        run.metrics
            .last_sync_timestamp_seconds
            .with_label_values(&["pods"])
            .get()
            > 0.0
    );
}

fn pods(faults: Faults) -> Faults {
    Faults {
        resource: Some("pods".into()),
        ..faults
    }
}

#[tokio::test]
async fn recovers_from_a_watch_cut_mid_frame() {
    let run = pods_converged(
        Faults {
            cut_watch_after: Some(5),
            ..Faults::default()
        },
        fast_options(),
        Format::Protobuf,
    )
    .await;
    run.counts(&run.metrics.watch_total, &["pods", "error"], 1)
        .await;
    assert_eq!(
        run.sink.inits("pods"),
        1,
        "a cut watch resumes from its resourceVersion, no relist"
    );
}

#[tokio::test]
async fn relists_after_an_in_band_410() {
    let run = pods_converged(
        Faults {
            watch_expired_after: Some(4),
            ..Faults::default()
        },
        fast_options(),
        Format::Protobuf,
    )
    .await;
    run.counts(&run.metrics.relists_total, &["pods"], 1).await;
    // Each waits for its own event: the relist is counted when it starts, the failed
    // watch before that, and the second Init only arrives with the relist's first page.
    run.counts(&run.metrics.watch_total, &["pods", "error"], 1)
        .await;
    assert!(eventually(CONVERGE, || run.sink.inits("pods") >= 2).await);
}

#[tokio::test]
async fn restarts_a_list_whose_continue_token_expired() {
    let run = pods_converged(
        Faults {
            expired_continue: true,
            ..Faults::default()
        },
        fast_options(),
        Format::Protobuf,
    )
    .await;
    let requests = run.server.requests();
    let first_pages = requests
        .iter()
        .filter(|r| r.path_and_query == "/api/v1/pods?limit=3")
        .count();
    assert!(
        first_pages >= 2,
        "the list started over from the first page: {requests:?}"
    );
    assert_eq!(
        run.count(&run.metrics.list_total, &["pods", "error"]),
        0,
        "a restarted list is not a failed list"
    );
}

#[tokio::test]
async fn waits_out_a_429_and_retries() {
    let faults = Faults {
        throttle: Some(Duration::from_secs(1)),
        ..Faults::default()
    };
    let run = pods_converged(faults, fast_options(), Format::Protobuf).await;
    assert_eq!(run.count(&run.metrics.list_total, &["pods", "error"]), 1);
    assert!(run.count(&run.metrics.list_total, &["pods", "success"]) >= 1);
}

#[tokio::test]
async fn retries_after_server_errors() {
    let run = pods_converged(
        Faults {
            error_500: 3,
            ..Faults::default()
        },
        fast_options(),
        Format::Protobuf,
    )
    .await;
    assert_eq!(run.count(&run.metrics.list_total, &["pods", "error"]), 3);
}

#[tokio::test]
async fn gives_up_on_a_stalled_watch_and_rewatches() {
    let run = pods_converged(
        Faults {
            stall_watch_after: Some(3),
            ..Faults::default()
        },
        fast_options(),
        Format::Protobuf,
    )
    .await;
    run.counts(&run.metrics.watch_total, &["pods", "error"], 1)
        .await;
}

#[tokio::test]
async fn survives_garbage_in_a_watch() {
    let run = pods_converged(
        Faults {
            garbage_after: Some(2),
            ..Faults::default()
        },
        fast_options(),
        Format::Protobuf,
    )
    .await;
    run.counts(&run.metrics.decode_errors_total, &["pods", "protobuf"], 1)
        .await;
    assert_eq!(
        run.count(&run.metrics.json_fallbacks_total, &["pods"]),
        0,
        "garbage is no schema drift"
    );
}

#[tokio::test]
async fn refuses_an_oversized_frame() {
    let run = pods_converged(
        Faults {
            oversized_frame_after: Some(6),
            ..Faults::default()
        },
        fast_options(),
        Format::Protobuf,
    )
    .await;
    run.counts(&run.metrics.watch_total, &["pods", "error"], 1)
        .await;
}

#[tokio::test]
async fn one_failing_resource_does_not_stop_the_others() {
    let faults = pods(Faults {
        error_500: 1000,
        ..Faults::default()
    });
    let run = run(&["pods", "nodes", "deployments"], faults, fast_options()).await;
    run.converges("nodes").await;
    run.converges("deployments").await;
    run.counts(&run.metrics.list_total, &["pods", "error"], 1)
        .await;
    assert!(run.sink.snapshot("pods").is_empty());
}

fn json_options() -> ReflectorOptions {
    ReflectorOptions {
        content_type: kube_state_exporter::reflector::ContentTypeMode::Json,
        ..fast_options()
    }
}

#[tokio::test]
async fn converges_over_json_including_metadata_only_kinds() {
    let run = run(
        &["pods", "nodes", "secrets"],
        Faults::default(),
        json_options(),
    )
    .await;
    for plural in ["pods", "nodes", "secrets"] {
        run.converges_as(plural, Format::Json).await;
    }
    let requests = run.server.requests();
    assert!(
        requests.iter().all(|r| !r.accept.contains("protobuf")),
        "JSON mode never asks for protobuf"
    );
    assert_eq!(
        run.count(&run.metrics.decode_errors_total, &["pods", "json"]),
        0
    );
}

#[tokio::test]
async fn json_watch_recovers_from_a_cut_and_an_expiry() {
    let faults = Faults {
        cut_watch_after: Some(3),
        watch_expired_after: Some(8),
        ..Faults::default()
    };
    let run = pods_converged(faults, json_options(), Format::Json).await;
    run.counts(&run.metrics.relists_total, &["pods"], 1).await;
    run.counts(&run.metrics.watch_total, &["pods", "error"], 2)
        .await;
}

#[tokio::test]
async fn json_watch_survives_garbage_and_an_endless_line() {
    let faults = Faults {
        garbage_after: Some(2),
        oversized_frame_after: Some(5),
        ..Faults::default()
    };
    let mut options = json_options();
    options.watch.max_frame = 256 * 1024;
    let run = pods_converged(faults, options, Format::Json).await;
    run.counts(&run.metrics.watch_total, &["pods", "error"], 2)
        .await;
    run.counts(&run.metrics.decode_errors_total, &["pods", "json"], 1)
        .await;
}

#[tokio::test]
async fn failures_are_logged() {
    let captured = replay_support::Captured::default();
    let _guard = tracing::subscriber::set_default(replay_support::subscriber(&captured));
    let faults = Faults {
        cut_watch_after: Some(2),
        error_500: 1,
        ..Faults::default()
    };
    let _run = pods_converged(faults, fast_options(), Format::Protobuf).await;
    // The store can converge from the relist before the cut watch's failure is
    // logged, so wait for each line itself rather than for convergence.
    let logged = |words: &[&str]| {
        captured
            .text()
            .lines()
            .any(|line| words.iter().all(|w| line.contains(w)))
    };
    let list_logged = eventually(CONVERGE, || {
        logged(&["list failed", "resource=pods", "HTTP 500 InternalError"])
    })
    .await;
    let watch_logged = eventually(CONVERGE, || logged(&["watch failed", "resource=pods"])).await;
    let logs = captured.text();
    assert!(list_logged, "no list failure logged:\n{logs}");
    assert!(watch_logged, "no watch failure logged:\n{logs}");
}

#[tokio::test]
async fn per_namespace_reflectors_see_only_their_namespace() {
    let (addr, server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let client = plain_client(addr);
    let metrics = ClientMetrics::unregistered();
    let pods = ResourceType::by_plural("pods").unwrap();
    let nodes = ResourceType::by_plural("nodes").unwrap();
    let targets = kube_state_exporter::reflector::plan(
        &[pods, nodes],
        &["demo".to_string(), "kube-system".to_string()],
    );
    let labels: Vec<String> = targets.iter().map(Target::label).collect();
    assert_eq!(labels, ["pods/demo", "pods/kube-system", "nodes"]);
    let sinks: std::collections::HashMap<String, Arc<MapSink>> = labels
        .iter()
        .map(|l| (l.clone(), Arc::new(MapSink::default())))
        .collect();
    let tasks = kube_state_exporter::reflector::spawn_all(
        &client,
        targets,
        |target| sinks[&target.label()].clone(),
        &metrics,
        &fast_options(),
    );
    // Every recorded pod lives in "demo": that reflector gets them all, kube-system none.
    let truth = server.final_state("pods", Format::Protobuf).unwrap().0;
    let converged = eventually(CONVERGE, || sinks["pods/demo"].snapshot("pods") == truth).await;
    let node_truth = server.final_state("nodes", Format::Protobuf).unwrap().0;
    let nodes_ok = eventually(CONVERGE, || sinks["nodes"].snapshot("nodes") == node_truth).await;
    for task in tasks {
        task.abort();
    }
    assert!(converged && nodes_ok);
    assert!(sinks["pods/kube-system"].snapshot("pods").is_empty());
    assert_eq!(
        sinks["pods/kube-system"].inits("pods"),
        1,
        "an empty namespace is still listed"
    );
    let requests = server.requests();
    assert!(requests.iter().any(|r| r
        .path_and_query
        .starts_with("/api/v1/namespaces/demo/pods?")));
    assert!(requests.iter().any(|r| r
        .path_and_query
        .starts_with("/api/v1/namespaces/demo/pods?watch=1")));
}

#[test]
fn self_metrics_register_under_the_exporter_prefix() {
    let registry = prometheus::Registry::new();
    let metrics = ClientMetrics::register(&registry).unwrap();
    metrics
        .list_total
        .with_label_values(&["pods", "success"])
        .inc();
    metrics.objects.with_label_values(&["pods"]).set(3);
    metrics.mark_synced("pods");
    let names: Vec<String> = registry
        .gather()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    for expected in [
        "kube_state_metrics_list_total",
        "kube_state_exporter_objects",
        "kube_state_exporter_last_sync_timestamp_seconds",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        ClientMetrics::register(&registry).is_err(),
        "registering twice is refused, not duplicated"
    );
}

fn streaming_options() -> ReflectorOptions {
    ReflectorOptions {
        watch_list: WatchListMode::Auto,
        ..fast_options()
    }
}

#[tokio::test]
async fn streaming_list_fills_the_store_without_a_list_request() {
    let faults = Faults {
        streaming_list: true,
        ..Faults::default()
    };
    let run = run(&["pods", "secrets"], faults, streaming_options()).await;
    run.converges("pods").await;
    run.converges("secrets").await;
    let requests = run.server.requests();
    assert!(requests
        .iter()
        .any(|r| r.path_and_query.contains("sendInitialEvents=true")));
    // Pods: no plain list. (Secrets, a server-side Table kind, are always listed.)
    assert!(
        requests
            .iter()
            .filter(|r| r.path_and_query.starts_with("/api/v1/pods"))
            .all(|r| r.path_and_query.contains("watch=1")),
        "no plain list of pods: {requests:?}"
    );
    assert_eq!(run.count(&run.metrics.list_total, &["pods", "error"]), 0);
    assert_eq!(run.sink.inits("pods"), 1);
    assert_eq!(
        run.count(&run.metrics.lists_total, &["pods", "watch_list"]),
        1
    );
}

#[tokio::test]
async fn streaming_list_falls_back_to_list_and_watch_when_refused() {
    let run = run(&["pods"], Faults::default(), streaming_options()).await;
    run.converges("pods").await;
    let requests = run.server.requests();
    let attempts = requests
        .iter()
        .filter(|r| r.path_and_query.contains("sendInitialEvents=true"))
        .count();
    assert_eq!(attempts, 1, "tried once, then list+watch for good");
    assert!(requests
        .iter()
        .any(|r| r.path_and_query == "/api/v1/pods?limit=3"));
    // A refusal is the server's answer, not a failed list.
    assert_eq!(run.count(&run.metrics.list_total, &["pods", "error"]), 0);
    assert!(run.count(&run.metrics.lists_total, &["pods", "list"]) >= 1);
    assert_eq!(
        run.count(&run.metrics.lists_total, &["pods", "watch_list"]),
        0
    );
}

/// `kube_state_metrics_watch_total` counts a watch when it starts, as KSM does: an open
/// watch that has delivered nothing and will not end for a minute is already counted as
/// success, and no error is counted for it.
#[tokio::test]
async fn a_watch_is_counted_when_it_starts_not_when_it_ends() {
    let mut options = fast_options();
    options.watch.timeout = Duration::from_secs(60);
    let run = run(
        &["pods"],
        pods(Faults {
            stall_watch_after: Some(0),
            ..Faults::default()
        }),
        options,
    )
    .await;
    run.converges("pods").await;
    assert!(
        eventually(CONVERGE, || run
            .count(&run.metrics.watch_total, &["pods", "success"])
            >= 1)
        .await,
        "the open watch is counted"
    );
    assert_eq!(run.count(&run.metrics.watch_total, &["pods", "success"]), 1);
    assert_eq!(
        run.count(&run.metrics.watch_total, &["pods", "error"]),
        0,
        "the stalled watch has not ended"
    );
}
