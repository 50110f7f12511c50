//! `http_request_duration_seconds` around the `/metrics` handler: a body wrapper that
//! observes once, when the body ends or is dropped, so the figure covers writing the whole
//! exposition (KSM's handler returns only after it has written its body).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use prometheus::Histogram;

/// The `method` label as client_golang writes it: lower-case for the standard methods,
/// `unknown` for anything else (so a client cannot create series at will).
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "get",
        http::Method::HEAD => "head",
        http::Method::POST => "post",
        http::Method::PUT => "put",
        http::Method::DELETE => "delete",
        http::Method::CONNECT => "connect",
        http::Method::OPTIONS => "options",
        http::Method::PATCH => "patch",
        http::Method::TRACE => "trace",
        _ => "unknown",
    }
}

/// A response body that observes its own duration once.
pub struct TimedBody<B> {
    inner: B,
    started: Instant,
    observer: Option<Histogram>,
}

impl<B> TimedBody<B> {
    pub(super) fn new(inner: B, started: Instant, observer: Histogram) -> Self {
        TimedBody {
            inner,
            started,
            observer: Some(observer),
        }
    }

    fn observe(&mut self) {
        if let Some(observer) = self.observer.take() {
            observer.observe(self.started.elapsed().as_secs_f64());
        }
    }
}

impl<B: Body + Unpin> Body for TimedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.observe();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TimedBody<B> {
    fn drop(&mut self) {
        self.observe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[test]
    fn methods_are_labelled_like_client_golang() {
        assert_eq!(method_label(&http::Method::GET), "get");
        assert_eq!(method_label(&http::Method::HEAD), "head");
        let custom = http::Method::from_bytes(b"PURGE").expect("valid method");
        assert_eq!(method_label(&custom), "unknown");
    }

    #[tokio::test]
    async fn observes_once_when_the_body_has_been_read() {
        let histogram =
            Histogram::with_opts(prometheus::HistogramOpts::new("t", "t")).expect("histogram");
        let body = TimedBody::new(
            Full::new(bytes::Bytes::from_static(b"x 1\n")),
            Instant::now(),
            histogram.clone(),
        );
        let collected = body.collect().await.expect("body").to_bytes();
        assert_eq!(&collected[..], b"x 1\n");
        // collect() polled to the end and then dropped the body: still one observation.
        assert_eq!(histogram.get_sample_count(), 1);
    }
}
