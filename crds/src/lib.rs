//! The `ConfigSync` custom resource and the annotation vocabulary of configsync.
#![forbid(unsafe_code)]
