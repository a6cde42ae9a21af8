//! Subcommands: argument parsing and wiring only; the logic lives in the library crates.
pub mod certs;
pub mod cluster;
pub mod completion;
pub mod crd;
pub mod demo;
pub mod explain;
pub mod inject;
pub mod keys;
pub mod kms;
pub mod kube_args;
pub mod operator;
pub mod preflight;
