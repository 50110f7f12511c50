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

use std::sync::OnceLock;

static RELEASE_HOOK: OnceLock<fn()> = OnceLock::new();

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
