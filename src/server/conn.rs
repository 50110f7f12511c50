//! Accept loop and per-connection timeouts shared by the metrics and telemetry servers.
//!
//! kube-state-metrics added server timeouts after slow scrapers locked it up (KSM PR #2412).
//! Go's semantics, as reproduced here on HTTP/1.1:
//! - read header: a request head must be complete this long after the connection was
//!   accepted, or after the first byte of a later request arrived;
//! - read: the same, for the whole request (our handlers read no bodies, so: its head);
//! - write: from a request's head until its response body has been handed over;
//! - idle: between the end of a response and the first byte of the next request (zero: use
//!   read).
//!
//! Zero disables a timeout, as in Go. All of them are enforced by wrapping the socket
//! ([`DeadlineIo`]): a read or write still pending at its deadline fails with `TimedOut`,
//! and hyper drops the connection. hyper's own header timer is not used: it starts as soon
//! as hyper waits for the next request, so it would close idle keep-alive connections after
//! the read-header timeout instead of the idle timeout.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};

use super::security::Security;

/// How long in-flight responses may run on after shutdown was asked for (KSM: 3 s).
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(3);
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Per-connection time limits; zero disables one (Go's `http.Server` semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub read_header: Duration,
    pub read: Duration,
    pub write: Duration,
    pub idle: Duration,
}

impl Timeouts {
    /// kube-state-metrics' defaults for the metrics server.
    pub const METRICS_DEFAULT: Timeouts = Timeouts {
        read_header: Duration::from_secs(5),
        read: Duration::from_secs(60),
        write: Duration::from_secs(60),
        idle: Duration::from_secs(300),
    };

    /// kube-state-metrics' telemetry server only limits the request head.
    pub const TELEMETRY_DEFAULT: Timeouts = Timeouts {
        read_header: Duration::from_secs(5),
        read: Duration::ZERO,
        write: Duration::ZERO,
        idle: Duration::ZERO,
    };

    fn idle_or_read(&self) -> Duration {
        if self.idle.is_zero() {
            self.read
        } else {
            self.idle
        }
    }
}

fn deadline_after(timeout: Duration) -> Option<Instant> {
    (!timeout.is_zero()).then(|| Instant::now() + timeout)
}

/// The body type every handler returns.
pub type ResponseBody = BoxBody<Bytes, io::Error>;
/// What a handler returns for one request.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>;
/// A request router.
pub type Handler = Arc<dyn Fn(Request<Incoming>) -> HandlerFuture + Send + Sync>;

/// Time allowed for a TLS handshake when no read timeout bounds it already.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `handler` on `listener` until `shutdown` resolves, then lets in-flight
/// connections finish for up to 3 seconds. `security` adds TLS, basic auth and the auth
/// filter around every connection (none by default).
pub async fn serve(
    listener: TcpListener,
    timeouts: Timeouts,
    handler: Handler,
    security: Security,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new());
    builder.header_read_timeout(None);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(web) = security.connection_config() else {
            // The --tls-config file changed into something invalid (logged when read).
            continue;
        };
        let deadlines = Arc::new(Deadlines::new(timeouts));
        let io = DeadlineIo::new(stream, deadlines.clone());
        let tls = web.as_ref().and_then(|web| web.tls.clone());
        let handler = security.guard(handler.clone(), web);
        let service = service_fn(move |request| {
            deadlines.request_started();
            let response = handler(request);
            let deadlines = deadlines.clone();
            async move {
                let response = response.await;
                Ok::<_, Infallible>(response.map(|body| {
                    DoneBody {
                        inner: body,
                        deadlines,
                    }
                    .boxed()
                }))
            }
        });
        match tls {
            None => {
                let connection =
                    graceful.watch(builder.serve_connection(TokioIo::new(io), service));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            Some(tls) => {
                // The handshake runs on the connection's task, bounded by the read
                // deadline of the first request head (and a limit of its own), so a
                // client that stalls it holds no more than a plain one would.
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                    let stream = match tokio::time::timeout(
                        TLS_HANDSHAKE_TIMEOUT,
                        acceptor.accept(io),
                    )
                    .await
                    {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(error)) => {
                            tracing::debug!(%error, "TLS handshake refused");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake timed out");
                            return;
                        }
                    };
                    let connection =
                        watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(GRACEFUL_SHUTDOWN) => {
            tracing::warn!("connections still open after the shutdown grace period; dropping them");
        }
    }
    Ok(())
}

/// The current read and write deadlines of one connection.
struct Deadlines {
    timeouts: Timeouts,
    state: Mutex<DeadlineState>,
}

#[derive(Default)]
struct DeadlineState {
    read: Option<Instant>,
    write: Option<Instant>,
    /// Between requests, until the first byte of the next one arrives.
    idle: bool,
    /// Tasks waiting on a pending read/write, woken when its deadline changes so that the
    /// new deadline gets a timer (a read may be pending since before the deadline was set).
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

fn park(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|parked| parked.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

fn wake(slot: &mut Option<Waker>) {
    if let Some(waker) = slot.take() {
        waker.wake();
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Deadlines {
    fn new(timeouts: Timeouts) -> Self {
        let state = DeadlineState::default();
        let deadlines = Deadlines {
            timeouts,
            state: Mutex::new(state),
        };
        deadlines.lock().read = deadlines.head_deadline();
        deadlines
    }

    /// Deadline for a request head starting now.
    fn head_deadline(&self) -> Option<Instant> {
        earliest(
            deadline_after(self.timeouts.read_header),
            deadline_after(self.timeouts.read),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DeadlineState> {
        // Only plain values live behind the lock: a poisoned one is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn request_started(&self) {
        let mut state = self.lock();
        state.read = None;
        state.idle = false;
        state.write = deadline_after(self.timeouts.write);
        wake(&mut state.read_waker);
        wake(&mut state.write_waker);
    }

    fn response_finished(&self) {
        let mut state = self.lock();
        state.write = None;
        state.idle = true;
        state.read = deadline_after(self.timeouts.idle_or_read());
        wake(&mut state.read_waker);
        wake(&mut state.write_waker);
    }

    /// Bytes arrived: if the connection was idle, a new request head has begun.
    fn bytes_read(&self) {
        let mut state = self.lock();
        if state.idle {
            state.idle = false;
            state.read = self.head_deadline();
        }
    }

    /// The read deadline, remembering `waker` as the pending reader.
    fn read_pending(&self, waker: &Waker) -> Option<Instant> {
        let mut state = self.lock();
        park(&mut state.read_waker, waker);
        state.read
    }

    /// The write deadline, remembering `waker` as the pending writer.
    fn write_pending(&self, waker: &Waker) -> Option<Instant> {
        let mut state = self.lock();
        park(&mut state.write_waker, waker);
        state.write
    }
}

/// Marks the end of a response (its body dropped: sent or abandoned).
struct DoneBody {
    inner: ResponseBody,
    deadlines: Arc<Deadlines>,
}

impl Drop for DoneBody {
    fn drop(&mut self) {
        self.deadlines.response_finished();
    }
}

impl Body for DoneBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A socket whose pending reads and writes fail once their deadline has passed.
struct DeadlineIo<S> {
    inner: S,
    deadlines: Arc<Deadlines>,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
}

impl<S> DeadlineIo<S> {
    fn new(inner: S, deadlines: Arc<Deadlines>) -> Self {
        let far = Instant::now() + Duration::from_secs(86_400);
        DeadlineIo {
            inner,
            deadlines,
            read_timer: Box::pin(tokio::time::sleep_until(far)),
            write_timer: Box::pin(tokio::time::sleep_until(far)),
        }
    }
}

/// Called when an operation is pending: true if `deadline` has passed (otherwise the
/// timer is armed so the task wakes at the deadline).
fn expired(deadline: Option<Instant>, timer: &mut Pin<Box<Sleep>>, cx: &mut Context<'_>) -> bool {
    let Some(deadline) = deadline else {
        return false;
    };
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
    timer.as_mut().poll(cx).is_ready()
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timeout"))
}

impl<S: AsyncRead + Unpin> AsyncRead for DeadlineIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending
                if expired(
                    this.deadlines.read_pending(cx.waker()),
                    &mut this.read_timer,
                    cx,
                ) =>
            {
                Poll::Ready(Err(timed_out("read")))
            }
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.deadlines.bytes_read();
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> DeadlineIo<S> {
    fn guard_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending
                if expired(
                    self.deadlines.write_pending(cx.waker()),
                    &mut self.write_timer,
                    cx,
                ) =>
            {
                Poll::Ready(Err(timed_out("write")))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeadlineIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        this.guard_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.guard_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.guard_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
