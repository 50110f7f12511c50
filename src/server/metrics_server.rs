//! The main server: `/metrics` (streamed, negotiated, optionally gzipped), `/healthz`,
//! `/livez` and an index page.

use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::compress::ParallelEncoder;
use super::conn::{self, Handler, HandlerFuture, ResponseBody, Timeouts};
use super::negotiate::{self, CompressionPolicy, Encoding};
use super::probes::LivenessProbe;
use super::security::Security;
use super::stream::{self, ChannelBody, ChannelWriter};
use super::{index_page, text_response};
use crate::metrics::{MetricsSource, RenderRequest};
use crate::telemetry::ScrapeMetrics;

/// Everything the metrics server needs; build with [`MetricsServer::new`] and adjust fields.
pub struct MetricsServer {
    pub source: Arc<dyn MetricsSource>,
    pub liveness: Arc<dyn LivenessProbe>,
    /// `--enable-gzip-encoding`: gzip only when this is set and the client asks for it.
    pub enable_gzip: bool,
    /// zstd when the client asks for it (Prometheus with its `zstd-scrape` feature).
    pub enable_zstd: bool,
    pub timeouts: Timeouts,
    /// `--tls-config` and `--auth-filter` (none by default).
    pub security: Security,
    /// Where scrape duration and size are recorded (the telemetry registry).
    pub scrape_metrics: Option<ScrapeMetrics>,
    /// `--max-concurrent-scrapes`: scrapes rendering at once; more wait up to
    /// [`SCRAPE_QUEUE_WAIT`] in a queue of the same length, then get 503.
    pub max_concurrent_scrapes: usize,
    /// `--scrape-stall-timeout`: a client that takes nothing for this long is dropped and
    /// its scrape's memory released (zero: wait for the write timeout only).
    pub stall_timeout: Duration,
}

impl MetricsServer {
    /// KSM defaults: no gzip, KSM's timeouts, no scrape metrics.
    pub fn new(source: Arc<dyn MetricsSource>, liveness: Arc<dyn LivenessProbe>) -> Self {
        MetricsServer {
            source,
            liveness,
            enable_gzip: false,
            enable_zstd: true,
            timeouts: Timeouts::METRICS_DEFAULT,
            scrape_metrics: None,
            security: Security::default(),
            max_concurrent_scrapes: DEFAULT_MAX_CONCURRENT_SCRAPES,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

/// Default of `--max-concurrent-scrapes`.
pub const DEFAULT_MAX_CONCURRENT_SCRAPES: usize = 8;
/// Default of `--scrape-stall-timeout`: Prometheus' default scrape timeout; a scraper that
/// took nothing for that long has given up.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a scrape beyond the cap waits for a slot before its 503.
pub const SCRAPE_QUEUE_WAIT: Duration = Duration::from_secs(2);
/// `Retry-After` of that 503, in seconds.
const RETRY_AFTER_SECONDS: &str = "1";

/// Admission of scrapes: at most `max` render at once and at most `max` wait.
struct ScrapeLimiter {
    slots: Arc<Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

impl ScrapeLimiter {
    fn new(max: usize) -> Self {
        let max = max.max(1);
        ScrapeLimiter {
            slots: Arc::new(Semaphore::new(max)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            max_waiting: max,
        }
    }

    async fn admit(&self) -> Option<OwnedSemaphorePermit> {
        use std::sync::atomic::Ordering;
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Some(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let acquired =
            tokio::time::timeout(SCRAPE_QUEUE_WAIT, Arc::clone(&self.slots).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        acquired.ok().and_then(Result::ok)
    }
}

struct Shared {
    server: MetricsServer,
    limiter: ScrapeLimiter,
}

/// Serves the metrics endpoints on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    server: MetricsServer,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let timeouts = server.timeouts;
    let security = server.security.clone();
    let shared = Arc::new(Shared {
        limiter: ScrapeLimiter::new(server.max_concurrent_scrapes),
        server,
    });
    let handler: Handler = Arc::new(move |request| route(shared.clone(), request));
    conn::serve(listener, timeouts, handler, security, shutdown).await
}

const INDEX_LINKS: &[(&str, &str)] = &[
    ("/metrics", "Metrics"),
    ("/healthz", "Healthz"),
    ("/livez", "Livez"),
];

fn route(shared: Arc<Shared>, request: Request<Incoming>) -> HandlerFuture {
    Box::pin(async move {
        let server = &shared.server;
        match request.uri().path() {
            "/metrics" => {
                let started = Instant::now();
                let response = match shared.limiter.admit().await {
                    Some(permit) => scrape(server, &request, permit),
                    None => busy(server.max_concurrent_scrapes),
                };
                match &server.scrape_metrics {
                    Some(metrics) => response.map(|body| {
                        metrics
                            .time_request(request.method(), started, body)
                            .boxed()
                    }),
                    None => response,
                }
            }
            "/healthz" => text_response(StatusCode::OK, "OK\n"),
            "/livez" => match liveness(server.liveness.as_ref()).await {
                Ok(()) => text_response(StatusCode::OK, "OK\n"),
                Err(reason) => {
                    tracing::warn!(%reason, "liveness check failed");
                    text_response(StatusCode::SERVICE_UNAVAILABLE, &format!("{reason}\n"))
                }
            },
            "/" => index_page("kube-state-exporter", INDEX_LINKS),
            _ => text_response(StatusCode::NOT_FOUND, "404 page not found\n"),
        }
    })
}

/// A probe that hangs must not hold the request until the write timeout.
const LIVENESS_TIMEOUT: Duration = Duration::from_secs(10);

async fn liveness(probe: &dyn LivenessProbe) -> Result<(), String> {
    match tokio::time::timeout(LIVENESS_TIMEOUT, probe.check()).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", LIVENESS_TIMEOUT.as_secs())),
    }
}

fn header(request: &Request<Incoming>, name: hyper::header::HeaderName) -> Option<&str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

fn busy(max: usize) -> Response<ResponseBody> {
    tracing::warn!(
        max_concurrent_scrapes = max,
        "refusing a scrape: too many scrapes in progress and queued"
    );
    let mut response = text_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many concurrent scrapes; retry shortly\n",
    );
    response.headers_mut().insert(
        hyper::header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    response
}

fn scrape(
    server: &MetricsServer,
    request: &Request<Incoming>,
    permit: OwnedSemaphorePermit,
) -> Response<ResponseBody> {
    let started = Instant::now();
    let format = negotiate::negotiate_format(header(request, ACCEPT));
    let policy = CompressionPolicy {
        gzip: server.enable_gzip,
        zstd: server.enable_zstd,
    };
    let encoding = negotiate::negotiate_encoding(header(request, ACCEPT_ENCODING), policy);
    let render = negotiate::render_request(format, request.uri().query());
    let (writer, body) = stream::channel_with_stall_timeout(Some(server.stall_timeout));
    let source = server.source.clone();
    tokio::task::spawn_blocking(move || {
        write_exposition(source.as_ref(), &render, writer, encoding);
        // The slot is free once the scrape's thread, snapshot and buffers are.
        drop(permit);
        crate::memory::release_freed();
    });

    let body = ScrapeBody {
        inner: body,
        started,
        bytes: 0,
        metrics: server.scrape_metrics.clone(),
    };
    let mut response = Response::new(body.boxed());
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(negotiate::content_type(format)),
    );
    if let Some(coding) = encoding.header_value() {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

/// Runs on a blocking thread: the source writes straight into the response body.
fn write_exposition(
    source: &dyn MetricsSource,
    request: &RenderRequest,
    writer: ChannelWriter,
    encoding: Encoding,
) {
    let failure = writer.failure_handle();
    let outcome = catch_unwind(AssertUnwindSafe(|| -> io::Result<()> {
        if encoding == Encoding::Identity {
            let mut writer = writer;
            source.stream_exposition(request, &mut writer)?;
            writer.finish()
        } else {
            let mut encoder = ParallelEncoder::with_default_level(writer, encoding);
            source.stream_exposition(request, &mut encoder)?;
            encoder.finish()?.finish()
        }
    }));
    let error = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            tracing::debug!("scrape client went away before the end of the body");
            return;
        }
        Ok(Err(error)) if error.kind() == io::ErrorKind::TimedOut => {
            tracing::warn!(%error, "dropping a stalled scrape client");
            failure.fail(error);
            return;
        }
        Ok(Err(error)) => error,
        Err(_panic) => io::Error::other("the metrics source panicked"),
    };
    tracing::error!(%error, "writing the metrics exposition failed; aborting the response");
    failure.fail(error);
}

/// Counts the bytes sent and records duration and size once the body is done.
struct ScrapeBody {
    inner: ChannelBody,
    started: Instant,
    bytes: u64,
    metrics: Option<ScrapeMetrics>,
}

impl Body for ScrapeBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.bytes += data.len() as u64;
            }
        }
        polled
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ScrapeBody {
    fn drop(&mut self) {
        if let Some(metrics) = &self.metrics {
            metrics.observe(self.started.elapsed().as_secs_f64(), self.bytes);
        }
    }
}
