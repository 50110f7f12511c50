//! `kube_pod_lifecycle_*` on the demo recording's pod watch, through a reflector and
//! the store, as the exporter runs them; then the same under the replay apiserver's
//! fault knobs. The watch (rv 313 → 332) holds:
//!
//! - `lifecycle-demo` (no owner): ADDED Pending → Unschedulable → bound →
//!   `app` waiting ContainerCreating → Running, Ready at 19:24:04 (4 s after creation)
//!   → CrashLoopBackOff, restartCount 1, lastState Error → CrashLoopBackOff,
//!   restartCount 2, lastState OOMKilled → graceful delete → DELETED with
//!   deletionTimestamp 19:24:10 (10 s after creation);
//! - `blink-19468` (no owner), which lived for milliseconds: ADDED → `c` waiting
//!   ContainerCreating → Running → deletionTimestamp → DELETED (lifetime 0 s at the
//!   timestamps' one-second resolution), never Ready.
//!
//! The initial list (10 pods) counts nothing.

mod replay_support;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{ClientMetrics, Target};
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::Reflector;
use kube_state_exporter::replay::{Faults, ReplayHandle, ReplayServer};
use kube_state_exporter::store::{Store, StoreOptions};
use replay_support::{eventually, fast_options, plain_client, recording};

const CONVERGE: Duration = Duration::from_secs(20);
const W: &str = "namespace=\"demo\",owner_kind=\"<none>\",owner_name=\"<none>\"";

struct Run {
    _server: ReplayHandle,
    store: Arc<Store>,
    metrics: ClientMetrics,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Run {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(faults: Faults) -> Run {
    let (addr, server) = ReplayServer::start(&recording(), faults).await.unwrap();
    let store = Arc::new(Store::new(&["pods"], &StoreOptions::default()).unwrap());
    let metrics = ClientMetrics::unregistered();
    let target = Target::new(ResourceType::by_plural("pods").unwrap(), None);
    let reflector = Reflector::new(
        plain_client(addr),
        target,
        store.clone(),
        metrics.clone(),
        fast_options(),
    );
    Run {
        _server: server,
        store,
        metrics,
        task: tokio::spawn(reflector.run()),
    }
}

fn scrape(store: &Store, format: ExpositionFormat) -> String {
    let request = RenderRequest {
        format,
        include: None,
        exclude: Default::default(),
    };
    let mut out = Vec::new();
    store.write_exposition(&request, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn series(family: &str, extra: &str) -> String {
    if extra.is_empty() {
        format!("kube_pod_lifecycle_{family}{{{W}}}")
    } else {
        format!("kube_pod_lifecycle_{family}{{{W},{extra}}}")
    }
}

fn expected(pairs: &[(&str, &str, f64)]) -> BTreeMap<String, f64> {
    pairs
        .iter()
        .map(|(family, extra, value)| (series(family, extra), *value))
        .collect()
}

/// What a complete, fault-free watch of the recording counts.
fn whole_watch() -> BTreeMap<String, f64> {
    expected(&[
        ("creations_total", "", 2.0),
        ("deletions_total", "phase=\"Running\"", 2.0),
        ("phase_transitions_total", "phase=\"Pending\"", 2.0),
        ("phase_transitions_total", "phase=\"Running\"", 2.0),
        (
            "container_waiting_total",
            "container=\"app\",reason=\"ContainerCreating\"",
            1.0,
        ),
        (
            "container_waiting_total",
            "container=\"app\",reason=\"CrashLoopBackOff\"",
            2.0,
        ),
        (
            "container_waiting_total",
            "container=\"c\",reason=\"ContainerCreating\"",
            1.0,
        ),
        (
            "container_terminations_total",
            "container=\"app\",reason=\"Error\"",
            1.0,
        ),
        (
            "container_terminations_total",
            "container=\"app\",reason=\"OOMKilled\"",
            1.0,
        ),
        ("startup_duration_seconds_sum", "", 4.0),
        ("startup_duration_seconds_count", "", 1.0),
        ("lifetime_seconds_sum", "phase=\"Running\"", 10.0),
        ("lifetime_seconds_count", "phase=\"Running\"", 2.0),
    ])
}

/// Waits until `deletions` pods were counted deleted and the store holds the
/// recording's final pods, then once more past a watch timeout (a re-watch must
/// count nothing more), and returns the lifecycle series.
async fn settle(run: &Run, deletions: f64) -> BTreeMap<String, f64> {
    let deleted = |text: &str| -> f64 {
        support::lifecycle_series(text)
            .iter()
            .filter(|(k, _)| k.starts_with("kube_pod_lifecycle_deletions_total{"))
            .map(|(_, v)| v)
            .sum()
    };
    let done = eventually(CONVERGE, || {
        deleted(&scrape(&run.store, ExpositionFormat::Text)) == deletions
            && run.store.object_count("pods") == 10
    })
    .await;
    let text = scrape(&run.store, ExpositionFormat::Text);
    assert!(
        done,
        "the watch did not finish:\n{}",
        lifecycle_lines(&text)
    );
    let first = support::lifecycle_series(&text);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = support::lifecycle_series(&scrape(&run.store, ExpositionFormat::Text));
    assert_eq!(first, later, "counted more after the watch had finished");
    later
}

fn lifecycle_lines(text: &str) -> String {
    text.lines()
        .filter(|l| l.contains("lifecycle"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn pods(faults: Faults) -> Faults {
    Faults {
        resource: Some("pods".into()),
        ..faults
    }
}

#[tokio::test]
async fn the_demo_watch_counts_every_change_exactly() {
    let run = run(Faults::default()).await;
    let got = settle(&run, 2.0).await;
    assert_eq!(got, whole_watch());

    let text = scrape(&run.store, ExpositionFormat::Text);
    // Workloads of the initial list start at zero, with the controller owner.
    assert!(text.contains("kube_pod_lifecycle_creations_total{namespace=\"demo\",owner_kind=\"ReplicaSet\",owner_name=\"web-5d8f7b9c6\"} 0\n"));
    for (le, count) in [("1", 0), ("2", 0), ("5", 1), ("+Inf", 1)] {
        let line = format!(
            "kube_pod_lifecycle_startup_duration_seconds_bucket{{{W},le=\"{le}\"}} {count}\n"
        );
        assert!(text.contains(&line), "{line}");
    }
    for (le, count) in [("1", 1), ("10", 2), ("+Inf", 2)] {
        let line = format!(
            "kube_pod_lifecycle_lifetime_seconds_bucket{{{W},phase=\"Running\",le=\"{le}\"}} {count}\n"
        );
        assert!(text.contains(&line), "{line}");
    }
    support::promtool_check(&text);

    let om = scrape(&run.store, ExpositionFormat::OpenMetrics);
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("# TYPE kube_pod_lifecycle_creations counter\n"));
    assert!(om.contains("# TYPE kube_pod_lifecycle_lifetime_seconds histogram\n"));
    assert!(om.contains(&format!(
        "kube_pod_lifecycle_lifetime_seconds_bucket{{{W},phase=\"Running\",le=\"10.0\"}} 2\n"
    )));
    // Lifecycle families come right after the pod families.
    let after_pods = om.find("# TYPE kube_pod_scheduler ").unwrap();
    assert!(om.find("# TYPE kube_pod_lifecycle_creations ").unwrap() > after_pods);
}

#[tokio::test]
async fn a_watch_cut_mid_frame_resumes_without_counting_twice() {
    let run = run(pods(Faults {
        cut_watch_after: Some(5),
        ..Faults::default()
    }))
    .await;
    assert_eq!(settle(&run, 2.0).await, whole_watch());
    assert!(
        run.metrics
            .watch_total
            .with_label_values(&["pods", "error"])
            .get()
            >= 1,
        "the cut happened"
    );
}

#[tokio::test]
async fn a_relist_after_410_re_delivers_without_counting_twice() {
    let run = run(pods(Faults {
        watch_expired_after: Some(4),
        ..Faults::default()
    }))
    .await;
    assert_eq!(settle(&run, 2.0).await, whole_watch());
    assert!(run.metrics.relists_total.with_label_values(&["pods"]).get() >= 1);
}

/// The watch expires after 8 events (blink just ADDED) and the next 6 are lost:
/// blink's whole life after ADDED, and lifecycle-demo's deletionTimestamp. The
/// relist no longer has blink (a deletion, by its last phase seen, Pending, with the
/// relist's time as its end since no deletionTimestamp was seen), then the watch
/// delivers lifecycle-demo's DELETED.
#[tokio::test]
async fn a_pod_gone_during_a_watch_gap_is_one_deletion_seen_by_the_relist() {
    let run = run(pods(Faults {
        watch_expired_after: Some(8),
        expiry_loses_events: 6,
        ..Faults::default()
    }))
    .await;
    let got = settle(&run, 2.0).await;
    let mut want = expected(&[
        ("creations_total", "", 2.0),
        ("deletions_total", "phase=\"Pending\"", 1.0),
        ("deletions_total", "phase=\"Running\"", 1.0),
        ("phase_transitions_total", "phase=\"Pending\"", 2.0),
        ("phase_transitions_total", "phase=\"Running\"", 1.0),
        (
            "container_waiting_total",
            "container=\"app\",reason=\"ContainerCreating\"",
            1.0,
        ),
        (
            "container_waiting_total",
            "container=\"app\",reason=\"CrashLoopBackOff\"",
            2.0,
        ),
        (
            "container_terminations_total",
            "container=\"app\",reason=\"Error\"",
            1.0,
        ),
        (
            "container_terminations_total",
            "container=\"app\",reason=\"OOMKilled\"",
            1.0,
        ),
        ("startup_duration_seconds_sum", "", 4.0),
        ("startup_duration_seconds_count", "", 1.0),
        ("lifetime_seconds_sum", "phase=\"Running\"", 10.0),
        ("lifetime_seconds_count", "phase=\"Running\"", 1.0),
        ("lifetime_seconds_count", "phase=\"Pending\"", 1.0),
    ]);
    // blink's lifetime ends at the relist (wall clock): not a fixed number.
    let blink_sum = series("lifetime_seconds_sum", "phase=\"Pending\"");
    assert!(got.contains_key(&blink_sum), "{got:?}");
    want.insert(blink_sum.clone(), got[&blink_sum]);
    assert_eq!(got, want);
    assert!(run.metrics.relists_total.with_label_values(&["pods"]).get() >= 1);
}

/// The watch expires after 5 events and the next 8 are lost: both of
/// lifecycle-demo's restarts (restartCount 0 → 2 seen at once by the relist) and the
/// whole of blink's life (created and deleted unseen: the one thing no relist can
/// show).
#[tokio::test]
async fn a_restart_count_jump_across_a_gap_is_counted() {
    let run = run(pods(Faults {
        watch_expired_after: Some(5),
        expiry_loses_events: 8,
        ..Faults::default()
    }))
    .await;
    let got = settle(&run, 1.0).await;
    let want = expected(&[
        ("creations_total", "", 1.0),
        ("deletions_total", "phase=\"Running\"", 1.0),
        ("phase_transitions_total", "phase=\"Pending\"", 1.0),
        ("phase_transitions_total", "phase=\"Running\"", 1.0),
        (
            "container_waiting_total",
            "container=\"app\",reason=\"ContainerCreating\"",
            1.0,
        ),
        (
            "container_waiting_total",
            "container=\"app\",reason=\"CrashLoopBackOff\"",
            1.0,
        ),
        (
            "container_terminations_total",
            "container=\"app\",reason=\"OOMKilled\"",
            1.0,
        ),
        (
            "container_terminations_total",
            "container=\"app\",reason=\"Unobserved\"",
            1.0,
        ),
        ("startup_duration_seconds_sum", "", 4.0),
        ("startup_duration_seconds_count", "", 1.0),
        ("lifetime_seconds_sum", "phase=\"Running\"", 10.0),
        ("lifetime_seconds_count", "phase=\"Running\"", 1.0),
    ]);
    assert_eq!(got, want);
}

/// Events/s applied to the store with the lifecycle families on and off, on the
/// demo recording's pods cycled through synthetic updates. A figure, not asserted:
/// `cargo test --release --test lifecycle_replay -- --ignored --nocapture`.
#[test]
#[ignore]
fn lifecycle_cost_figure() {
    use kube_state_exporter::api::Object;
    use kube_state_exporter::metrics::filter::MetricFilter;
    use kube_state_exporter::reflector::Event;

    let handle = recording();
    let body = handle
        .manifest
        .captures
        .iter()
        .find(|c| c.path == "/api/v1/pods" && c.accept.contains("json"))
        .map(|c| c.body.clone())
        .unwrap();
    let bytes = std::fs::read(replay_support::fixture_dir().join(body)).unwrap();
    let list = kube_state_exporter::api::json::decode(&bytes).unwrap();
    let pods: Vec<Object> = match list {
        kube_state_exporter::api::envelope::Body::List(list) => list.into_items(),
        _ => panic!("a list"),
    };
    const ROUNDS: u64 = 20_000;
    let run = |options: &StoreOptions| -> f64 {
        let store = Store::new(&["pods"], options).unwrap();
        store.apply("pods", Event::Init);
        store.apply("pods", Event::InitDone);
        let started = std::time::Instant::now();
        for round in 0..ROUNDS {
            let mut pod = pods[(round as usize) % pods.len()].clone();
            if let Object::Pod(p) = &mut pod {
                let meta = p.metadata.get_or_insert_with(Default::default);
                meta.resource_version = Some((1000 + round).to_string());
                meta.uid = Some(format!("uid-{}", round % 500));
            }
            store.apply("pods", Event::Apply(pod));
        }
        ROUNDS as f64 / started.elapsed().as_secs_f64()
    };
    let on = run(&StoreOptions::default());
    let off = run(&StoreOptions {
        filter: MetricFilter::new(&[], &["kube_pod_lifecycle_".to_string()], &[]).unwrap(),
        ..StoreOptions::default()
    });
    eprintln!(
        "pod events applied: lifecycle on {on:.0}/s, off {off:.0}/s ({:+.1}%)",
        (on / off - 1.0) * 100.0
    );
}
