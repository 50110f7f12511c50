//! Record & replay.
