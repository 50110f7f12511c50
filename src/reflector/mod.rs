//! One reflector per resource (per namespace): list, then watch, relist on 410, back
//! off on errors, and hand the results to a store through [`Sink`].

mod event;

pub use event::{Event, Sink};
