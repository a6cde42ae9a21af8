//! End to end: the sidecar binary started the way k8s-sidecar and configmap-reload are started (only the image
//! swapped): k8s-sidecar's environment and no arguments, configmap-reload's flags. The files on disk, the
//! request the app receives and the script run are checked; on both backends for the API modes.
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::{Process, Recorded, read_text, recording_server, start, wait_until};

/// The sidecar binary with `env` (and no arguments at all, as k8s-sidecar runs), its stderr collected.
fn spawn_sidecar(
    args: &[&str],
    env: &[(&str, &str)],
    kubeconfig: Option<&Path>,
) -> (Process, Arc<Mutex<String>>) {
    spawn(
        env!("CARGO_BIN_EXE_configsync-sidecar"),
        args,
        env,
        kubeconfig,
    )
}

/// `program` with `args` and `env` (see [`spawn_sidecar`]).
fn spawn(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    kubeconfig: Option<&Path>,
) -> (Process, Arc<Mutex<String>>) {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("CONFIGSYNC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    if let Some(kubeconfig) = kubeconfig {
        command.env("KUBECONFIG", kubeconfig);
    }
    let mut child = command.spawn().expect("start configsync-sidecar");
    let lines = support::lines_of(child.stderr.take().expect("stderr"));
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines {
            sink.lock().expect("lock").push_str(&format!("{line}\n"));
        }
    });
    (Process(child), log)
}

fn labelled(
    kind: &str,
    name: &str,
    namespace: &str,
    annotations: serde_json::Value,
    data: serde_json::Value,
) -> serde_json::Value {
    let field = if kind == "Secret" {
        "stringData"
    } else {
        "data"
    };
    json!({
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": {"grafana_dashboard": "1"}, "annotations": annotations},
        field: data,
    })
}

#[test]
fn k8s_sidecar_environment_projects_requests_and_runs_the_script() {
    let Some(cluster) = start() else { return };
    let team_b = cluster.create_namespace("team-b");
    let ns = cluster.namespace.clone();
    // kubectl apply of these would move them to the test's namespace: create them as written.
    for (file, object) in [
        (
            "a.json",
            labelled(
                "ConfigMap",
                "dash-a",
                &ns,
                json!({"k8s-sidecar-target-directory": "team-a"}),
                json!({"a.json": "{\"v\":1}"}),
            ),
        ),
        (
            "b.json",
            labelled(
                "Secret",
                "dash-b",
                &team_b,
                json!({}),
                json!({"b.json": "{\"secret\":true}"}),
            ),
        ),
        (
            "other.json",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unlabelled", "namespace": ns}, "data": {"other.json": "{}"}}),
        ),
    ] {
        let path = cluster.file(file, &object.to_string());
        cluster.ok(&["apply", "-f", support::path_str(&path)]);
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (folder, marker, script) = (
        work.path().join("dashboards"),
        work.path().join("script-runs"),
        work.path().join("notify.sh"),
    );
    std::fs::write(&script, format!("echo ran >> '{}'\n", marker.display())).expect("script");
    let (url, requests) = recording_server(200);
    let namespaces = format!("{ns},{team_b}");
    let reload_url = format!("{url}/api/admin/provisioning/dashboards/reload");
    let env = [
        ("LABEL", "grafana_dashboard"),
        ("LABEL_VALUE", "1"),
        ("FOLDER", support::path_str(&folder)),
        ("RESOURCE", "both"),
        ("NAMESPACE", namespaces.as_str()),
        ("REQ_URL", reload_url.as_str()),
        ("REQ_METHOD", "POST"),
        ("REQ_PAYLOAD", r#"{"reload":"dashboards"}"#),
        ("REQ_USERNAME", "admin"),
        ("REQ_PASSWORD", "pw-never-logged"),
        ("SCRIPT", support::path_str(&script)),
        ("HEALTH_PORT", "0"),
        ("LOG_FORMAT", "JSON"),
    ];
    let (_sidecar, log) = spawn_sidecar(&[], &env, Some(&cluster.kubeconfig));
    let (a, b) = (folder.join("team-a/a.json"), folder.join("b.json"));
    wait_until("both objects projected", || {
        read_text(&a) == r#"{"v":1}"# && read_text(&b) == r#"{"secret":true}"#
    });
    assert!(
        !folder.join("other.json").exists(),
        "an object without the label is not projected"
    );
    for file in [&a, &b] {
        let meta = std::fs::symlink_metadata(file).expect("projected");
        assert!(
            meta.is_file(),
            "k8s-sidecar's layout: regular files, not links"
        );
    }
    assert!(
        !folder.join("..data").exists(),
        "no ..data in k8s-sidecar's layout"
    );
    let expected = Recorded {
        method: "POST".into(),
        path: "/api/admin/provisioning/dashboards/reload".into(),
        headers: BTreeMap::new(),
        body: r#"{"reload":"dashboards"}"#.into(),
    };
    let seen = |requests: &Arc<Mutex<Vec<Recorded>>>| requests.lock().expect("lock").clone();
    wait_until("the request after the first sync", || {
        seen(&requests).len() == 1
    });
    let first = &seen(&requests)[0];
    assert_eq!(
        (&first.method, &first.path, &first.body),
        (&expected.method, &expected.path, &expected.body)
    );
    // base64("admin:pw-never-logged")
    assert_eq!(
        first.headers.get("authorization").map(String::as_str),
        Some("Basic YWRtaW46cHctbmV2ZXItbG9nZ2Vk")
    );
    assert_eq!(
        first.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    wait_until("the script after the first sync", || {
        read_text(&marker) == "ran\n"
    });

    cluster.merge_patch("configmap", "dash-a", r#"{"data":{"a.json":"{\"v\":2}"}}"#);
    wait_until("the edit on disk", || read_text(&a) == r#"{"v":2}"#);
    wait_until("a second request", || seen(&requests).len() == 2);
    wait_until("a second script run", || read_text(&marker) == "ran\nran\n");
    let log = log.lock().expect("lock").clone();
    assert!(log.contains("LOG_FORMAT is not supported"), "{log}");
    assert!(
        !log.contains("pw-never-logged"),
        "the password is never logged:\n{log}"
    );
}

#[test]
fn k8s_sidecar_list_method_run_as_the_image_runs_it_syncs_once_with_unique_file_names_and_exits() {
    let Some(cluster) = start() else { return };
    let ns = cluster.namespace.clone();
    let object = labelled(
        "ConfigMap",
        "dash",
        &ns,
        json!({}),
        json!({"board.json": "{}"}),
    );
    let path = cluster.file("dash.json", &object.to_string());
    cluster.ok(&["apply", "-f", support::path_str(&path)]);
    let work = tempfile::tempdir().expect("tempdir");
    let folder = work.path().join("out");
    let env = [
        ("LABEL", "grafana_dashboard"),
        ("FOLDER", support::path_str(&folder)),
        ("NAMESPACE", ns.as_str()),
        ("METHOD", "LIST"),
        ("UNIQUE_FILENAMES", "true"),
    ];
    // The image's ENTRYPOINT and CMD: `configsync --help`, which k8s-sidecar's environment turns into the sidecar.
    let (mut sidecar, log) = spawn(
        env!("CARGO_BIN_EXE_configsync"),
        &["--help"],
        &env,
        Some(&cluster.kubeconfig),
    );
    wait_until("the sidecar to exit after one pass", || {
        sidecar.0.try_wait().ok().flatten().is_some()
    });
    let status = sidecar.0.wait().expect("status");
    assert!(
        status.success(),
        "{:?}\n{}",
        status,
        log.lock().expect("lock")
    );
    assert_eq!(
        read_text(&folder.join(format!("namespace_{ns}.configmap_dash.board.json"))),
        "{}"
    );
}

/// Wait until the sidecar logging to `log` answers /readyz (its first sync is done: later changes are changes).
fn wait_ready(log: &Arc<Mutex<String>>) {
    wait_until("the sidecar ready", || {
        support::health_addr_in(&log.lock().expect("lock"))
            .is_some_and(|addr| support::http_status(&addr, "/readyz") == Some(200))
    });
}

/// A kubelet-style ConfigMap volume: `..vN/KEY`, `..data -> ..vN`, `KEY -> ..data/KEY`; `version` swaps `..data`.
fn mount(dir: &Path, version: u32, content: &str) {
    let target = dir.join(format!("..v{version}"));
    std::fs::create_dir_all(&target).expect("version dir");
    std::fs::write(target.join("prometheus.yml"), content).expect("write");
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(format!("..v{version}"), &tmp).expect("symlink");
    std::fs::rename(&tmp, dir.join("..data")).expect("swap ..data");
    let visible = dir.join("prometheus.yml");
    if visible.symlink_metadata().is_err() {
        std::os::unix::fs::symlink("..data/prometheus.yml", visible).expect("visible link");
    }
}

#[test]
fn configmap_reload_flags_call_the_webhook_on_a_kubelet_swap_and_retry_a_wrong_status() {
    let work = tempfile::tempdir().expect("tempdir");
    let volume = work.path().join("config");
    mount(&volume, 1, "scrape_interval: 15s\n");
    let (url, requests) = recording_server(200);
    let webhook = format!("--webhook-url={url}/-/reload");
    let volume_flag = format!("--volume-dir={}", volume.display());
    let args = [
        volume_flag.as_str(),
        webhook.as_str(),
        "-web.listen-address",
        "127.0.0.1:0",
    ];
    let (_sidecar, log) = spawn_sidecar(&args, &[], None);
    wait_ready(&log);
    // Nothing is called for the initial content (configmap-reload calls only on a change).
    mount(&volume, 2, "scrape_interval: 30s\n");
    wait_until("the webhook called once", || {
        requests.lock().expect("lock").len() == 1
    });
    let request = requests.lock().expect("lock")[0].clone();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/-/reload")
    );
    assert!(
        volume.join("..data").read_link().is_ok(),
        "the volume is left as it was"
    );

    let (url, failing) = recording_server(500);
    let webhook = format!("--webhook-url={url}/-/reload");
    let args = [
        volume_flag.as_str(),
        webhook.as_str(),
        "--webhook-retries",
        "3",
        "--web.listen-address=127.0.0.1:0",
    ];
    let (_sidecar, log) = spawn_sidecar(&args, &[], None);
    wait_ready(&log);
    mount(&volume, 3, "scrape_interval: 60s\n");
    wait_until("a clear log line after the last attempt", || {
        log.lock()
            .expect("lock")
            .lines()
            .any(|l| l.contains("could not notify the app") && l.contains("got status 500"))
    });
    assert_eq!(failing.lock().expect("lock").len(), 3, "3 attempts in all");
}

#[test]
fn k8s_sidecar_all_namespaces_by_polling() {
    let Some(cluster) = start() else { return };
    let other = cluster.create_namespace("other");
    let ns = cluster.namespace.clone();
    // A label value of this test's own: on a shared real cluster ALL also sees other tests' objects.
    for (file, namespace) in [("one.json", &ns), ("two.json", &other)] {
        let mut object = labelled(
            "ConfigMap",
            "dash",
            namespace,
            json!({}),
            json!({ file: namespace }),
        );
        object["metadata"]["labels"]["grafana_dashboard"] = json!(ns);
        let path = cluster.file(file, &object.to_string());
        cluster.ok(&["apply", "-f", support::path_str(&path)]);
    }
    let work = tempfile::tempdir().expect("tempdir");
    let folder = work.path().join("out");
    let env = [
        ("LABEL", "grafana_dashboard"),
        ("LABEL_VALUE", ns.as_str()),
        ("FOLDER", support::path_str(&folder)),
        ("NAMESPACE", "ALL"),
        ("METHOD", "SLEEP"),
        ("SLEEP_TIME", "1"),
        ("HEALTH_PORT", "0"),
    ];
    let (_sidecar, log) = spawn_sidecar(&[], &env, Some(&cluster.kubeconfig));
    let (one, two) = (folder.join("one.json"), folder.join("two.json"));
    wait_until("both namespaces projected", || {
        read_text(&one) == ns && read_text(&two) == other
    });
    cluster.ok(&[
        "patch",
        "configmap",
        "dash",
        "-n",
        &other,
        "--type",
        "merge",
        "-p",
        r#"{"data":{"two.json":"polled"}}"#,
    ]);
    wait_until("the change seen by the next listing", || {
        read_text(&two) == "polled"
    });
    let log = log.lock().expect("lock").clone();
    assert_eq!(
        log.matches("published changed files").count(),
        2,
        "unchanged listings publish nothing:\n{log}"
    );
}
