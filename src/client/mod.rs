//! The hand-written Kubernetes client: raw GETs through `kube::Client::send` (kube
//! supplies auth and TLS), Content-Type dispatch, Status errors, list pages and watch
//! framing. No JSON helpers of kube are used: they assume JSON error bodies.

pub mod connect;
pub mod decode;
pub mod frame;
pub mod list;
pub mod metrics;
pub mod request;
pub mod status;
pub mod watch;

use bytes::Bytes;
use http_body_util::BodyExt;
use thiserror::Error;

pub use connect::{connect, resolve_config, ConnectError, ConnectOptions};
pub use decode::{DecodeError, Format, ListDecodeError, ListDecoder};
pub use frame::{FrameError, DEFAULT_MAX_FRAME};
pub use list::{
    list_all, list_pages, ListOptions, ListOutcome, ListProgress, ListSummary,
    DEFAULT_STALL_TIMEOUT,
};
pub use metrics::ClientMetrics;
pub use request::Target;
pub use status::ApiError;
pub use watch::{start_streaming_list, start_watch, WatchEvent, WatchOptions, WatchStream};

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("request failed: {0}")]
    Transport(#[source] kube::Error),
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("reading the response body: {0}")]
    Body(String),
    #[error("decoding a {format} response: {source}")]
    Decode {
        format: &'static str,
        #[source]
        source: DecodeError,
        /// The bytes that failed (whole body or watch frame), for drift diagnosis.
        bytes: Bytes,
    },
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("{what} stalled: no bytes for {after:?} ({received} bytes, {objects} objects received before); abandoned")]
    Stalled {
        what: &'static str,
        after: std::time::Duration,
        received: u64,
        objects: usize,
    },
    #[error("no answer within {0:?}: connection presumed dead")]
    IdleTimeout(std::time::Duration),
    #[error("could not build the request for {path}: {reason}")]
    Request { path: String, reason: String },
}

impl ClientError {
    /// An expired resourceVersion / continue token: the cure is a fresh list.
    pub fn is_expired(&self) -> bool {
        matches!(self, ClientError::Api(api) if api.is_expired())
    }

    /// What the server asked us to wait (429/503 Retry-After).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ClientError::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// A protobuf object that did not match our schema (drift), with its bytes.
    pub fn schema_mismatch(&self) -> Option<&Bytes> {
        match self {
            ClientError::Decode { source, bytes, .. } if source.is_schema_mismatch() => Some(bytes),
            _ => None,
        }
    }
}

/// The bytes a decode error keeps for diagnosis: none of a kind whose bodies may
/// carry values that must not be held (a Table row's object still has its
/// annotations before decode drops the one that copies a Secret's values).
pub(crate) fn kept_for_diagnosis(resource: &crate::api::ResourceType, bytes: Bytes) -> Bytes {
    if resource.metadata_only() {
        Bytes::new()
    } else {
        bytes
    }
}

/// A successful response, headers read, body not yet.
pub struct Response {
    pub content_type: String,
    pub body: kube::client::Body,
}

/// Issues raw GET requests to the apiserver.
#[derive(Clone)]
pub struct ApiClient {
    inner: kube::Client,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiClient")
    }
}

impl ApiClient {
    pub fn new(inner: kube::Client) -> ApiClient {
        ApiClient { inner }
    }

    /// GETs `path_and_query`; a non-2xx answer becomes [`ClientError::Api`] with its
    /// Status decoded (protobuf or JSON).
    pub async fn get(&self, path_and_query: &str, accept: &str) -> Result<Response, ClientError> {
        let request = http::Request::builder()
            .method(http::Method::GET)
            .uri(path_and_query)
            .header(http::header::ACCEPT, accept)
            .body(kube::client::Body::empty())
            .map_err(|e| ClientError::Request {
                path: path_and_query.to_string(),
                reason: e.to_string(),
            })?;
        let response = self
            .inner
            .send(request)
            .await
            .map_err(ClientError::Transport)?;
        let (parts, body) = response.into_parts();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !parts.status.is_success() {
            let retry_after =
                status::parse_retry_after(parts.headers.get(http::header::RETRY_AFTER));
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            return Err(ClientError::Api(ApiError::from_response(
                parts.status.as_u16(),
                &content_type,
                &bytes,
                retry_after,
            )));
        }
        Ok(Response { content_type, body })
    }

    /// GETs a whole body.
    pub async fn get_bytes(
        &self,
        path_and_query: &str,
        accept: &str,
    ) -> Result<(String, Bytes), ClientError> {
        let response = self.get(path_and_query, accept).await?;
        let bytes = response
            .body
            .collect()
            .await
            .map_err(|e| ClientError::Body(e.to_string()))?
            .to_bytes();
        Ok((response.content_type, bytes))
    }
}
