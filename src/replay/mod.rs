//! Record & replay: the recording format, the `record` command, and a replay
//! apiserver with fault knobs (the basis of golden tests and `--demo`).

pub mod faults;
pub mod record;
pub mod recording;
pub mod scrub;
pub mod server;
pub mod table;
pub mod wire;
pub mod world;

pub use faults::Faults;
pub use recording::{Capture, Manifest, Recording, RecordingError};
pub use server::{ReplayHandle, ReplayServer, ReplayState, SeenRequest};
