//! Fault knobs of the replay apiserver. Each fault fires once (the 500s: `error_500`
//! times), on the first request it applies to, then the server behaves again.

use std::time::Duration;

/// What to break. Watch faults fire once the given number of events of one watch
/// has been sent (or when its events run out first).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Limit every fault to this resource (plural); `None`: any resource.
    pub resource: Option<String>,
    /// Close the connection in the middle of a frame.
    pub cut_watch_after: Option<usize>,
    /// Send an in-band ERROR event with a 410 Status, then end the stream.
    pub watch_expired_after: Option<usize>,
    /// With `watch_expired_after`: the next this-many events of that watch are lost
    /// (the timeline moves past them unsent, as when etcd compacted them away), so
    /// the relist sees their result without the client having seen them.
    pub expiry_loses_events: usize,
    /// Stop sending anything, keeping the connection open.
    pub stall_watch_after: Option<usize>,
    /// Send bytes that are no watch event, then end the stream.
    pub garbage_after: Option<usize>,
    /// Send a frame header announcing a length far over any cap, then end.
    pub oversized_frame_after: Option<usize>,
    /// Answer the first list request that carries a continue token with HTTP 410.
    pub expired_continue: bool,
    /// Answer the first list request with 429 and this Retry-After.
    pub throttle: Option<Duration>,
    /// Send the first this-many bytes of a list body, then nothing, holding the
    /// connection open (a list response that stalls mid-body).
    pub stall_list_after_bytes: Option<usize>,
    /// Answer this many list requests with 500.
    pub error_500: u32,
    /// Pause between watch frames.
    pub frame_delay: Duration,
    /// Hold a watch open at most this long after its events (default: its timeoutSeconds).
    pub max_watch_hold: Option<Duration>,
    /// Serve streaming lists (`sendInitialEvents=true`); off, such a watch is refused
    /// with 422 as a 1.28 apiserver without the WatchList gate does. (A capability,
    /// not a fault; it lives here so one struct configures the server.)
    pub streaming_list: bool,
    /// Answer every list in one response, ignoring `limit`, as a kube-apiserver's
    /// watch cache does for `resourceVersion=0` reads (1.28 to 1.35 alike). (Also a
    /// behaviour, not a fault.)
    pub ignore_limit: bool,
}

/// The watch faults, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFault {
    Cut,
    Expired,
    Stall,
    Garbage,
    Oversized,
}

/// Which faults have not fired yet.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub cut: Option<usize>,
    pub expired: Option<usize>,
    pub stall: Option<usize>,
    pub garbage: Option<usize>,
    pub oversized: Option<usize>,
    pub expired_continue: bool,
    pub throttle: Option<Duration>,
    pub error_500: u32,
    pub stall_list_after_bytes: Option<usize>,
}

impl Pending {
    pub fn new(faults: &Faults) -> Pending {
        Pending {
            cut: faults.cut_watch_after,
            expired: faults.watch_expired_after,
            stall: faults.stall_watch_after,
            garbage: faults.garbage_after,
            oversized: faults.oversized_frame_after,
            expired_continue: faults.expired_continue,
            throttle: faults.throttle,
            error_500: faults.error_500,
            stall_list_after_bytes: faults.stall_list_after_bytes,
        }
    }

    /// Takes the watch fault due after `sent` events (`exhausted`: no events left).
    pub fn take_watch_fault(&mut self, sent: usize, exhausted: bool) -> Option<WatchFault> {
        let due = |slot: &mut Option<usize>| match *slot {
            Some(after) if sent >= after || exhausted => {
                *slot = None;
                true
            }
            _ => false,
        };
        if due(&mut self.cut) {
            return Some(WatchFault::Cut);
        }
        if due(&mut self.expired) {
            return Some(WatchFault::Expired);
        }
        if due(&mut self.stall) {
            return Some(WatchFault::Stall);
        }
        if due(&mut self.garbage) {
            return Some(WatchFault::Garbage);
        }
        if due(&mut self.oversized) {
            return Some(WatchFault::Oversized);
        }
        None
    }
}
