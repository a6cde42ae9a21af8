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
        // LOG_TZ unset is LOCAL, as in k8s-sidecar: the container's zone (a POSIX TZ string, +05:30).
        ("TZ", "IST-5:30"),
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
    let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let object: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("LOG_FORMAT=JSON: {e}: {line}"));
        assert!(object.is_object(), "{line}");
        let timestamp = object["timestamp"].as_str().unwrap_or_default();
        assert!(timestamp.ends_with("+05:30"), "LOG_TZ=LOCAL: {line}");
    }
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
fn configmap_reload_serves_the_metrics_at_the_telemetry_path_only() {
    let work = tempfile::tempdir().expect("tempdir");
    // Nothing changes in the volume, so the webhook is never called.
    let flags = |telemetry_path: &str| {
        [
            format!("--volume-dir={}", work.path().display()),
            "--webhook-url=http://127.0.0.1:9/-/reload".to_owned(),
            "--web.listen-address=127.0.0.1:0".to_owned(),
            format!("--web.telemetry-path={telemetry_path}"),
        ]
    };
    let custom = flags("/prometheus/metrics");
    let (_sidecar, log) = spawn_sidecar(&custom.each_ref().map(String::as_str), &[], None);
    wait_ready(&log);
    let addr = support::health_addr_in(&log.lock().expect("lock")).expect("bound address");
    let scraped = support::http_get(&addr, "/prometheus/metrics").expect("200 at the given path");
    assert!(
        scraped
            .lines()
            .any(|line| line.starts_with("configsync_sidecar_syncs_total ")),
        "the sidecar's metrics:\n{scraped}"
    );
    assert_eq!(
        support::http_status(&addr, "/metrics"),
        Some(404),
        "only at the given path, as configmap-reload"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"))
        .args(flags("metrics"))
        .output()
        .expect("run configsync-sidecar");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused at start:\n{stderr}");
    assert!(
        stderr.contains(r#"configmap-reload: web.telemetry-path: "metrics" must start with /"#),
        "{stderr}"
    );
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
    // The file is renamed into place before its log line is written: wait for the line too.
    let publishes = || {
        log.lock()
            .expect("lock")
            .matches("published changed files")
            .count()
    };
    wait_until("the second publish logged", || publishes() >= 2);
    let log = log.lock().expect("lock").clone();
    assert_eq!(
        log.matches("published changed files").count(),
        2,
        "unchanged listings publish nothing:\n{log}"
    );
}

/// A plain HTTP server answering `GET /PATH` with 200 and `routes[PATH]`, anything else with 404; its base URL.
fn content_server(routes: &[(&'static str, &'static str)]) -> String {
    let routes: BTreeMap<String, &'static str> = routes
        .iter()
        .map(|(path, body)| (format!("/{path}"), *body))
        .collect();
    let (url, _) = support::answering_server(move |request| match routes.get(&request.path) {
        Some(body) => (200, (*body).to_owned()),
        None => (404, "not found".to_owned()),
    });
    url
}

/// `configsync_sidecar_url_downloads_total{result}` scraped from the sidecar whose log is `log`.
fn url_downloads(log: &Arc<Mutex<String>>, result: &str) -> Option<u64> {
    let addr = support::health_addr_in(&log.lock().expect("lock")).expect("bound address");
    let metrics = support::http_get(&addr, "/metrics").expect("metrics");
    let series = format!("configsync_sidecar_url_downloads_total{{result=\"{result}\"}} ");
    let line = metrics.lines().find(|line| line.starts_with(&series))?;
    Some(line[series.len()..].parse().expect("a count"))
}

#[test]
fn k8s_sidecar_downloads_url_keys_and_reads_namespace_qualified_resource_names() {
    let Some(cluster) = start() else { return };
    let ns = cluster.namespace.clone();
    let other = cluster.create_namespace("other");
    let server = content_server(&[("v1", "{\"board\":1}"), ("v2", "{\"board\":2}")]);
    let dash = |url_path: &str| {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dash", "namespace": ns},
            "data": {"board.json.url": format!("{server}/{url_path}"), "plain.txt": "as is"},
        })
    };
    let path = cluster.file("dash.json", &dash("v1").to_string());
    cluster.ok(&["apply", "-f", support::path_str(&path)]);
    let work = tempfile::tempdir().expect("tempdir");
    let folder = work.path().join("out");
    // `NS/configmap/dash` in this test's namespace; the other namespace's entry is skipped (not in NAMESPACE);
    // `absent` does not exist, which holds nothing up.
    let names = format!("{ns}/configmap/dash,{other}/configmap/dash,configmap/absent");
    let env = [
        ("RESOURCE_NAME", names.as_str()),
        ("NAMESPACE", ns.as_str()),
        ("FOLDER", support::path_str(&folder)),
        ("HEALTH_PORT", "0"),
        ("REQ_RETRY_TOTAL", "0"),
    ];
    let (_sidecar, log) = spawn_sidecar(&[], &env, Some(&cluster.kubeconfig));
    let (board, plain) = (folder.join("board.json"), folder.join("plain.txt"));
    wait_until("the download in board.json", || {
        read_text(&board) == r#"{"board":1}"# && read_text(&plain) == "as is"
    });
    assert!(
        !folder.join("board.json.url").exists(),
        "the .url key itself is not a file"
    );
    cluster.ok(&[
        "apply",
        "-f",
        support::path_str(&cluster.file("dash.json", &dash("v2").to_string())),
    ]);
    wait_until("the new URL's content", || {
        read_text(&board) == r#"{"board":2}"#
    });
    // Counted before the file is written: both downloads are in the metrics now.
    let downloads = |result: &str| url_downloads(&log, result);
    assert_eq!((downloads("ok"), downloads("bad_status")), (Some(2), None));
    cluster.ok(&[
        "apply",
        "-f",
        support::path_str(&cluster.file("dash.json", &dash("gone").to_string())),
    ]);
    wait_until("an error log for the failed download", || {
        log.lock()
            .expect("lock")
            .contains("could not download a .url key")
    });
    assert_eq!(read_text(&board), r#"{"board":2}"#, "nothing lost");
    assert_eq!(
        (downloads("ok"), downloads("bad_status")),
        (Some(2), Some(1)),
        "the 404 counted"
    );
    let log = log.lock().expect("lock").clone();
    assert!(log.contains("404"), "the reason is logged:\n{log}");
    assert!(
        log.contains(&format!(
            "RESOURCE_NAME entry {other}/configmap/dash is skipped"
        )),
        "{log}"
    );
}

#[test]
fn configmap_reload_calls_every_webhook_each_retried_on_its_own() {
    let work = tempfile::tempdir().expect("tempdir");
    let volume = work.path().join("config");
    mount(&volume, 1, "a\n");
    let (good, good_requests) = recording_server(200);
    let (bad, bad_requests) = recording_server(503);
    let with_credentials = good.replacen("http://", "http://admin:pw-in-url@", 1);
    let args = [
        format!("--volume-dir={}", volume.display()),
        format!("--webhook-url={bad}/-/reload"),
        format!("--webhook-url={with_credentials}/-/reload"),
        "--webhook-retries=2".to_owned(),
        "--web.listen-address=127.0.0.1:0".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_sidecar, log) = spawn_sidecar(&args, &[], None);
    wait_ready(&log);
    mount(&volume, 2, "b\n");
    wait_until(
        "the second webhook called despite the first failing",
        || good_requests.lock().expect("lock").len() == 1,
    );
    wait_until("the failing webhook tried twice, then given up", || {
        log.lock()
            .expect("lock")
            .lines()
            .any(|l| l.contains("could not notify the app") && l.contains("got status 503"))
    });
    assert_eq!(bad_requests.lock().expect("lock").len(), 2);
    let request = good_requests.lock().expect("lock")[0].clone();
    // base64("admin:pw-in-url")
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("Basic YWRtaW46cHctaW4tdXJs")
    );
    assert_eq!(good_requests.lock().expect("lock").len(), 1, "not repeated");
    let log = log.lock().expect("lock").clone();
    assert!(!log.contains("pw-in-url"), "never logged:\n{log}");
}

#[test]
#[ignore = "needs a real control plane (the embedded server has no TLS): set CONFIGSYNC_REAL_K8S (hack/real-k8s up DIR)"]
fn k8s_sidecar_skip_tls_verify_reaches_an_api_server_it_cannot_verify() {
    let Some(cluster) = start() else { return };
    let ns = cluster.namespace.clone();
    let object = labelled("ConfigMap", "dash", &ns, json!({}), json!({"a.json": "{}"}));
    let path = cluster.file("dash.json", &object.to_string());
    cluster.ok(&["apply", "-f", support::path_str(&path)]);
    // The same kubeconfig without the cluster's CA: nothing can verify the server.
    let text = std::fs::read_to_string(&cluster.kubeconfig).expect("read kubeconfig");
    let mut config: serde_json::Value = serde_saphyr::from_str(&text).expect("kubeconfig YAML");
    for entry in config["clusters"].as_array_mut().expect("clusters") {
        let cluster = entry["cluster"].as_object_mut().expect("cluster");
        cluster.remove("certificate-authority-data");
        cluster.remove("certificate-authority");
    }
    let unverifiable = cluster.file("no-ca.kubeconfig", &config.to_string());
    let work = tempfile::tempdir().expect("tempdir");
    let spawn_with = |skip: &str, out: &str| {
        let folder = work.path().join(out);
        let env = [
            ("LABEL", "grafana_dashboard"),
            ("FOLDER", support::path_str(&folder)),
            ("NAMESPACE", ns.as_str()),
            ("SKIP_TLS_VERIFY", skip),
            ("HEALTH_PORT", "0"),
        ];
        let (sidecar, log) = spawn_sidecar(&[], &env, Some(&unverifiable));
        (sidecar, log, folder.join("a.json"))
    };
    let (_skipping, log, file) = spawn_with("true", "skipped");
    wait_until("projected from the unverified server", || {
        read_text(&file) == "{}"
    });
    assert!(
        log.lock().expect("lock").contains("NOT verified"),
        "a loud warning"
    );
    let (_verifying, log, file) = spawn_with("false", "verified");
    wait_until("the source failing on the unverified server", || {
        let log = log.lock().expect("lock");
        log.contains("restarting source") && log.contains("invalid peer certificate")
    });
    assert!(!file.exists(), "nothing from a server it cannot verify");
}
