//! Churn load against the real kube-apiserver 1.35 + etcd of `../shared/realk8s`:
//! writers create pods, write their status (`/status`, as a kubelet would) and delete
//! most of them again (`gracePeriodSeconds=0`), as fast as the box allows, while the
//! exporter binary watches pods and a scraper reads `/metrics` without pause. When
//! the writers stop, the exporter's `kube_pod_info` series must equal what the
//! apiserver lists within a deadline: no object lost, none left over.
//!
//! Duration: `REALK8S_CHURN_SECS` (default 25 s, sized for CI; the figure is
//! 60 s: `REALK8S_CHURN_SECS=60`). Writers: `REALK8S_CHURN_WRITERS` (default 8).
//! Printed: writes/s, watch events/s the exporter applied, scrapes served, the lag
//! from the writers' stop to equality, objects lost.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::realk8s::{kubectl_available, kubectl_names, RealK8s};
use support::{series_keys, ExporterProcess};

const NS: &str = "churn";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pod(name: &str) -> String {
    format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\",\"labels\":{{\"app\":\"churn\"}}}},\
         \"spec\":{{\"containers\":[{{\"name\":\"app\",\"image\":\"busybox\"}}]}}}}"
    )
}

fn running_status() -> &'static str {
    "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],\
     \"containerStatuses\":[{\"name\":\"app\",\"image\":\"busybox\",\"imageID\":\"\",\"ready\":true,\"restartCount\":0,\
     \"state\":{\"running\":{}}}]}}"
}

#[derive(Default)]
struct Counts {
    creates: AtomicU64,
    updates: AtomicU64,
    deletes: AtomicU64,
    failures: AtomicU64,
}

async fn send(client: &kube::Client, request: http::Request<Vec<u8>>, counts: &Counts) -> bool {
    match client.request_text(request).await {
        Ok(_) => true,
        Err(error) => {
            // Under overload the apiserver may answer 429/5xx: counted, not fatal;
            // what matters is that the exporter ends equal to whatever the server has.
            if counts.failures.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!("churn write failed: {error}");
            }
            false
        }
    }
}

/// One writer: create, set status Running, and delete two pods of three.
async fn writer(client: kube::Client, id: u64, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let base = format!("/api/v1/namespaces/{NS}/pods");
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let name = format!("w{id}-{i}");
        let create = http::Request::post(&base)
            .header("content-type", "application/json")
            .body(pod(&name).into_bytes())
            .expect("a request");
        if !send(&client, create, &counts).await {
            continue;
        }
        counts.creates.fetch_add(1, Ordering::Relaxed);
        let status = http::Request::patch(format!("{base}/{name}/status"))
            .header("content-type", "application/merge-patch+json")
            .body(running_status().as_bytes().to_vec())
            .expect("a request");
        if send(&client, status, &counts).await {
            counts.updates.fetch_add(1, Ordering::Relaxed);
        }
        if i % 3 != 0 {
            let delete = http::Request::delete(format!("{base}/{name}?gracePeriodSeconds=0"))
                .body(Vec::new())
                .expect("a request");
            if send(&client, delete, &counts).await {
                counts.deletes.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[test]
fn pods_equal_the_server_after_churn() {
    if !kubectl_available() {
        return;
    }
    let Some(k8s) = RealK8s::start() else { return };
    let seconds = env_number("REALK8S_CHURN_SECS", 25);
    let writers = env_number("REALK8S_CHURN_WRITERS", 8);
    k8s.kubectl(&["create", "namespace", NS], None);
    let exporter = ExporterProcess::start(
        &k8s.kubeconfig(),
        &["--resources", "pods"],
        k8s.run_dir().join("exporter-churn.log"),
    );
    let truth = || kubectl_names(&k8s, "pods");
    exporter.wait_until_equal(
        "kube_pod_info",
        &["namespace", "pod"],
        truth,
        Duration::from_secs(60),
    );
    let events_before = applied_events(&exporter);

    // A scraper that never pauses: every answer must be a 200.
    let stop_scraping = Arc::new(AtomicBool::new(false));
    let scraper = {
        let stop = stop_scraping.clone();
        let port = exporter.port;
        std::thread::spawn(move || {
            let (mut served, mut failed) = (0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match support::get(port, "/metrics") {
                    Some((200, _)) => served += 1,
                    Some((status, body)) => failed.push(format!(
                        "{status}: {}",
                        body.chars().take(200).collect::<String>()
                    )),
                    None => failed.push("no answer".to_string()),
                }
            }
            (served, failed)
        })
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let client = runtime.block_on(k8s.admin_client());
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|id| tokio::spawn(writer(client.clone(), id, stop.clone(), counts.clone())))
            .collect();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.expect("a writer");
        }
    });
    let stopped = Instant::now();
    let writing = stopped.duration_since(started).as_secs_f64();

    // Lag: from the writers' stop until /metrics equals the server's list.
    let want = truth();
    let deadline = stopped + Duration::from_secs(60);
    let mut got;
    loop {
        got = exporter
            .metrics()
            .map(|m| series_keys(&m, "kube_pod_info", &["namespace", "pod"]))
            .unwrap_or_default();
        if got == want || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let lag = stopped.elapsed();
    stop_scraping.store(true, Ordering::Relaxed);
    let (served, failed) = scraper.join().expect("the scraper");
    let lost: BTreeSet<_> = want.difference(&got).collect();
    let leftover: BTreeSet<_> = got.difference(&want).collect();
    let events = applied_events(&exporter) - events_before;
    let (creates, updates, deletes) = (
        counts.creates.load(Ordering::Relaxed),
        counts.updates.load(Ordering::Relaxed),
        counts.deletes.load(Ordering::Relaxed),
    );
    let writes = creates + updates + deletes;
    eprintln!(
        "FIGURE churn: {writers} writers for {writing:.1}s: {creates} creates, {updates} status \
         updates, {deletes} deletes = {writes} writes ({:.0}/s; {} failed); exporter applied {events} \
         watch events ({:.0}/s); {served} scrapes served during the churn ({} failed); {} pods \
         at the end; lag from writer stop to /metrics == server list: {:.2}s; objects lost: {}, \
         left over: {}",
        writes as f64 / writing,
        counts.failures.load(Ordering::Relaxed),
        events as f64 / writing,
        failed.len(),
        want.len(),
        lag.as_secs_f64(),
        lost.len(),
        leftover.len()
    );
    assert!(
        lost.is_empty() && leftover.is_empty(),
        "not equal 60 s after the churn: lost {lost:?}, left over {leftover:?}"
    );
    assert!(
        failed.is_empty(),
        "scrapes failed during the churn: {failed:?}"
    );
    assert!(served > 0, "no scrape was served during the churn");
    assert!(creates > 0 && deletes > 0, "the writers wrote nothing");
    // Every write the exporter saw is one event (ADDED, MODIFIED, DELETED); it can see
    // fewer only if a relist replaced some (not expected on a healthy server).
    assert!(
        events >= writes,
        "applied {events} watch events for {writes} writes"
    );
}

/// Watch events the exporter applied to pods (all types).
fn applied_events(exporter: &ExporterProcess) -> u64 {
    ["ADDED", "MODIFIED", "DELETED"]
        .iter()
        .map(|kind| {
            exporter.self_metric(&format!(
                "kube_state_exporter_watch_events_total{{resource=\"pods\",type=\"{kind}\"}}"
            )) as u64
        })
        .sum()
}
