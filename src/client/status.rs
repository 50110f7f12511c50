//! Turns an apiserver error answer (a `Status` body, protobuf or JSON) into a readable
//! error. kube's own helpers assume JSON here, which is why we decode it ourselves.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::api::envelope::{self, Body, PROTOBUF_CONTENT_TYPE};

/// An HTTP error from the apiserver, with what its `Status` body said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code (or `Status.code` for an in-band watch ERROR).
    pub code: u16,
    /// `Status.reason` (`Expired`, `NotFound`, …), empty when the body had none.
    pub reason: String,
    /// `Status.message`, or the start of the body when it was not a Status.
    pub message: String,
    /// `Retry-After` header, when the server sent one (429/503).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// 410 Gone: the resourceVersion or continue token is too old; relist.
    pub fn is_expired(&self) -> bool {
        self.code == 410 || self.reason == "Expired" || self.reason == "Gone"
    }

    pub fn from_status(status: &crate::api::meta::v1::Status) -> ApiError {
        ApiError {
            code: status.code.and_then(|c| u16::try_from(c).ok()).unwrap_or(0),
            reason: status.reason.clone().unwrap_or_default(),
            message: status.message.clone().unwrap_or_default(),
            retry_after: None,
        }
    }

    /// Reads an error response: a protobuf or JSON `Status` when the body is one,
    /// otherwise the (truncated) body text so the log still says something useful.
    pub fn from_response(
        code: u16,
        content_type: &str,
        body: &Bytes,
        retry_after: Option<Duration>,
    ) -> ApiError {
        let mut error = if content_type.starts_with(PROTOBUF_CONTENT_TYPE) {
            match envelope::decode(body.clone()) {
                Ok(Body::Status(status)) => Some(ApiError::from_status(&status)),
                _ => None,
            }
        } else {
            status_from_json(body)
        }
        .unwrap_or_else(|| ApiError {
            code,
            reason: String::new(),
            message: preview(body),
            retry_after: None,
        });
        // The HTTP code is authoritative; Status.code is sometimes 0 in hand-made bodies.
        error.code = code;
        error.retry_after = retry_after;
        error
    }
}

/// Reads a JSON `Status` (in-band watch ERROR objects, JSON error bodies).
pub fn status_from_json(body: &[u8]) -> Option<ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("kind")?.as_str()? != "Status" {
        return None;
    }
    let text = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Some(ApiError {
        code: value
            .get("code")
            .and_then(|c| c.as_u64())
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(0),
        reason: text("reason"),
        message: text("message"),
        retry_after: None,
    })
}

/// At most 200 bytes of a body, lossily as text.
fn preview(body: &[u8]) -> String {
    let cut = &body[..body.len().min(200)];
    String::from_utf8_lossy(cut).into_owned()
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.code)?;
        if !self.reason.is_empty() {
            write!(f, " {}", self.reason)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {}s)", after.as_secs())?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Parses `Retry-After` in its seconds form (the apiserver never sends a date).
pub fn parse_retry_after(value: Option<&http::HeaderValue>) -> Option<Duration> {
    let seconds: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_json_status() {
        let body = Bytes::from_static(
            br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (313)","reason":"Expired","code":410}"#,
        );
        let error = ApiError::from_response(410, "application/json", &body, None);
        assert!(error.is_expired());
        assert_eq!(
            error.to_string(),
            "HTTP 410 Expired: too old resource version: 1 (313)"
        );
    }

    #[test]
    fn falls_back_to_the_body_text() {
        let body = Bytes::from_static(b"upstream connect error");
        let error = ApiError::from_response(503, "text/plain", &body, Some(Duration::from_secs(2)));
        assert_eq!(
            error.to_string(),
            "HTTP 503: upstream connect error (retry after 2s)"
        );
    }
}
