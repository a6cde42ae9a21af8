//! `configsync operator` reads the server's `/version` at start: below Kubernetes 1.25 it exits non-zero with a
//! message naming the minimum (against a stand-in server that answers only `/version`); on the test backend it
//! says which sidecars it injects.
mod support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::process::Command;

use support::{start, start_operator};

/// A server answering every request with `/version` of Kubernetes 1.24; returns its address.
fn old_apiserver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = r#"{"major":"1","minor":"24","gitVersion":"v1.24.17","gitCommit":"","gitTreeState":"clean","buildDate":"","goVersion":"","compiler":"gc","platform":"linux/amd64"}"#;
            let _ = write!(
                &stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn the_operator_refuses_kubernetes_below_the_minimum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let addr = old_apiserver();
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: old\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: old\n  context:\n    cluster: old\n    user: old\ncurrent-context: old\nusers:\n- name: old\n  user: {{}}\n"
    );
    std::fs::write(&kubeconfig, config).expect("kubeconfig");
    let out = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["operator", "--metrics-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("run the operator");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "Kubernetes 1.24 (v1.24.17) is not supported: configsync needs Kubernetes 1.25 or newer"
        ),
        "{stderr}"
    );
}

#[test]
fn the_operator_injects_native_sidecars_from_1_29() {
    let Some(cluster) = start() else {
        return;
    };
    let operator = start_operator(&cluster, &[]);
    assert!(operator.logged("injecting native sidecars"));
    drop(operator);
    let forced = start_operator(&cluster, &["--native-sidecars", "false"]);
    assert!(forced.logged("injecting classic sidecars"));
}
