//! The metrics server against fake sources on 127.0.0.1: negotiation, gzip, filters,
//! streaming, health endpoints, failure handling, timeouts and scrape telemetry.

mod server_support;

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::server::{self, AlwaysLive, LivenessProbe, MetricsServer, Timeouts};
use kube_state_exporter::telemetry::Telemetry;
use server_support::{connect, get, parse_response, request_bytes, Running, PATIENCE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EXPOSITION: &str = "# HELP kube_node_created [STABLE] Unix creation timestamp.\n# TYPE kube_node_created gauge\nkube_node_created{node=\"a\"} 1.5e+09\n";

/// Writes [`EXPOSITION`] (plus `# EOF` for OpenMetrics, as real sources do) and records
/// every request it was asked to render.
#[derive(Default, Clone)]
struct RecordingSource {
    requests: Arc<Mutex<Vec<RenderRequest>>>,
}

impl MetricsSource for RecordingSource {
    fn write_exposition(&self, request: &RenderRequest, out: &mut dyn Write) -> io::Result<()> {
        self.requests.lock().expect("lock").push(request.clone());
        out.write_all(EXPOSITION.as_bytes())?;
        if request.format == ExpositionFormat::OpenMetrics {
            out.write_all(b"# EOF\n")?;
        }
        Ok(())
    }
}

/// Writes `total` bytes of sample lines in small writes.
struct BigSource {
    total: usize,
}

const BIG_LINE: &[u8] = b"kube_pod_info{namespace=\"default\",pod=\"big\",uid=\"0\"} 1\n";

impl MetricsSource for BigSource {
    fn write_exposition(&self, _request: &RenderRequest, out: &mut dyn Write) -> io::Result<()> {
        let mut written = 0;
        while written < self.total {
            let line = &BIG_LINE[..BIG_LINE.len().min(self.total - written)];
            out.write_all(line)?;
            written += line.len();
        }
        Ok(())
    }
}

fn big_body(total: usize) -> Vec<u8> {
    BIG_LINE.iter().copied().cycle().take(total).collect()
}

async fn start(server: MetricsServer) -> Running {
    let listener = server::bind("127.0.0.1", 0).await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_metrics(listener, server, async {
        let _ = stopped.await;
    }));
    Running::new(port, stop, task)
}

fn recording_server(enable_gzip: bool) -> (RecordingSource, MetricsServer) {
    let source = RecordingSource::default();
    let mut server = MetricsServer::new(Arc::new(source.clone()), Arc::new(AlwaysLive));
    server.enable_gzip = enable_gzip;
    (source, server)
}

#[tokio::test]
async fn text_format_by_default() {
    let (source, server) = recording_server(false);
    let running = start(server).await;
    let response = get(running.port, "/metrics", &[]).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(response.text(), EXPOSITION);
    assert_eq!(
        source.requests.lock().expect("lock")[0].format,
        ExpositionFormat::Text
    );
    running.stop().await;
}

#[tokio::test]
async fn openmetrics_when_the_accept_header_prefers_it() {
    let (source, server) = recording_server(false);
    let running = start(server).await;
    let accept =
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let response = get(running.port, "/metrics", &[("Accept", accept)]).await;
    assert_eq!(
        response.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(
        response.text().ends_with("# EOF\n"),
        "body: {}",
        response.text()
    );
    assert_eq!(
        source.requests.lock().expect("lock")[0].format,
        ExpositionFormat::OpenMetrics
    );

    let response = get(
        running.port,
        "/metrics",
        &[("Accept", "text/plain;version=0.0.4")],
    )
    .await;
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!response.text().contains("# EOF"));
    running.stop().await;
}

fn gunzip(data: &[u8]) -> String {
    let mut text = String::new();
    MultiGzDecoder::new(data)
        .read_to_string(&mut text)
        .expect("valid gzip");
    text
}

#[tokio::test]
async fn gzip_needs_both_the_flag_and_the_header() {
    let (_, without_flag) = recording_server(false);
    let running = start(without_flag).await;
    let response = get(running.port, "/metrics", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.text(), EXPOSITION);
    running.stop().await;

    let (_, with_flag) = recording_server(true);
    let running = start(with_flag).await;
    let response = get(running.port, "/metrics", &[]).await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.text(), EXPOSITION);

    let response = get(
        running.port,
        "/metrics",
        &[("Accept-Encoding", "deflate, gzip;q=0.8")],
    )
    .await;
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&response.body), EXPOSITION);
    running.stop().await;
}

#[tokio::test]
async fn resource_filters_reach_the_source() {
    let (source, server) = recording_server(false);
    let running = start(server).await;
    let response = get(
        running.port,
        "/metrics?resources=pods,nodes&exclude_resources=nodes",
        &[],
    )
    .await;
    assert_eq!(response.status, 200);
    let request = source.requests.lock().expect("lock")[0].clone();
    assert_eq!(
        request.include,
        Some(["nodes".to_string(), "pods".to_string()].into())
    );
    assert_eq!(request.exclude, ["nodes".to_string()].into());
    assert!(request.wants("pods") && !request.wants("nodes") && !request.wants("services"));
    running.stop().await;
}

#[tokio::test]
async fn fifty_megabytes_are_streamed_chunked() {
    const TOTAL: usize = 50 * 1024 * 1024;
    let running = start(MetricsServer::new(
        Arc::new(BigSource { total: TOTAL }),
        Arc::new(AlwaysLive),
    ))
    .await;
    let response = get(running.port, "/metrics", &[]).await;
    assert!(response.chunked, "headers: {:?}", response.headers);
    assert_eq!(response.header("content-length"), None);
    assert!(response.complete);
    assert_eq!(response.body.len(), TOTAL);
    assert!(
        response.body == big_body(TOTAL),
        "body differs from what the source wrote"
    );
    running.stop().await;
}

#[tokio::test]
async fn fifty_megabytes_gzipped_decompress_to_the_original() {
    const TOTAL: usize = 50 * 1024 * 1024;
    let mut server = MetricsServer::new(Arc::new(BigSource { total: TOTAL }), Arc::new(AlwaysLive));
    server.enable_gzip = true;
    let running = start(server).await;
    let response = get(running.port, "/metrics", &[("Accept-Encoding", "gzip")]).await;
    assert!(response.chunked && response.complete);
    assert!(
        response.body.len() < TOTAL / 10,
        "compressed size {}",
        response.body.len()
    );
    let mut plain = Vec::new();
    // The body is a series of gzip members (one per 256 KiB block, compressed in
    // parallel); RFC 1952 readers, Go's included, read them as one stream.
    MultiGzDecoder::new(response.body.as_slice())
        .read_to_end(&mut plain)
        .expect("valid gzip");
    assert!(plain == big_body(TOTAL));
    running.stop().await;
}

/// Writes a first part, then waits until the test has *received* it before writing the
/// rest. A server that buffered the whole body would never deliver the first part, and the
/// test would hit its safety timeout instead.
struct GatedSource {
    gate: Mutex<std::sync::mpsc::Receiver<()>>,
}

const FIRST_PART: usize = 1024 * 1024;

impl MetricsSource for GatedSource {
    fn write_exposition(&self, _request: &RenderRequest, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(&vec![b'a'; FIRST_PART])?;
        let gate = self.gate.lock().expect("lock");
        gate.recv_timeout(PATIENCE)
            .map_err(|_| io::Error::other("the test never opened the gate"))?;
        out.write_all(b"second part\n")
    }
}

#[tokio::test]
async fn the_first_part_arrives_before_the_source_finishes() {
    let (open_gate, gate) = std::sync::mpsc::channel();
    let source = GatedSource {
        gate: Mutex::new(gate),
    };
    let running = start(MetricsServer::new(Arc::new(source), Arc::new(AlwaysLive))).await;
    let mut stream = connect(running.port).await;
    stream
        .write_all(&request_bytes("/metrics", &[]))
        .await
        .expect("send");
    let mut raw = Vec::new();
    let mut buffer = vec![0; 64 * 1024];
    // Bounded: stop once the first part (plus head and framing) is in.
    while raw.len() < FIRST_PART {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("first part arrived while the source was still blocked")
            .expect("read");
        assert_ne!(read, 0, "connection closed early");
        raw.extend_from_slice(&buffer[..read]);
    }
    open_gate.send(()).expect("source waiting");
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("rest in time")
        .expect("read");
    let response = parse_response(&raw);
    assert!(response.chunked && response.complete);
    assert_eq!(response.body.len(), FIRST_PART + "second part\n".len());
    assert!(response.body.ends_with(b"asecond part\n"));
    running.stop().await;
}

struct FailingSource;

impl MetricsSource for FailingSource {
    fn write_exposition(&self, _request: &RenderRequest, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(&vec![b'x'; 200 * 1024])?;
        Err(io::Error::other("store went away"))
    }
}

#[tokio::test]
async fn a_failing_source_aborts_the_response_instead_of_truncating_it_silently() {
    let running = start(MetricsServer::new(
        Arc::new(FailingSource),
        Arc::new(AlwaysLive),
    ))
    .await;
    // Either way the scrape fails visibly: hyper writes the head with the first body
    // bytes it flushes, so when the error reaches it before a flush the connection is
    // closed with no response at all; otherwise the chunked body stops short of its
    // terminating chunk. What must never happen is a complete response.
    let mut stream = connect(running.port).await;
    stream
        .write_all(&request_bytes("/metrics", &[]))
        .await
        .expect("sending the request");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("the server ends the connection in time");
    if raw.windows(4).any(|window| window == b"\r\n\r\n") {
        let response = parse_response(&raw);
        assert_eq!(response.status, 200, "the head promised a body");
        assert!(response.chunked);
        assert!(
            !response.complete,
            "the body must not end with the terminating chunk"
        );
    } else {
        assert!(
            !raw.starts_with(b"HTTP/1.1 200"),
            "no partial head: {raw:?}"
        );
    }
    running.stop().await;
}

struct PanickingSource;

impl MetricsSource for PanickingSource {
    fn write_exposition(&self, _request: &RenderRequest, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"kube_x 1\n")?;
        panic!("bug in a metric family");
    }
}

#[tokio::test]
async fn a_panicking_source_aborts_the_response() {
    let running = start(MetricsServer::new(
        Arc::new(PanickingSource),
        Arc::new(AlwaysLive),
    ))
    .await;
    let response = get(running.port, "/metrics", &[]).await;
    assert!(!response.complete);
    // The server survives it.
    assert_eq!(get(running.port, "/healthz", &[]).await.status, 200);
    running.stop().await;
}

#[tokio::test]
async fn healthz_index_and_not_found() {
    let (_, server) = recording_server(false);
    let running = start(server).await;
    let healthz = get(running.port, "/healthz", &[]).await;
    assert_eq!((healthz.status, healthz.text().as_str()), (200, "OK\n"));
    let index = get(running.port, "/", &[]).await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    for link in ["href=\"/metrics\"", "href=\"/healthz\"", "href=\"/livez\""] {
        assert!(index.text().contains(link), "index lacks {link}");
    }
    assert_eq!(get(running.port, "/nope", &[]).await.status, 404);
    running.stop().await;
}

#[tokio::test]
async fn livez_reports_the_probe() {
    let probe: Arc<dyn LivenessProbe> =
        Arc::new(|| async { Err::<(), _>("connection refused".to_string()) });
    let (source, _) = recording_server(false);
    let running = start(MetricsServer::new(Arc::new(source.clone()), probe)).await;
    let livez = get(running.port, "/livez", &[]).await;
    assert_eq!(livez.status, 503);
    assert!(
        livez.text().contains("connection refused"),
        "body: {}",
        livez.text()
    );
    running.stop().await;

    let probe: Arc<dyn LivenessProbe> = Arc::new(|| async { Ok::<(), String>(()) });
    let running = start(MetricsServer::new(Arc::new(source), probe)).await;
    let livez = get(running.port, "/livez", &[]).await;
    assert_eq!((livez.status, livez.text().as_str()), (200, "OK\n"));
    running.stop().await;
}

#[tokio::test]
async fn scrape_duration_and_size_are_recorded() {
    let telemetry = Telemetry::new().expect("telemetry");
    let (_, mut server) = recording_server(false);
    server.scrape_metrics = Some(telemetry.scrape_metrics());
    let running = start(server).await;
    let response = get(running.port, "/metrics", &[]).await;
    assert_eq!(response.text(), EXPOSITION);
    running.stop().await;

    let families = telemetry.registry().gather();
    let histogram = |name: &str| {
        let family = families
            .iter()
            .find(|family| family.name() == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        family.get_metric()[0].get_histogram().clone()
    };
    let duration = histogram("kube_state_exporter_scrape_duration_seconds");
    assert_eq!(duration.get_sample_count(), 1);
    let size = histogram("kube_state_exporter_scrape_response_size_bytes");
    assert_eq!(size.get_sample_count(), 1);
    assert_eq!(size.get_sample_sum(), EXPOSITION.len() as f64);
}

/// KSM's `http_request_duration_seconds`: a histogram with client_golang's default
/// buckets, constant label handler="metrics" and the lower-case method, observing
/// `/metrics` requests only.
#[tokio::test]
async fn http_request_duration_seconds_observes_metrics_requests_as_ksm_does() {
    let telemetry = Telemetry::new().expect("telemetry");
    let (_, mut server) = recording_server(false);
    server.scrape_metrics = Some(telemetry.scrape_metrics());
    let running = start(server).await;
    for _ in 0..2 {
        assert_eq!(get(running.port, "/metrics", &[]).await.text(), EXPOSITION);
    }
    assert_eq!(get(running.port, "/healthz", &[]).await.status, 200);
    running.stop().await;

    let families = telemetry.registry().gather();
    let family = families
        .iter()
        .find(|family| family.name() == "http_request_duration_seconds")
        .expect("http_request_duration_seconds");
    assert_eq!(
        family.get_field_type(),
        prometheus::proto::MetricType::HISTOGRAM
    );
    let [metric] = family.get_metric() else {
        panic!("one series expected: {:?}", family.get_metric());
    };
    let labels: Vec<(&str, &str)> = metric
        .get_label()
        .iter()
        .map(|pair| (pair.name(), pair.value()))
        .collect();
    assert_eq!(labels, [("handler", "metrics"), ("method", "get")]);
    let histogram = metric.get_histogram();
    assert_eq!(histogram.get_sample_count(), 2, "/healthz is not observed");
    let bounds: Vec<f64> = histogram
        .get_bucket()
        .iter()
        .map(|bucket| bucket.upper_bound())
        .collect();
    assert_eq!(
        bounds,
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let (_, mut server) = recording_server(false);
    server.timeouts = Timeouts {
        idle: Duration::from_millis(200),
        ..Timeouts::METRICS_DEFAULT
    };
    let running = start(server).await;
    let mut stream = connect(running.port).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("send");
    // Keep-alive: the server answers, then keeps the connection until the idle timeout.
    let mut raw = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("closed by the server");
    read.expect("clean close");
    let response = parse_response(&raw);
    assert_eq!((response.status, response.text().as_str()), (200, "OK\n"));
    running.stop().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_by_the_read_timeout() {
    let (_, mut server) = recording_server(false);
    server.timeouts = Timeouts {
        read: Duration::from_millis(200),
        ..Timeouts::METRICS_DEFAULT
    };
    let running = start(server).await;
    let mut stream = connect(running.port).await;
    let mut raw = Vec::new();
    // Closed (or reset) by the server without a response.
    let _closed = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("closed by the server");
    assert!(raw.is_empty(), "unexpected bytes: {raw:?}");
    running.stop().await;
}

/// Writes until the server refuses more (client gone or timed out), then reports the error.
struct EndlessSource {
    ended: Mutex<std::sync::mpsc::Sender<io::ErrorKind>>,
}

impl MetricsSource for EndlessSource {
    fn write_exposition(&self, _request: &RenderRequest, out: &mut dyn Write) -> io::Result<()> {
        let line = vec![b'x'; 64 * 1024];
        // Bounded: 4 GiB is far more than any socket buffer holds.
        for _ in 0..65_536 {
            if let Err(error) = out.write_all(&line) {
                let _ = self.ended.lock().expect("lock").send(error.kind());
                return Err(error);
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_by_the_write_timeout() {
    let (ended, source_ended) = std::sync::mpsc::channel();
    let mut server = MetricsServer::new(
        Arc::new(EndlessSource {
            ended: Mutex::new(ended),
        }),
        Arc::new(AlwaysLive),
    );
    server.timeouts = Timeouts {
        write: Duration::from_millis(200),
        ..Timeouts::METRICS_DEFAULT
    };
    let running = start(server).await;
    let mut stream = connect(running.port).await;
    stream
        .write_all(&request_bytes("/metrics", &[]))
        .await
        .expect("send");
    // Do not read: the socket buffers fill, the write stalls, the deadline passes and the
    // server drops the response, which the source sees as a failed write.
    let kind = tokio::task::spawn_blocking(move || source_ended.recv_timeout(PATIENCE))
        .await
        .expect("join")
        .expect("the source was stopped");
    assert_eq!(kind, io::ErrorKind::BrokenPipe);
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("closed");
    assert!(
        !parse_response(&raw).complete,
        "the response must be cut off"
    );
    running.stop().await;
}

#[tokio::test]
async fn an_unfinished_request_head_is_cut_off_by_the_read_header_timeout() {
    let (_, mut server) = recording_server(false);
    server.timeouts = Timeouts {
        read_header: Duration::from_millis(200),
        ..Timeouts::METRICS_DEFAULT
    };
    let running = start(server).await;
    let mut stream = connect(running.port).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("send");
    let mut raw = Vec::new();
    // Closed by the server (possibly with a 408); never a 200.
    let _closed = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("closed");
    assert!(!String::from_utf8_lossy(&raw).contains("200 OK"), "{raw:?}");
    running.stop().await;
}

#[tokio::test]
async fn a_keep_alive_connection_outlives_the_read_header_timeout_while_idle() {
    let (_, mut server) = recording_server(false);
    server.timeouts = Timeouts {
        read_header: Duration::from_millis(100),
        ..Timeouts::METRICS_DEFAULT
    };
    let running = start(server).await;
    let mut stream = connect(running.port).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let expected_tail = b"\r\n\r\nOK\n";
    for round in 0..2 {
        stream.write_all(request).await.expect("send");
        let mut raw = Vec::new();
        let mut buffer = [0; 1024];
        // Bounded: one small response.
        while !raw.ends_with(expected_tail) {
            let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
                .await
                .expect("answer")
                .expect("read");
            assert_ne!(read, 0, "round {round}: connection closed while idle");
            raw.extend_from_slice(&buffer[..read]);
        }
        assert!(raw.starts_with(b"HTTP/1.1 200 OK"));
        // Idle for longer than the read-header timeout (but far below the 5 minute idle one).
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    running.stop().await;
}
