//! What the sidecar projects: ConfigMaps and Secrets.
use std::fmt;

/// Whether an object is a ConfigMap or a Secret; decides the default file mode and log redaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    /// A ConfigMap (default file mode 0644).
    ConfigMap,
    /// A Secret (default file mode 0400).
    Secret,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ConfigMap => "configmap",
            Self::Secret => "secret",
        })
    }
}
