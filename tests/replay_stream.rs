//! Lists read as they arrive, against the replay apiserver: a list answered in one
//! response (the watch cache ignoring `limit`) fills the same store as a paged one;
//! a list body that stalls is abandoned with a warning naming the resource and
//! retried; `--watch-list auto` uses a streaming list where the server has one and
//! lists where it is refused, saying so once.

mod replay_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{ClientMetrics, Format, Target};
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::{ContentTypeMode, Reflector, ReflectorOptions, WatchListMode};
use kube_state_exporter::replay::{Faults, ReplayHandle, ReplayServer};
use kube_state_exporter::store::{Store, StoreOptions};
use replay_support::{eventually, fast_options, plain_client, recording, subscriber, Captured};

const CONVERGE: Duration = Duration::from_secs(20);
const PLURALS: [&str; 3] = ["pods", "nodes", "secrets"];

struct Run {
    server: ReplayHandle,
    store: Arc<Store>,
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

async fn run(faults: Faults, options: ReflectorOptions) -> Run {
    let (addr, server) = ReplayServer::start(&recording(), faults).await.unwrap();
    let client = plain_client(addr);
    let store = Arc::new(Store::new(&PLURALS, &StoreOptions::default()).unwrap());
    let metrics = ClientMetrics::unregistered();
    let tasks = PLURALS
        .iter()
        .map(|plural| {
            let target = Target::new(ResourceType::by_plural(plural).unwrap(), None);
            let reflector = Reflector::new(
                client.clone(),
                target,
                store.clone(),
                metrics.clone(),
                options.clone(),
            );
            tokio::spawn(reflector.run())
        })
        .collect();
    Run {
        server,
        store,
        metrics,
        tasks,
    }
}

impl Run {
    async fn synced(&self) {
        let synced = eventually(CONVERGE, || {
            PLURALS.iter().all(|plural| self.store.is_synced(plural))
        })
        .await;
        assert!(synced, "not every resource synced");
    }

    /// The store's exposition once every resource holds as many objects as the
    /// server's truth (the recorded watches may still be replaying).
    async fn exposition_at_truth(&self) -> String {
        self.synced().await;
        for plural in PLURALS {
            let truth = self
                .server
                .final_state(plural, Format::Protobuf)
                .unwrap()
                .0
                .len() as i64;
            let reached = eventually(CONVERGE, || {
                self.metrics.objects.with_label_values(&[plural]).get() == truth
            })
            .await;
            assert!(
                reached,
                "{plural}: store never held the {truth} objects of the truth"
            );
        }
        self.render()
    }

    fn render(&self) -> String {
        let request = RenderRequest {
            format: ExpositionFormat::Text,
            include: None,
            exclude: BTreeSet::new(),
        };
        let mut out = Vec::new();
        self.store.write_exposition(&request, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn list_requests(&self, plural: &str) -> Vec<String> {
        let prefix = format!("/api/v1/{plural}?");
        self.server
            .requests()
            .into_iter()
            .map(|r| r.path_and_query)
            .filter(|p| p.starts_with(&prefix) && !p.contains("watch=1"))
            .collect()
    }
}

/// Both stores end at the recording's final state: their expositions become equal
/// (the recorded watch events reach each at its own pace).
async fn same_exposition(a: &Run, b: &Run, what: &str) {
    let equal = eventually(CONVERGE, || a.render() == b.render()).await;
    if !equal {
        let (a, b) = (a.render(), b.render());
        let first = a
            .lines()
            .zip(b.lines())
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("{x}\n{y}"));
        panic!("{what}: expositions differ; first difference:\n{first:?}");
    }
}

fn options(content_type: ContentTypeMode) -> ReflectorOptions {
    ReflectorOptions {
        watch_list: WatchListMode::Off,
        content_type,
        ..fast_options()
    }
}

fn one_response() -> Faults {
    Faults {
        ignore_limit: true,
        ..Faults::default()
    }
}

#[tokio::test]
async fn one_response_lists_fill_the_same_store_as_paged_lists() {
    for content_type in [ContentTypeMode::Protobuf, ContentTypeMode::Json] {
        let paged = run(Faults::default(), options(content_type)).await;
        let paged_text = paged.exposition_at_truth().await;
        assert!(
            paged
                .list_requests("pods")
                .iter()
                .any(|p| p.contains("continue=")),
            "the paged run pages: {:?}",
            paged.list_requests("pods")
        );
        let whole = run(one_response(), options(content_type)).await;
        let whole_text = whole.exposition_at_truth().await;
        let pods_lists = whole.list_requests("pods");
        assert!(
            pods_lists.iter().all(|p| !p.contains("continue=")),
            "one response per list: {pods_lists:?}"
        );
        assert!(paged_text.contains("kube_pod_info{"), "{paged_text}");
        assert!(whole_text.contains("kube_pod_info{"), "{whole_text}");
        same_exposition(&paged, &whole, &format!("{content_type:?}")).await;
    }
}

#[tokio::test]
async fn a_stalled_list_body_is_abandoned_with_a_warning_and_retried() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let faults = Faults {
        resource: Some("pods".into()),
        stall_list_after_bytes: Some(100),
        ..one_response()
    };
    let mut options = options(ContentTypeMode::Protobuf);
    options.list.stall_timeout = Duration::from_millis(300);
    let run = run(faults, options).await;
    run.exposition_at_truth().await;
    let logs = captured.text();
    let warning = logs
        .lines()
        .find(|line| line.contains("list failed") && line.contains("stalled"))
        .unwrap_or_else(|| panic!("no stall warning:\n{logs}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("resource=pods"), "{warning}");
    assert!(
        warning.contains("list response body stalled: no bytes for 300ms (100 bytes"),
        "{warning}"
    );
    assert_eq!(
        run.metrics
            .list_total
            .with_label_values(&["pods", "error"])
            .get(),
        1
    );
    assert_eq!(
        run.list_requests("pods").len(),
        2,
        "abandoned, then retried"
    );
}

#[tokio::test]
async fn watch_list_auto_streams_where_served_and_lists_where_refused() {
    // Served: every resource comes from a streaming list, none from a list request.
    let served = Faults {
        streaming_list: true,
        ..one_response()
    };
    let auto = ReflectorOptions {
        watch_list: WatchListMode::Auto,
        ..options(ContentTypeMode::Auto)
    };
    let streamed = run(served, auto.clone()).await;
    let streamed_text = streamed.exposition_at_truth().await;
    for plural in PLURALS {
        let count = |mode| {
            streamed
                .metrics
                .lists_total
                .with_label_values(&[plural, mode])
                .get()
        };
        // Secrets come as server-side Tables, which are always listed.
        let expected = if plural == "secrets" { (0, 1) } else { (1, 0) };
        assert_eq!((count("watch_list"), count("list")), expected, "{plural}");
    }
    assert!(streamed.list_requests("pods").is_empty());

    // Refused (as 1.28 does): one info line per resource, then list requests.
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let listed = run(one_response(), auto).await;
    listed.exposition_at_truth().await;
    assert!(streamed_text.contains("kube_pod_info{"), "{streamed_text}");
    same_exposition(&streamed, &listed, "streamed vs listed").await;
    let logs = captured.text();
    for plural in PLURALS {
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(&format!("resource={plural} ")))
            .collect();
        if plural == "secrets" {
            assert!(
                lines.is_empty(),
                "secrets are listed without asking:\n{logs}"
            );
        } else {
            assert_eq!(lines.len(), 1, "one line for {plural}:\n{logs}");
        }
        for line in &lines {
            assert!(line.contains(" INFO "), "{line}");
            assert!(line.contains("does not serve streaming lists"), "{line}");
            assert!(line.contains("422"), "{line}");
        }
        assert_eq!(
            listed
                .metrics
                .lists_total
                .with_label_values(&[plural, "list"])
                .get(),
            1
        );
        assert_eq!(
            listed
                .metrics
                .list_total
                .with_label_values(&[plural, "error"])
                .get(),
            0
        );
    }
}

#[tokio::test]
async fn a_streaming_list_that_stalls_falls_back_to_a_list_this_time() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let faults = Faults {
        resource: Some("pods".into()),
        streaming_list: true,
        stall_watch_after: Some(1),
        ..one_response()
    };
    let mut options = options(ContentTypeMode::Protobuf);
    options.watch_list = WatchListMode::Auto;
    options.list.stall_timeout = Duration::from_millis(300);
    let run = run(faults, options).await;
    run.exposition_at_truth().await;
    let logs = captured.text();
    assert!(
        logs.lines().any(|l| l.contains("resource=pods")
            && l.contains("streaming list (initial events) stalled: no bytes for 300ms")),
        "{logs}"
    );
    assert_eq!(
        run.metrics
            .lists_total
            .with_label_values(&["pods", "list"])
            .get(),
        1
    );
}
