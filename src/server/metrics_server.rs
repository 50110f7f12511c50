//! The main server: `/metrics` (streamed, negotiated, optionally gzipped), `/healthz`,
//! `/livez` and an index page.

use std::future::Future;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;

use super::conn::{self, Handler, HandlerFuture, ResponseBody, Timeouts};
use super::negotiate;
use super::probes::LivenessProbe;
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
    pub timeouts: Timeouts,
    /// Where scrape duration and size are recorded (the telemetry registry).
    pub scrape_metrics: Option<ScrapeMetrics>,
}

impl MetricsServer {
    /// KSM defaults: no gzip, KSM's timeouts, no scrape metrics.
    pub fn new(source: Arc<dyn MetricsSource>, liveness: Arc<dyn LivenessProbe>) -> Self {
        MetricsServer {
            source,
            liveness,
            enable_gzip: false,
            timeouts: Timeouts::METRICS_DEFAULT,
            scrape_metrics: None,
        }
    }
}

/// Serves the metrics endpoints on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    server: MetricsServer,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let timeouts = server.timeouts;
    let server = Arc::new(server);
    let handler: Handler = Arc::new(move |request| route(server.clone(), request));
    conn::serve(listener, timeouts, handler, shutdown).await
}

const INDEX_LINKS: &[(&str, &str)] = &[
    ("/metrics", "Metrics"),
    ("/healthz", "Healthz"),
    ("/livez", "Livez"),
];

fn route(server: Arc<MetricsServer>, request: Request<Incoming>) -> HandlerFuture {
    Box::pin(async move {
        match request.uri().path() {
            "/metrics" => scrape(&server, &request),
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

fn scrape(server: &MetricsServer, request: &Request<Incoming>) -> Response<ResponseBody> {
    let started = Instant::now();
    let format = negotiate::negotiate_format(header(request, ACCEPT));
    let gzip = server.enable_gzip && negotiate::accepts_gzip(header(request, ACCEPT_ENCODING));
    let render = negotiate::render_request(format, request.uri().query());
    let (writer, body) = stream::channel();
    let source = server.source.clone();
    tokio::task::spawn_blocking(move || write_exposition(source.as_ref(), &render, writer, gzip));

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
    if gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Runs on a blocking thread: the source writes straight into the response body.
fn write_exposition(
    source: &dyn MetricsSource,
    request: &RenderRequest,
    writer: ChannelWriter,
    gzip: bool,
) {
    let failure = writer.failure_handle();
    let outcome = catch_unwind(AssertUnwindSafe(|| -> io::Result<()> {
        if gzip {
            let mut encoder = GzEncoder::new(writer, Compression::default());
            source.write_exposition(request, &mut encoder)?;
            encoder.flush()?;
            encoder.finish()?.finish()
        } else {
            let mut writer = writer;
            source.write_exposition(request, &mut writer)?;
            writer.finish()
        }
    }));
    let error = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            tracing::debug!("scrape client went away before the end of the body");
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
