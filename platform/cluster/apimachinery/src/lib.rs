//! Pure Kubernetes API machinery used by the embedded API server.
//!
//! Nothing in this crate does I/O: every function takes JSON values or bytes and returns new ones, so each
//! behaviour of the API server that is not about storage or transport can be tested as a plain function.
//!
//! ```text
//!   request bytes ──► protobuf::decode ──► JSON object
//!   JSON object + patch ──► patch::{json, merge, strategic} ──► JSON object
//!   JSON object + applied config ──► apply (server-side apply, managedFields) ──► JSON object | conflicts
//!   list of objects ──► selector::{LabelSelector, FieldSelector} ──► filtered list
//!   list of objects ──► table::to_table ──► meta.k8s.io/v1 Table
//! ```
#![forbid(unsafe_code)]

pub mod apply;
pub mod events;
pub mod patch;
pub mod protobuf;
pub mod registry;
pub mod resource;
pub mod selector;
pub mod table;
pub mod validation;

pub use resource::{IncludeObject, PrinterColumn, ResourceType};
