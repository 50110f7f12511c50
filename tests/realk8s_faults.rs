//! Faults against the real kube-apiserver 1.35 + etcd of `../shared/realk8s`, with
//! the exporter binary running as users run it. Every case ends with the exporter's
//! `/metrics` equal to what the apiserver lists (the set of `kube_configmap_info`
//! series against `kubectl get configmaps -A`), and prints its figures:
//!
//! - the apiserver restarted (same port, etcd kept) under a running exporter;
//! - etcd compacted so that the exporter's watch resourceVersion and a list's
//!   continue token are answered 410 Expired;
//! - RBAC forbidding one resource (403): the others serve, the error is counted and
//!   the log names the resource and the missing rule; `/readyz` says why;
//! - a wrong token (401): one log line per resource saying what to check, retries
//!   back off, `/livez` says the credentials were refused;
//! - a service-account token rotated on disk (kubeconfig `tokenFile`), the old one
//!   revoked: the exporter picks up the new file;
//! - pagination of a few thousand configmaps (500 per page in the binary; 97 per page
//!   through the client library, so the last page is a partial one).

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::list::{list_pages, ListOptions, ListProgress};
use kube_state_exporter::client::{connect, ApiClient, ConnectOptions, Format, Target};
use support::realk8s::{kubectl_available, kubectl_names, RealK8s};
use support::ExporterProcess;

const CONFIGMAP: (&str, &[&str]) = ("kube_configmap_info", &["namespace", "configmap"]);
const CONVERGE: Duration = Duration::from_secs(60);

fn start() -> Option<RealK8s> {
    start_with(&[])
}

fn start_with(envs: &[(&str, &str)]) -> Option<RealK8s> {
    if !kubectl_available() {
        return None;
    }
    RealK8s::start_with(envs)
}

fn configmaps_truth(k8s: &RealK8s) -> impl Fn() -> BTreeSet<String> + '_ {
    move || kubectl_names(k8s, "configmaps")
}

fn exporter(k8s: &RealK8s, resources: &str, name: &str) -> ExporterProcess {
    exporter_with(k8s, &k8s.kubeconfig(), resources, name)
}

fn exporter_with(
    k8s: &RealK8s,
    kubeconfig: &std::path::Path,
    resources: &str,
    name: &str,
) -> ExporterProcess {
    ExporterProcess::start(
        kubeconfig,
        &["--resources", resources, "--log-level", "debug"],
        k8s.run_dir().join(format!("exporter-{name}.log")),
    )
}

/// Creates `count` configmaps `<prefix>-<i>` in `namespace`, `concurrency` requests
/// at a time, through the admin client (kubectl per object would take minutes).
async fn create_configmaps(
    client: &kube::Client,
    namespace: &str,
    prefix: &str,
    count: usize,
    concurrency: usize,
) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next) = (client.clone(), next.clone());
        let (namespace, prefix) = (namespace.to_string(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let body = format!(
                    "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{prefix}-{i}\"}},\
                     \"data\":{{\"k\":\"v{i}\"}}}}"
                );
                let request = http::Request::post(format!("/api/v1/namespaces/{namespace}/configmaps"))
                    .header("content-type", "application/json")
                    .body(body.into_bytes())
                    .expect("a request");
                client
                    .request_text(request)
                    .await
                    .unwrap_or_else(|e| panic!("creating {prefix}-{i}: {e}"));
            }
        }));
    }
    for task in tasks {
        task.await.expect("a writer task");
    }
}

fn create_namespace(k8s: &RealK8s, name: &str) {
    k8s.kubectl(&["create", "namespace", name], None);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn recovers_after_an_apiserver_restart() {
    let Some(k8s) = start() else { return };
    create_namespace(&k8s, "restart");
    let rt = runtime();
    let admin = rt.block_on(k8s.admin_client());
    rt.block_on(create_configmaps(&admin, "restart", "before", 50, 4));
    let exporter = exporter(&k8s, "configmaps", "restart");
    let synced =
        exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    eprintln!("restart: first sync {:.2}s", synced.as_secs_f64());

    let down = k8s.restart_apiserver(Duration::from_secs(2), || {});
    let up_at = Instant::now();
    // Changes after the restart reach the exporter only through a new watch.
    rt.block_on(create_configmaps(&admin, "restart", "after", 20, 4));
    k8s.kubectl(
        &[
            "delete",
            "configmap",
            "-n",
            "restart",
            "before-0",
            "before-1",
            "before-2",
        ],
        None,
    );
    let caught_up =
        exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    let recovery = up_at.elapsed();
    let watch_errors = exporter
        .self_metric("kube_state_metrics_watch_total{resource=\"configmaps\",result=\"error\"}");
    eprintln!(
        "FIGURE restart: apiserver down {:.2}s (stop + 2s + start to /readyz); /metrics equal to the \
         server {:.2}s after it was ready again (writes of 20 creates + 3 deletes included; last \
         check took {:.2}s); watch errors counted: {watch_errors}",
        down.as_secs_f64(),
        recovery.as_secs_f64(),
        caught_up.as_secs_f64()
    );
    assert!(watch_errors >= 1.0, "the broken watch was not counted");
    assert!(exporter
        .metrics()
        .is_some_and(|m| m.contains("configmap=\"after-19\"")));
}

#[test]
fn relists_after_etcd_compaction_expires_the_watch_and_a_continue_token() {
    // Without the watch cache, watches and continued lists go to etcd, so etcd's
    // compaction is what answers 410 (with it, the cache answers from memory).
    let Some(k8s) = start_with(&[("APISERVER_EXTRA_ARGS", "--watch-cache=false")]) else {
        return;
    };
    create_namespace(&k8s, "compact");
    create_namespace(&k8s, "other");
    let rt = runtime();
    let admin = rt.block_on(k8s.admin_client());
    rt.block_on(create_configmaps(&admin, "compact", "cm", 300, 4));

    // 1. A continue token from before the compaction.
    let client = rt.block_on(async {
        let options = ConnectOptions {
            kubeconfig: Some(k8s.kubeconfig()),
            ..ConnectOptions::default()
        };
        ApiClient::new(connect(&options).await.expect("connects"))
    });
    let target = Target::new(
        ResourceType::by_plural("configmaps").expect("configmaps"),
        Some("compact".to_string()),
    );
    let options = ListOptions {
        limit: 50,
        ..ListOptions::default()
    };
    let mut pages = 0;
    let mut restarts = 0;
    let mut names = BTreeSet::new();
    let mut compacted_at = None;
    let summary = rt
        .block_on(list_pages(
            &client,
            &target,
            Format::Protobuf,
            &options,
            |progress| match progress {
                ListProgress::Restarted => {
                    restarts += 1;
                    names.clear();
                }
                ListProgress::Page(objects) => {
                    pages += 1;
                    for object in objects {
                        if let Some(name) = object.metadata().and_then(|m| m.name.clone()) {
                            names.insert(format!("compact/{name}"));
                        }
                    }
                    if pages == 2 && compacted_at.is_none() {
                        // Writes after the token's revision, then compaction past it.
                        k8s.kubectl(&["create", "configmap", "-n", "other", "bump"], None);
                        compacted_at = Some(k8s.compact_etcd());
                    }
                }
            },
        ))
        .expect("the list completes after restarting");
    let truth: BTreeSet<String> = kubectl_names(&k8s, "configmaps")
        .into_iter()
        .filter(|key| key.starts_with("compact/"))
        .collect();
    eprintln!(
        "FIGURE compaction (continue token): compacted at revision {compacted_at:?} after page 2; \
         list restarted {restarts} time(s); {} pages in all, {} objects",
        summary.pages,
        names.len()
    );
    assert_eq!(
        restarts, 1,
        "the expired continue token did not restart the list"
    );
    assert_eq!(
        names, truth,
        "the restarted list is not what the server has"
    );

    // 2. The exporter's watch resourceVersion compacted away while the apiserver is down.
    let exporter = exporter(&k8s, "configmaps", "compaction");
    exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    // Writes the exporter does not watch move etcd past its resourceVersion.
    k8s.kubectl(
        &["create", "secret", "generic", "-n", "other", "bump"],
        None,
    );
    let mut revision = 0;
    let down = k8s.restart_apiserver(Duration::from_millis(500), || {
        revision = k8s.compact_etcd();
    });
    let up_at = Instant::now();
    k8s.kubectl(&["delete", "configmap", "-n", "compact", "cm-7"], None);
    k8s.kubectl(&["create", "configmap", "-n", "compact", "late"], None);
    exporter.wait_for_log_line(&["watch expired; relisting", "configmaps"], CONVERGE);
    exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    let relists =
        exporter.self_metric("kube_state_exporter_relists_total{resource=\"configmaps\"}");
    eprintln!(
        "FIGURE compaction (watch): etcd compacted at revision {revision} while the apiserver was \
         down {:.2}s; watch answered 410, relisted ({relists} relist(s) counted), equal to the \
         server {:.2}s after it was ready",
        down.as_secs_f64(),
        up_at.elapsed().as_secs_f64()
    );
    assert!(relists >= 1.0, "the relist after 410 was not counted");
}

#[test]
fn rbac_forbidding_one_resource_leaves_the_others_serving() {
    let Some(k8s) = start() else { return };
    create_namespace(&k8s, "rbac");
    k8s.kubectl(&["create", "configmap", "-n", "rbac", "visible"], None);
    k8s.kubectl(
        &["create", "secret", "generic", "-n", "rbac", "hidden"],
        None,
    );
    let token = k8s.service_account_token(
        "restricted",
        &[("", "configmaps"), ("", "namespaces")],
        "restricted-bound",
    );
    let kubeconfig = k8s.kubeconfig_with_user("restricted", &format!("token: {token}"));
    let exporter = exporter_with(&k8s, &kubeconfig, "configmaps,namespaces,secrets", "rbac");

    let line = exporter.wait_for_log_line(&["forbidden by RBAC", "secrets"], CONVERGE);
    for part in [
        "HTTP 403",
        "verbs: [list]",
        "apiGroups: [\"\"]",
        "resources: [\"secrets\"]",
        "cluster-wide",
    ] {
        assert!(line.contains(part), "the 403 line lacks {part:?}: {line}");
    }
    exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    let metrics = exporter.metrics().expect("/metrics serves");
    assert!(metrics.contains("kube_namespace_created{namespace=\"rbac\"}"));
    assert!(
        !metrics.contains("kube_secret_info{"),
        "secrets cannot have been listed"
    );

    // Retries go on (counted), the warning does not repeat.
    let deadline = Instant::now() + CONVERGE;
    let errors = |e: &ExporterProcess| {
        e.self_metric("kube_state_metrics_list_total{resource=\"secrets\",result=\"error\"}")
    };
    while errors(&exporter) < 3.0 {
        assert!(
            Instant::now() < deadline,
            "the refused list is not retried/counted"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = exporter.log_text();
    let warnings = log
        .lines()
        .filter(|l| l.contains("forbidden by RBAC"))
        .count();
    assert_eq!(warnings, 1, "the 403 warning repeated:\n{log}");
    assert!(
        log.contains("list refused again"),
        "retries are not logged at debug:\n{log}"
    );
    let (status, readyz) = exporter.get_telemetry("/readyz").expect("/readyz answers");
    assert_eq!(status, 503);
    assert!(
        readyz.contains("RBAC forbids (HTTP 403) 1 resource (secrets)")
            && readyz.contains("not synced yet (secrets)"),
        "/readyz: {readyz}"
    );
    let (status, livez) = exporter.get("/livez").expect("/livez answers");
    assert_eq!(
        (status, livez.as_str()),
        (200, "OK\n"),
        "403 on one resource is no liveness failure"
    );
    eprintln!(
        "FIGURE rbac: secrets refused (403) {} times so far, one warning; configmaps and namespaces served; /readyz: {}",
        errors(&exporter),
        readyz.trim()
    );
}

#[test]
fn a_refused_token_is_named_once_per_resource_and_in_livez() {
    let Some(k8s) = start() else { return };
    let kubeconfig = k8s.kubeconfig_with_user("wrong", "token: not-a-valid-token");
    let exporter = exporter_with(&k8s, &kubeconfig, "configmaps,namespaces", "unauthorized");
    for resource in ["configmaps", "namespaces"] {
        let line = exporter.wait_for_log_line(
            &[
                "does not accept our credentials",
                &format!("resource={resource}"),
            ],
            CONVERGE,
        );
        assert!(
            line.contains("HTTP 401")
                && line.contains("kubeconfig user")
                && line.contains("token file"),
            "the 401 line says nothing useful: {line}"
        );
    }
    let deadline = Instant::now() + CONVERGE;
    let errors = |e: &ExporterProcess| {
        e.self_metric("kube_state_metrics_list_total{resource=\"configmaps\",result=\"error\"}")
    };
    while errors(&exporter) < 3.0 {
        assert!(
            Instant::now() < deadline,
            "the refused list is not retried/counted"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = exporter.log_text();
    for resource in ["configmaps", "namespaces"] {
        let lines = log
            .lines()
            .filter(|l| {
                l.contains("does not accept our credentials")
                    && l.contains(&format!("resource={resource} "))
            })
            .count();
        assert_eq!(lines, 1, "the 401 error for {resource} repeated:\n{log}");
    }
    // Backoff: three attempts take longer than the first two delays (0.8 s, 1.6 s,
    // with jitter ±20 %).
    let (status, livez) = exporter.get("/livez").expect("/livez answers");
    assert_eq!(status, 503);
    assert!(
        livez.starts_with(
            "apiserver refused our credentials (HTTP 401) for 2 resources (configmaps, namespaces)"
        ) && livez.contains("kubeconfig user")
            && !livez.contains("unreachable"),
        "/livez: {livez}"
    );
    let (status, readyz) = exporter.get_telemetry("/readyz").expect("/readyz answers");
    assert_eq!(status, 503);
    assert!(readyz.contains("HTTP 401"), "/readyz: {readyz}");
    eprintln!("FIGURE 401: /livez says: {}", livez.trim());
}

#[test]
fn picks_up_a_token_rotated_on_disk() {
    let Some(k8s) = start() else { return };
    create_namespace(&k8s, "rotate");
    let first = k8s.service_account_token("rotating", &[("", "configmaps")], "rotating-first");
    let token_file = k8s.run_dir().join("rotating-token");
    std::fs::write(&token_file, &first).expect("the token file");
    let kubeconfig =
        k8s.kubeconfig_with_user("rotating", &format!("tokenFile: {}", token_file.display()));
    let exporter = exporter_with(&k8s, &kubeconfig, "configmaps", "rotate");
    let started = Instant::now();
    exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    assert_eq!(exporter.get("/livez").map(|r| r.0), Some(200));

    // Rotate: the new token on disk, the old one revoked (its bound Secret deleted).
    let second = k8s.bound_token("rotating", "rotating-second");
    let tmp = token_file.with_extension("new");
    std::fs::write(&tmp, &second).expect("the new token");
    std::fs::rename(&tmp, &token_file).expect("an atomic swap, as the kubelet does");
    k8s.kubectl(
        &["delete", "secret", "-n", "default", "rotating-first"],
        None,
    );
    let rotated_at = Instant::now();
    // The old token is refused from now on (the apiserver checks the bound object).
    let deadline = rotated_at + Duration::from_secs(30);
    let mut saw_refusal = false;
    let mut recovered = None;
    let limit = Duration::from_secs(90);
    while rotated_at.elapsed() < limit {
        match exporter.get("/livez") {
            Some((503, body)) if body.contains("HTTP 401") => saw_refusal = true,
            Some((200, _)) if saw_refusal || Instant::now() > deadline => {
                recovered = Some(rotated_at.elapsed());
                break;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let recovered = recovered.unwrap_or_else(|| {
        panic!(
            "/livez never answered 200 with the rotated token; log:\n{}",
            exporter.log_text()
        )
    });
    // Requests made now carry the new token: a fresh object shows up.
    k8s.kubectl(
        &["create", "configmap", "-n", "rotate", "after-rotation"],
        None,
    );
    exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    eprintln!(
        "FIGURE token rotation: old token refused (seen on /livez: {saw_refusal}); new token file \
         in use {:.1}s after the swap ({:.1}s after exporter start; kube re-reads token files \
         at most every 60 s)",
        recovered.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn pages_through_thousands_of_configmaps() {
    let Some(k8s) = start() else { return };
    let count: usize = std::env::var("REALK8S_PAGINATION_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    create_namespace(&k8s, "pages");
    let rt = runtime();
    let admin = rt.block_on(k8s.admin_client());
    let created = Instant::now();
    rt.block_on(create_configmaps(&admin, "pages", "cm", count, 8));
    let create_secs = created.elapsed().as_secs_f64();

    let client = rt.block_on(async {
        let options = ConnectOptions {
            kubeconfig: Some(k8s.kubeconfig()),
            ..ConnectOptions::default()
        };
        ApiClient::new(connect(&options).await.expect("connects"))
    });
    let target = Target::new(
        ResourceType::by_plural("configmaps").expect("configmaps"),
        None,
    );
    let options = ListOptions {
        limit: 97,
        ..ListOptions::default()
    };
    let mut names = BTreeSet::new();
    let summary = rt
        .block_on(list_pages(
            &client,
            &target,
            Format::Protobuf,
            &options,
            |progress| {
                if let ListProgress::Page(objects) = progress {
                    for object in objects {
                        let meta = object.metadata().expect("metadata");
                        names.insert(format!(
                            "{}/{}",
                            meta.namespace.clone().unwrap_or_default(),
                            meta.name.clone().unwrap_or_default()
                        ));
                    }
                }
            },
        ))
        .expect("the paged list");
    let truth = kubectl_names(&k8s, "configmaps");
    assert_eq!(names, truth);
    assert_eq!(summary.pages as usize, truth.len().div_ceil(97));

    let started = Instant::now();
    let exporter = exporter(&k8s, "configmaps", "pages");
    exporter.wait_until_equal(CONFIGMAP.0, CONFIGMAP.1, configmaps_truth(&k8s), CONVERGE);
    eprintln!(
        "FIGURE pagination: {} configmaps (created in {create_secs:.1}s, 8 writers); client list \
         of 97 per page: {} pages; exporter (500 per page) equal to the server {:.2}s after start",
        truth.len(),
        summary.pages,
        started.elapsed().as_secs_f64()
    );
}
