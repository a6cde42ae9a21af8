//! What an injected pod's containers would see, with the real sidecar binary run locally on the pod's injected
//! command and env (`configsync inject` of the examples), on either backend. Pods themselves are simulated
//! here (the embedded controllers or the fake kubelet start no containers), so the kubelet's part is taken
//! from the rendered spec: it probes the native sidecar's `startupProbe` and starts the app containers only
//! once that passes.
//! - The app starts only on the first full sync: the first 200 of `/readyz` (the startup probe's path, 503
//!   until then) comes with the file on disk.
//! - A named source that does not exist yet holds the app, as a ConfigMap volume holds its pod: `/readyz` stays
//!   503 naming it and nothing is published until it is created; an optional one does not hold it.
//! - Rotating the TLS Secret behind the HTTPS Ingress of `examples/tls-reload/` (with `kubectl create secret tls`)
//!   reaches the process that serves it: the new certificate and key bytes are published and a stand-in
//!   process named `nginx` (the injected `CONFIGSYNC_PROCESS_NAME`) gets SIGHUP.
mod support;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::{
    Cluster, Process, get_response, http_status, path_str, read_text, run_ok, sidecar_command,
    sidecar_health_addr, start, wait_until,
};

/// The documents of an example after `configsync inject`, moved into the test's namespace.
fn injected_example(cluster: &Cluster, example: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(support::repo(example)).expect("the example");
    let manifest = cluster.file("example.yaml", &cluster.localize_text(&text));
    let out = run_ok(Command::new(env!("CARGO_BIN_EXE_configsync")).args([
        "inject",
        "-f",
        path_str(&manifest),
    ]));
    serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).expect("YAML")
}

/// The injected sidecar of the first workload among `docs`.
fn sidecar_of(docs: &[Value]) -> Value {
    let workload = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    workload["spec"]["template"]["spec"]["initContainers"][0].clone()
}

fn env_value(container: &Value, name: &str) -> Option<String> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
        .map(str::to_owned)
}

/// Start the real sidecar as `container` would run: its arguments and env, with the directory moved to `dir`,
/// the health server to a free local port and `path` prepended to PATH. Its log goes to `log`.
fn run_container(
    cluster: &Cluster,
    container: &Value,
    dir: &Path,
    log: &Path,
    drop_env: &[&str],
) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"));
    let args = container["command"].as_array().expect("command");
    command.args(args.iter().skip(1).filter_map(Value::as_str));
    for var in container["env"].as_array().expect("env") {
        let name = var["name"].as_str().expect("name");
        if !drop_env.contains(&name) {
            command.env(name, var["value"].as_str().unwrap_or(""));
        }
    }
    command
        .env("CONFIGSYNC_DIR", dir)
        .env("CONFIGSYNC_HEALTH_ADDR", "127.0.0.1:0")
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(File::create(log).expect("log file"));
    Process(command.spawn().expect("start the sidecar"))
}

/// The kubelet starts the app once the startup probe passes; by then the first full sync is on disk.
#[test]
fn the_app_starts_only_on_the_first_full_sync() {
    let Some(cluster) = start() else {
        return;
    };
    let docs = injected_example(&cluster, "examples/inject/deployment.yaml");
    let sidecar = sidecar_of(&docs);
    assert_eq!(sidecar["restartPolicy"], "Always", "a native sidecar");
    let probe = &sidecar["startupProbe"]["httpGet"];
    let path = probe["path"].as_str().expect("the startup probe's path");
    let rendered_addr = env_value(&sidecar, "CONFIGSYNC_HEALTH_ADDR").expect("health address");
    assert_eq!(rendered_addr, format!("0.0.0.0:{}", probe["port"]));
    cluster.apply_json("configmap.json", &docs[0]);
    let work = tempfile::tempdir().expect("tempdir");
    let (data, log) = (work.path().join("data"), work.path().join("sidecar.log"));
    let reload = ["CONFIGSYNC_SIGNAL", "CONFIGSYNC_PROCESS_NAME"];
    let _sidecar = run_container(&cluster, &sidecar, &data, &log, &reload);
    wait_until("the health server", || sidecar_health_addr(&log).is_some());
    let addr = sidecar_health_addr(&log).unwrap_or_default();
    let file = data.join("web-config/nginx.conf");
    let mut published_when_ready = None;
    wait_until("the startup probe passes", || {
        let status = http_status(&addr, path);
        assert!(matches!(status, None | Some(503 | 200)), "{status:?}");
        if status == Some(200) {
            published_when_ready = Some(read_text(&file));
        }
        status == Some(200)
    });
    assert_eq!(
        published_when_ready.as_deref(),
        docs[0]["data"]["nginx.conf"].as_str(),
        "the file is on disk when the app may start"
    );
}

/// The injected sidecar started before its ConfigMap exists: the startup probe keeps failing with the missing
/// source named (in the body and one log line), nothing is on disk; once the ConfigMap is created the probe
/// passes with the file published.
#[test]
fn the_app_waits_for_a_named_source_that_does_not_exist_yet() {
    let Some(cluster) = start() else {
        return;
    };
    let docs = injected_example(&cluster, "examples/inject/deployment.yaml");
    let sidecar = sidecar_of(&docs);
    let path = sidecar["startupProbe"]["httpGet"]["path"]
        .as_str()
        .expect("the startup probe's path")
        .to_owned();
    let work = tempfile::tempdir().expect("tempdir");
    let (data, log) = (work.path().join("data"), work.path().join("sidecar.log"));
    let reload = ["CONFIGSYNC_SIGNAL", "CONFIGSYNC_PROCESS_NAME"];
    let _sidecar = run_container(&cluster, &sidecar, &data, &log, &reload);
    wait_until("the health server", || sidecar_health_addr(&log).is_some());
    let addr = sidecar_health_addr(&log).unwrap_or_default();
    let missing = format!("configmap/{}/web-config", cluster.namespace);
    wait_until("the sidecar names the missing source", || {
        read_text(&log)
            .lines()
            .any(|line| line.contains("waiting for named sources") && line.contains(&missing))
    });
    let response = get_response(&addr, &path).unwrap_or_default();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        response.contains(&format!("waiting for {missing}: not found")),
        "{response}"
    );
    let file = data.join("web-config/nginx.conf");
    assert!(
        !file.exists() && !data.join("web-config").exists(),
        "nothing published"
    );
    cluster.apply_json("configmap.json", &docs[0]);
    let mut published_when_ready = None;
    wait_until("the startup probe passes once the ConfigMap exists", || {
        let ready = http_status(&addr, &path) == Some(200);
        if ready {
            published_when_ready = Some(read_text(&file));
        }
        ready
    });
    assert_eq!(
        published_when_ready.as_deref(),
        docs[0]["data"]["nginx.conf"].as_str()
    );
}

/// `--optional` (the injection's `configsync.dev/inject-optional`): a missing optional source does not hold
/// the first sync; the present one is published and `/readyz` turns 200.
#[test]
fn an_optional_source_that_does_not_exist_does_not_hold_the_app() {
    let Some(cluster) = start() else {
        return;
    };
    cluster.ok(&["create", "configmap", "present", "--from-literal=k=v"]);
    let work = tempfile::tempdir().expect("tempdir");
    let (data, log) = (work.path().join("data"), work.path().join("sidecar.log"));
    let sources = ["--configmap", "present,absent", "--optional", "absent"];
    let mut command = sidecar_command(&cluster, &sources, &data);
    command
        .env("CONFIGSYNC_HEALTH_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(File::create(&log).expect("log file"));
    let _sidecar = Process(command.spawn().expect("start the sidecar"));
    wait_until("the health server", || sidecar_health_addr(&log).is_some());
    let addr = sidecar_health_addr(&log).unwrap_or_default();
    wait_until("ready without the optional source", || {
        http_status(&addr, "/readyz") == Some(200)
    });
    assert_eq!(read_text(&data.join("present/k")), "v");
    assert!(!data.join("absent").exists());
    assert!(!read_text(&log).contains("waiting for named sources"));
}

/// `--optional` names one of the named sources, or the sidecar refuses to start, naming it.
#[test]
fn an_optional_name_that_is_no_source_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"))
        .args([
            "sidecar",
            "--configmap",
            "web",
            "--optional",
            "wbe",
            "--dir",
            "/tmp/unused",
        ])
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .expect("run the sidecar");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--optional wbe: not a --configmap or --secret name"),
        "{stderr}"
    );
}

/// A certificate and key for `name` from `configsync certs` in `dir`, as (crt, key) bytes.
fn certificate(dir: &Path, name: &str) -> (Vec<u8>, Vec<u8>) {
    support::make_certificate(dir, name);
    let read = |file: &str| std::fs::read(dir.join(file)).expect("PEM file");
    (read("tls.crt"), read("tls.key"))
}

#[test]
fn rotating_the_tls_secret_reaches_the_nginx_that_serves_it() {
    let Some(cluster) = start() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (first, second) = (work.path().join("first"), work.path().join("second"));
    let (first_crt, first_key) = certificate(&first, "secure.example.com");
    let (second_crt, second_key) = certificate(&second, "secure.example.com");
    cluster.create_tls_secret("web-tls", &first, false);
    let docs = injected_example(&cluster, "examples/tls-reload/deployment.yaml");
    cluster.apply_repo("examples/tls-reload/rbac.yaml");
    let manifest = serde_json::to_string(&Value::Array(docs.clone())).expect("JSON");
    let list = format!("{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":{manifest}}}");
    cluster.ok(&[
        "apply",
        "-f",
        path_str(&cluster.file("injected.json", &list)),
    ]);
    let ingress = cluster.json(&["get", "ingress", "secure-web"]);
    assert_eq!(ingress["spec"]["tls"][0]["secretName"], "web-tls");
    // A stand-in for nginx: a shell named `nginx` that records each SIGHUP.
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    std::fs::copy("/bin/sh", bin.join("nginx")).expect("copy sh");
    let hups = work.path().join("hups");
    let script = format!(
        "trap 'echo hup >> {}' HUP; while :; do sleep 0.1; done",
        path_str(&hups)
    );
    let _nginx = Process(
        support::with_default_sighup(bin.join("nginx"))
            .args(["-c", &script])
            .spawn()
            .expect("start the stand-in nginx"),
    );
    let sidecar = sidecar_of(&docs);
    assert_eq!(
        env_value(&sidecar, "CONFIGSYNC_PROCESS_NAME").as_deref(),
        Some("nginx")
    );
    let (tls, log) = (work.path().join("tls"), work.path().join("sidecar.log"));
    let _sidecar = run_container(&cluster, &sidecar, &tls, &log, &[]);
    let (crt, key) = (tls.join("web-tls/tls.crt"), tls.join("web-tls/tls.key"));
    let on_disk = |path: &Path| std::fs::read(path).unwrap_or_default();
    wait_until("the first certificate is published", || {
        on_disk(&crt) == first_crt && on_disk(&key) == first_key
    });
    assert!(read_text(&hups).is_empty(), "no reload before a change");
    let rotated = cluster.create_tls_secret("web-tls", &second, true);
    let rotated = cluster.file("rotated.yaml", &rotated);
    cluster.ok(&["apply", "-f", path_str(&rotated)]);
    wait_until("the new certificate and key are published", || {
        on_disk(&crt) == second_crt && on_disk(&key) == second_key
    });
    assert!(
        support::eventually(|| read_text(&hups).contains("hup")),
        "timed out waiting until nginx got SIGHUP; the sidecar's log:\n{}",
        read_text(&log)
    );
    assert_ne!(first_crt, second_crt);
}
