//! The HTTP servers: metrics (`/metrics`, `/healthz`, `/livez`) and telemetry (self-metrics,
//! `/readyz`). They know nothing of objects or protobuf: they serve a
//! [`MetricsSource`](crate::metrics::MetricsSource), a [`LivenessProbe`] and a [`Readiness`].

pub mod compress;
mod conn;
mod metrics_server;
pub mod negotiate;
mod probes;
pub mod security;
pub mod stream;
mod telemetry_server;
mod web_config;

use std::io;

use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use tokio::net::TcpListener;

pub use conn::Timeouts;
pub use metrics_server::{serve_metrics, MetricsServer};
pub use probes::{AlwaysLive, LivenessProbe, ProbeFuture, Readiness, ReadyFlag};
pub use security::{AuthFilter, Security, WebConfigSource};
pub use telemetry_server::{serve_telemetry, TelemetryServer};

use conn::ResponseBody;

/// Binds `host:port`; `host` may be an IPv6 literal without brackets (`::`, KSM's default,
/// which on Linux also accepts IPv4) or a name.
pub async fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    let address = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let bound = TcpListener::bind(&address).await;
    // Go falls back to IPv4 for "::" on hosts without IPv6; so do we.
    let bound = match bound {
        Err(error) if host == "::" && ipv6_unavailable(&error) => {
            tracing::info!(%error, "IPv6 unavailable; listening on 0.0.0.0 instead of ::");
            TcpListener::bind(("0.0.0.0", port)).await
        }
        other => other,
    };
    bound.map_err(|error| io::Error::new(error.kind(), format!("listening on {address}: {error}")))
}

fn ipv6_unavailable(error: &io::Error) -> bool {
    // EAFNOSUPPORT (97 on Linux) has no ErrorKind of its own.
    error.kind() == io::ErrorKind::AddrNotAvailable
        || (cfg!(target_os = "linux") && error.raw_os_error() == Some(97))
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM (what the kubelet sends).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the exporter");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn text_response(status: StatusCode, text: &str) -> Response<ResponseBody> {
    let body = Full::new(bytes::Bytes::copy_from_slice(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A small landing page linking the endpoints (KSM serves one too).
fn index_page(title: &str, links: &[(&str, &str)]) -> Response<ResponseBody> {
    let items: String = links
        .iter()
        .map(|(href, label)| format!("<li><a href=\"{href}\">{label}</a></li>\n"))
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>version {}</p>\n<ul>\n{items}</ul>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut response = text_response(StatusCode::OK, &html);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}
