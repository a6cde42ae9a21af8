//! A kubeconfig for the HTTP server: cluster `configsync` (plain `http://`), user `configsync` (no
//! credentials: the server does not authenticate), context `configsync`, set as current-context.
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;

/// The cluster, user and context name in the kubeconfig.
pub const NAME: &str = "configsync";

/// The kubeconfig document for a server at `addr`.
pub fn document(addr: SocketAddr) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": NAME, "cluster": { "server": format!("http://{addr}") } }],
        "users": [{ "name": NAME, "user": {} }],
        "contexts": [{ "name": NAME, "context": { "cluster": NAME, "user": NAME, "namespace": "default" } }],
        "current-context": NAME,
        "preferences": {},
    })
}

/// Write the kubeconfig for `addr` to `path` (as YAML).
pub fn write(path: &Path, addr: SocketAddr) -> std::io::Result<()> {
    let yaml = serde_saphyr::to_string(&document(addr)).map_err(std::io::Error::other)?;
    std::fs::write(path, yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_points_at_the_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kubeconfig");
        write(&path, "127.0.0.1:6443".parse().expect("addr")).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let parsed: Value = serde_saphyr::from_str(&text).expect("yaml");
        assert_eq!(
            parsed["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:6443"
        );
        assert_eq!(parsed["current-context"], NAME);
        assert_eq!(parsed["contexts"][0]["context"]["user"], NAME);
    }
}
