//! `kube_pod_lifecycle_*` against the real kube-apiserver of `../shared/realk8s`.
//! No kubelet runs there: the test writes each status through `/status` as a kubelet
//! would (waiting → running → OOMKilled → restarted → completed), deletes one pod
//! gracefully (unbound: gone at once) and one with `gracePeriodSeconds=0` (bound),
//! and checks that the counters say exactly what it did.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{connect, ApiClient, ClientMetrics, ConnectOptions, Target};
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::{Reflector, ReflectorOptions};
use kube_state_exporter::store::{Store, StoreOptions};
use support::realk8s::{kubectl_available, RealK8s};

const NS: &str = "lifecycle";
const DEADLINE: Duration = Duration::from_secs(30);

fn scrape(store: &Store) -> String {
    let request = RenderRequest::all(ExpositionFormat::Text);
    let mut out = Vec::new();
    store.write_exposition(&request, &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

/// Polls (bounded) until `done` holds for the scrape.
async fn wait_for(store: &Store, what: &str, done: impl Fn(&BTreeMap<String, f64>) -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let got = support::lifecycle_series(&scrape(store));
        if done(&got) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {got:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pod(name: &str, owned: bool, node: Option<&str>) -> String {
    let owner = if owned {
        ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-1\",\
         \"uid\":\"00000000-0000-0000-0000-000000000001\",\"controller\":true}]"
    } else {
        ""
    };
    let node = node.map_or(String::new(), |n| format!(",\"nodeName\":\"{n}\""));
    format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"{NS}\"{owner}}},\
         \"spec\":{{\"containers\":[{{\"name\":\"app\",\"image\":\"busybox\"}}]{node}}}}}"
    )
}

fn container(state: &str, restarts: u32, last: &str, ready: bool) -> String {
    format!(
        "{{\"name\":\"app\",\"image\":\"busybox\",\"imageID\":\"\",\"ready\":{ready},\
         \"restartCount\":{restarts},\"state\":{state},\"lastState\":{last}}}"
    )
}

fn terminated(reason: &str) -> String {
    format!(
        "{{\"terminated\":{{\"exitCode\":1,\"reason\":\"{reason}\",\
         \"startedAt\":\"2030-01-01T00:00:00Z\",\"finishedAt\":\"2030-01-01T00:00:01Z\"}}}}"
    )
}

fn status(phase: &str, ready: Option<&str>, containers: &str) -> String {
    let conditions = ready.map_or(String::new(), |at| {
        format!(",\"conditions\":[{{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"{at}\"}}]")
    });
    format!(
        "{{\"status\":{{\"phase\":\"{phase}\"{conditions},\"containerStatuses\":[{containers}]}}}}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_match_what_was_done_to_real_pods() {
    if !kubectl_available() {
        return;
    }
    let Some(k8s) = RealK8s::start() else {
        return;
    };
    k8s.kubectl(&["create", "namespace", NS], None);

    let options = ConnectOptions {
        kubeconfig: Some(k8s.kubeconfig()),
        ..ConnectOptions::default()
    };
    let client = ApiClient::new(connect(&options).await.expect("connects"));
    let store = Arc::new(Store::new(&["pods"], &StoreOptions::default()).expect("a store"));
    let target = Target::new(ResourceType::by_plural("pods").expect("pods"), None);
    let reflector = Reflector::new(
        client,
        target,
        store.clone(),
        ClientMetrics::unregistered(),
        ReflectorOptions::default(),
    );
    let task = tokio::spawn(reflector.run());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !store.is_synced("pods") {
        assert!(tokio::time::Instant::now() < deadline, "never synced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // `web-1-a`: owned by a ReplicaSet, bound to a node, lives a whole life.
    k8s.kubectl(
        &["create", "-f", "-"],
        Some(&pod("web-1-a", true, Some("node-1"))),
    );
    let created = k8s.kubectl(
        &[
            "get",
            "pod",
            "-n",
            NS,
            "web-1-a",
            "-o",
            "jsonpath={.metadata.creationTimestamp}",
        ],
        None,
    );
    let created: jiff::Timestamp = String::from_utf8_lossy(&created.stdout)
        .trim()
        .parse()
        .expect("creationTimestamp is RFC 3339");
    let ready_at = created
        .checked_add(jiff::SignedDuration::from_secs(3))
        .expect("in range")
        .to_string();
    let none = "{}";
    let steps = [
        status(
            "Pending",
            None,
            &container(
                "{\"waiting\":{\"reason\":\"ContainerCreating\"}}",
                0,
                none,
                false,
            ),
        ),
        status(
            "Running",
            Some(&ready_at),
            &container(
                "{\"running\":{\"startedAt\":\"2030-01-01T00:00:00Z\"}}",
                0,
                none,
                true,
            ),
        ),
        // OOMKilled, and already back in CrashLoopBackOff.
        status(
            "Running",
            Some(&ready_at),
            &container(
                "{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}",
                1,
                &terminated("OOMKilled"),
                false,
            ),
        ),
        // Restarted: the OOMKill is still the last state; nothing new ended.
        status(
            "Running",
            Some(&ready_at),
            &container(
                "{\"running\":{\"startedAt\":\"2030-01-01T00:00:02Z\"}}",
                1,
                &terminated("OOMKilled"),
                true,
            ),
        ),
        status(
            "Succeeded",
            Some(&ready_at),
            &container(&terminated("Completed"), 1, &terminated("OOMKilled"), false),
        ),
    ];
    for step in &steps {
        k8s.kubectl(
            &[
                "patch",
                "pod",
                "-n",
                NS,
                "web-1-a",
                "--subresource=status",
                "--type=merge",
                "-p",
                step,
            ],
            None,
        );
    }
    // `loner`: no owner, never scheduled, deleted gracefully (unbound: at once).
    k8s.kubectl(&["create", "-f", "-"], Some(&pod("loner", false, None)));
    k8s.kubectl(&["delete", "pod", "-n", NS, "loner", "--wait=true"], None);
    // A bound pod's graceful delete would wait for a kubelet: gracePeriodSeconds=0.
    k8s.kubectl(
        &[
            "delete",
            "pod",
            "-n",
            NS,
            "web-1-a",
            "--grace-period=0",
            "--force",
        ],
        None,
    );

    let deleted = |got: &BTreeMap<String, f64>| -> f64 {
        got.iter()
            .filter(|(k, _)| k.starts_with("kube_pod_lifecycle_deletions_total{"))
            .map(|(_, v)| v)
            .sum()
    };
    wait_for(&store, "two deletions", |got| deleted(got) == 2.0).await;
    let text = scrape(&store);
    task.abort();

    let rs = format!("namespace=\"{NS}\",owner_kind=\"ReplicaSet\",owner_name=\"web-1\"");
    let bare = format!("namespace=\"{NS}\",owner_kind=\"<none>\",owner_name=\"<none>\"");
    let series = |w: &str, family: &str, extra: &str| {
        let labels = if extra.is_empty() {
            w.to_string()
        } else {
            format!("{w},{extra}")
        };
        format!("kube_pod_lifecycle_{family}{{{labels}}}")
    };
    let got = support::lifecycle_series(&text);
    let mut want: BTreeMap<String, f64> = [
        (series(&rs, "creations_total", ""), 1.0),
        (
            series(&rs, "phase_transitions_total", "phase=\"Pending\""),
            1.0,
        ),
        (
            series(&rs, "phase_transitions_total", "phase=\"Running\""),
            1.0,
        ),
        (
            series(&rs, "phase_transitions_total", "phase=\"Succeeded\""),
            1.0,
        ),
        (
            series(
                &rs,
                "container_waiting_total",
                "container=\"app\",reason=\"ContainerCreating\"",
            ),
            1.0,
        ),
        (
            series(
                &rs,
                "container_waiting_total",
                "container=\"app\",reason=\"CrashLoopBackOff\"",
            ),
            1.0,
        ),
        (
            series(
                &rs,
                "container_terminations_total",
                "container=\"app\",reason=\"OOMKilled\"",
            ),
            1.0,
        ),
        (
            series(
                &rs,
                "container_terminations_total",
                "container=\"app\",reason=\"Completed\"",
            ),
            1.0,
        ),
        (series(&rs, "deletions_total", "phase=\"Succeeded\""), 1.0),
        (series(&rs, "startup_duration_seconds_sum", ""), 3.0),
        (series(&rs, "startup_duration_seconds_count", ""), 1.0),
        (
            series(&rs, "lifetime_seconds_count", "phase=\"Succeeded\""),
            1.0,
        ),
        (series(&bare, "creations_total", ""), 1.0),
        (
            series(&bare, "phase_transitions_total", "phase=\"Pending\""),
            1.0,
        ),
        (series(&bare, "deletions_total", "phase=\"Pending\""), 1.0),
        (
            series(&bare, "lifetime_seconds_count", "phase=\"Pending\""),
            1.0,
        ),
    ]
    .into_iter()
    .collect();
    // Lifetimes come from the server's timestamps (a few seconds at most): checked
    // for range, then taken as they are.
    for w in [(&rs, "Succeeded"), (&bare, "Pending")] {
        let key = series(w.0, "lifetime_seconds_sum", &format!("phase=\"{}\"", w.1));
        let lifetime = got.get(&key).copied().unwrap_or(0.0);
        assert!((0.0..60.0).contains(&lifetime), "{key} = {lifetime}");
        if lifetime != 0.0 {
            want.insert(key, lifetime);
        }
    }
    assert_eq!(got, want, "\n{text}");
    support::promtool_check(&text);
}
