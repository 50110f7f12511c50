//! One reflector per resource (per namespace): list, then watch, relist on 410, back
//! off on errors, and hand the results to a store through [`Sink`].

pub mod auth;
mod backoff;
mod event;
mod run;

pub use auth::AuthFailures;
pub use backoff::{Backoff, BackoffOptions};
pub use event::{Event, Sink};
pub use run::{
    exclude_namespaces, plan, spawn_all, ContentTypeMode, Reflector, ReflectorOptions,
    WatchListMode,
};
