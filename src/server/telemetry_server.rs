//! The telemetry server: self-metrics on `/metrics`, `/readyz`, an index page.

use std::future::Future;
use std::io;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;

use super::conn::{self, Handler, HandlerFuture, ResponseBody, Timeouts};
use super::probes::Readiness;
use super::security::Security;
use super::{index_page, text_response};

/// Everything the telemetry server needs.
pub struct TelemetryServer {
    /// Usually `Telemetry::registry().clone()` (a `Registry` clone shares its collectors).
    pub registry: Registry,
    pub readiness: Arc<dyn Readiness>,
    pub timeouts: Timeouts,
    /// `--tls-config` and `--auth-filter` (none by default).
    pub security: Security,
}

impl TelemetryServer {
    /// KSM's telemetry timeouts (read-header only).
    pub fn new(registry: Registry, readiness: Arc<dyn Readiness>) -> Self {
        TelemetryServer {
            registry,
            readiness,
            timeouts: Timeouts::TELEMETRY_DEFAULT,
            security: Security::default(),
        }
    }
}

/// Serves the telemetry endpoints on `listener` until `shutdown` resolves.
pub async fn serve_telemetry(
    listener: TcpListener,
    server: TelemetryServer,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let timeouts = server.timeouts;
    let security = server.security.clone();
    let server = Arc::new(server);
    let handler: Handler = Arc::new(move |request| route(server.clone(), request));
    conn::serve(listener, timeouts, handler, security, shutdown).await
}

const INDEX_LINKS: &[(&str, &str)] = &[("/metrics", "Metrics"), ("/readyz", "Readyz")];

fn route(server: Arc<TelemetryServer>, request: Request<Incoming>) -> HandlerFuture {
    let response = match request.uri().path() {
        "/metrics" => self_metrics(&server.registry),
        "/readyz" if server.readiness.is_ready() => text_response(StatusCode::OK, "OK\n"),
        "/readyz" => text_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("not ready: {}\n", server.readiness.not_ready_reason()),
        ),
        "/" => index_page("kube-state-exporter telemetry", INDEX_LINKS),
        _ => text_response(StatusCode::NOT_FOUND, "404 page not found\n"),
    };
    Box::pin(async move { response })
}

/// Self-metrics are small: encoded whole.
fn self_metrics(registry: &Registry) -> Response<ResponseBody> {
    let encoder = TextEncoder::new();
    let mut text = Vec::new();
    if let Err(error) = encoder.encode(&registry.gather(), &mut text) {
        tracing::error!(%error, "encoding self-metrics failed");
        return text_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("encoding self-metrics: {error}\n"),
        );
    }
    let mut response = Response::new(
        Full::new(text.into())
            .map_err(|never| match never {})
            .boxed(),
    );
    if let Ok(content_type) = HeaderValue::from_str(encoder.format_type()) {
        response.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    response
}
