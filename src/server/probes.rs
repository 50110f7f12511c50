//! Health answers the servers ask of the rest of the program. The servers know nothing of the
//! Kubernetes client or the reflectors: the lead wires a probe that reaches the apiserver and a
//! readiness handle that flips once every enabled resource has synced.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The future a liveness check returns: `Err` carries the one-line 503 body, saying
/// what failed ("apiserver unreachable: …", "apiserver refused our credentials …"),
/// written whole by the probe.
pub type ProbeFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

/// `/livez`: can we still reach the apiserver?
pub trait LivenessProbe: Send + Sync + 'static {
    fn check(&self) -> ProbeFuture;
}

/// Any `Fn() -> impl Future<Output = Result<(), String>>` is a probe.
impl<F, Fut> LivenessProbe for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn check(&self) -> ProbeFuture {
        Box::pin(self())
    }
}

/// A probe that always succeeds (for `render`-style uses and tests).
pub struct AlwaysLive;

impl LivenessProbe for AlwaysLive {
    fn check(&self) -> ProbeFuture {
        Box::pin(async { Ok(()) })
    }
}

/// `/readyz`: has every enabled resource synced?
pub trait Readiness: Send + Sync + 'static {
    fn is_ready(&self) -> bool;

    /// Why not, in one line for the 503 body (which resources, what failed).
    fn not_ready_reason(&self) -> String {
        "resources are still syncing".to_string()
    }
}

/// The simplest handle: whoever holds a clone of the flag sets it once.
impl Readiness for AtomicBool {
    fn is_ready(&self) -> bool {
        self.load(Ordering::Acquire)
    }
}

impl<T: Readiness + ?Sized> Readiness for Arc<T> {
    fn is_ready(&self) -> bool {
        (**self).is_ready()
    }

    fn not_ready_reason(&self) -> String {
        (**self).not_ready_reason()
    }
}

/// A shareable "ready" flag, cheap to clone: the lead sets it from the reflectors.
#[derive(Debug, Clone, Default)]
pub struct ReadyFlag(Arc<AtomicBool>);

impl ReadyFlag {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }
}

impl Readiness for ReadyFlag {
    fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
