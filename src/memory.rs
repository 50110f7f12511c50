//! Handing freed memory back to the operating system at the moments the exporter knows a
//! lot was just freed: a list was swapped into the store (its decoded objects and the
//! replaced set are gone) or a scrape ended (its buffers are gone).
//!
//! The allocator is the binary's choice (`src/main.rs`), so the library only says *when*;
//! the binary installs *how* with [`set_release_hook`]. Without a hook (tests, embedders
//! with another allocator) [`release_freed`] does nothing.
//!
//! Why it is needed: a caching allocator keeps freed pages for reuse. After an initial list
//! of 15,000 pods that left about 35 MB of live heap, mimalloc held 80 MB of anonymous
//! memory until told to purge (docs/performance.md, issue 12).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static RELEASE_HOOK: OnceLock<fn()> = OnceLock::new();

/// Decoded objects dropped between two releases during a long list: a 15,000-pod list
/// otherwise accumulated about 8 MiB of freed pages above the steady state before its end.
const RELEASE_EVERY_OBJECTS: usize = 4096;

static OBJECTS_DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Installs how freed memory is returned (once per process; later calls are ignored).
pub fn set_release_hook(hook: fn()) {
    let _ = RELEASE_HOOK.set(hook);
}

/// Returns freed memory to the operating system if the binary said how.
pub fn release_freed() {
    if let Some(hook) = RELEASE_HOOK.get() {
        hook();
    }
}

/// Counts one decoded object dropped (its metrics compiled); every
/// [`RELEASE_EVERY_OBJECTS`] of them, releases freed memory.
pub fn object_dropped() {
    let dropped = OBJECTS_DROPPED.fetch_add(1, Ordering::Relaxed) + 1;
    if dropped % RELEASE_EVERY_OBJECTS == 0 {
        release_freed();
    }
}
