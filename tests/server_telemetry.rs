//! The telemetry server on 127.0.0.1: self-metrics content and `/readyz`.

mod server_support;

use std::sync::Arc;

use kube_state_exporter::api::schema;
use kube_state_exporter::server::{self, ReadyFlag, TelemetryServer};
use kube_state_exporter::telemetry::Telemetry;
use server_support::{get, Running};

async fn start(server: TelemetryServer) -> Running {
    let listener = server::bind("127.0.0.1", 0).await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_telemetry(listener, server, async {
        let _ = stopped.await;
    }));
    Running::new(port, stop, task)
}

/// The first sample line of `name` (a name prefix, e.g. `foo{` or `foo `).
fn sample_line<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find(|line| line.starts_with(name) && !line.starts_with('#'))
}

#[tokio::test]
async fn build_info_carries_the_schema_labels() {
    let telemetry = Telemetry::new().expect("telemetry");
    let running = start(TelemetryServer::new(
        telemetry.registry().clone(),
        Arc::new(ReadyFlag::new()),
    ))
    .await;
    let response = get(running.port, "/metrics", &[]).await;
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .is_some_and(|value| value.starts_with("text/plain")));
    let text = response.text();
    let line = sample_line(&text, "kube_state_exporter_build_info{").expect("build info present");
    let expected_labels = [
        format!("kubernetes_version=\"{}\"", schema::UPSTREAM_KUBERNETES),
        format!("overlays=\"{}\"", schema::OVERLAYS),
        format!("schema_hash=\"{}\"", schema::SCHEMA_HASH),
        format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
    ];
    for label in &expected_labels {
        assert!(line.contains(label.as_str()), "{line} lacks {label}");
    }
    assert!(line.ends_with("} 1"), "{line}");
    assert!(!schema::UPSTREAM_KUBERNETES.is_empty() && !schema::SCHEMA_HASH.is_empty());
    assert!(text.contains("# TYPE kube_state_exporter_scrape_duration_seconds histogram"));
    assert!(text.contains("# TYPE kube_state_exporter_scrape_response_size_bytes histogram"));
    running.stop().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn process_metrics_are_served() {
    let telemetry = Telemetry::new().expect("telemetry");
    let running = start(TelemetryServer::new(
        telemetry.registry().clone(),
        Arc::new(ReadyFlag::new()),
    ))
    .await;
    let text = get(running.port, "/metrics", &[]).await.text();
    let resident = sample_line(&text, "process_resident_memory_bytes ").expect("resident memory");
    let bytes: f64 = resident
        .rsplit(' ')
        .next()
        .and_then(|value| value.parse().ok())
        .expect("a number");
    assert!(bytes > 0.0, "{resident}");
    assert!(sample_line(&text, "process_open_fds ").is_some());
    assert!(sample_line(&text, "process_cpu_seconds_total ").is_some());
    running.stop().await;
}

#[tokio::test]
async fn collectors_registered_later_are_served() {
    let telemetry = Telemetry::new().expect("telemetry");
    let counter = prometheus::IntCounter::new(
        "kube_state_exporter_test_total",
        "registered by another part",
    )
    .expect("counter");
    telemetry
        .registry()
        .register(Box::new(counter.clone()))
        .expect("register");
    counter.inc_by(3);
    let running = start(TelemetryServer::new(
        telemetry.registry().clone(),
        Arc::new(ReadyFlag::new()),
    ))
    .await;
    let text = get(running.port, "/metrics", &[]).await.text();
    assert_eq!(
        sample_line(&text, "kube_state_exporter_test_total "),
        Some("kube_state_exporter_test_total 3")
    );
    running.stop().await;
}

#[tokio::test]
async fn readyz_follows_the_readiness_handle() {
    let telemetry = Telemetry::new().expect("telemetry");
    let ready = ReadyFlag::new();
    let running = start(TelemetryServer::new(
        telemetry.registry().clone(),
        Arc::new(ready.clone()),
    ))
    .await;
    assert_eq!(get(running.port, "/readyz", &[]).await.status, 503);
    ready.set_ready(true);
    let response = get(running.port, "/readyz", &[]).await;
    assert_eq!((response.status, response.text().as_str()), (200, "OK\n"));
    ready.set_ready(false);
    assert_eq!(get(running.port, "/readyz", &[]).await.status, 503);
    let index = get(running.port, "/", &[]).await;
    assert!(
        index.text().contains("href=\"/readyz\"") && index.text().contains("href=\"/metrics\"")
    );
    running.stop().await;
}
