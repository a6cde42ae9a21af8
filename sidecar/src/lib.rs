//! The sync sidecar: atomic file and env projection of ConfigMaps and Secrets, hot reload, exec supervision.
