//! The sync sidecar: atomic file and env projection of ConfigMaps and Secrets, hot reload, exec supervision.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod atomic;
pub mod health;
pub mod metrics;
pub mod mounted;
pub mod reload;
pub mod render;
pub mod runner;
pub mod signal;
pub mod source;
pub mod supervise;
pub mod sync;
pub mod timing;
pub mod watchdog;
