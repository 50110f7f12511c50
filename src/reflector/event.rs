//! The reflector → store contract.

use crate::api::{Object, ResourceType};

/// What a reflector tells its store. A (re)list is `Init`, any number of
/// `InitApply`, then `InitDone`: the store builds the new set aside and swaps it in
/// atomically at `InitDone`, so a scrape never sees a half-filled store and objects
/// missing from the relist disappear. A list that fails part-way is never finished:
/// the next `Init` abandons whatever it had built (pages are handed over as they
/// arrive, so a half-built set may exist). Between lists, `Apply` upserts and `Delete`
/// removes (objects are keyed by metadata.uid).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Init,
    InitApply(Object),
    InitDone,
    Apply(Object),
    Delete(Object),
}

/// Receives reflector events for one resource. Implementations must not block for
/// long: ingestion and scrapes must never wait on each other.
pub trait Sink: Send + Sync {
    fn handle(&self, resource: &'static ResourceType, event: Event);
}
