//! No leaks (issue 10): the full demo runs with every component logging at trace level; then its output, the
//! components' logs, every Event, the operator's and the sidecar's `/metrics`, and every object's spec and
//! status (all but the Secrets themselves) are searched for the Secret values used, in plain, base64,
//! percent-encoded and JSON-escaped form (`configsync_fuzz::leaks::find_leaks`). Any hit fails.
//!
//! The Secret values come from every `kind: Secret` under `examples/`, plus the live values of those Secrets
//! at the end (the demo rotates `mysecret`'s password to a fresh value it never prints). `--keep-running`
//! keeps the demo's cluster and components up after the story so Events and metrics can still be read.
//!
//! With `CONFIGSYNC_REAL_K8S=DIR` the demo runs on that real control plane (`--kubeconfig DIR/kubeconfig`) in a
//! namespace of its own, and the objects searched are those of that namespace (other tests share the cluster).
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use configsync_fuzz::leaks::{Blob, find_leaks};
use serde_json::Value;

const STORY_DEADLINE: Duration = Duration::from_secs(240);

/// `(namespace, name, key, value)` of every Secret under `examples/` (data decoded, stringData as is).
fn example_secrets() -> Vec<(String, String, String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut found = Vec::new();
    for path in yaml_files(&root) {
        let text = std::fs::read_to_string(&path).expect("read example");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap_or_default();
        for doc in docs.iter().filter(|d| d["kind"] == "Secret") {
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
            let name = doc["metadata"]["name"].as_str().unwrap_or_default();
            for (key, value) in secret_values(doc) {
                found.push((ns.to_owned(), name.to_owned(), key, value));
            }
        }
    }
    found
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let is_yaml = |path: &PathBuf| path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    support::files_under(dir)
        .into_iter()
        .filter(is_yaml)
        .collect()
}

/// The decoded `data` and the `stringData` of a Secret object.
fn secret_values(secret: &Value) -> Vec<(String, Vec<u8>)> {
    let mut values = Vec::new();
    if let Some(data) = secret["data"].as_object() {
        for (key, encoded) in data {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.as_str().unwrap_or_default())
                .expect("Secret data is base64");
            values.push((key.clone(), decoded));
        }
    }
    if let Some(data) = secret["stringData"].as_object() {
        for (key, text) in data {
            values.push((key.clone(), text.as_str().unwrap_or_default().into()));
        }
    }
    values
}

/// The demo process and every line it printed (stdout and stderr).
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    output: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn start() -> Self {
        let backend = match support::real_k8s_dir() {
            Some(dir) => vec![
                "--kubeconfig".to_owned(),
                dir.join("kubeconfig").display().to_string(),
            ],
            None => vec!["--pod-ready-delay".to_owned(), "100ms".to_owned()],
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_configsync"))
            .args(["demo", "--pause", "0s"])
            .args(backend)
            .arg("--keep-running")
            // Trace level for every child: the operator reads CONFIGSYNC_LOG_LEVEL, the sidecar CONFIGSYNC_LOG.
            .env("CONFIGSYNC_LOG_LEVEL", "trace")
            .env("CONFIGSYNC_LOG", "trace")
            .env("RUST_LOG", "trace")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn configsync demo");
        let (line_tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let line_tx = line_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = line_tx.send(line);
                }
            });
        }
        Self {
            child,
            lines,
            output: Vec::new(),
        }
    }

    /// Read lines until one contains `needle`; `false` when the output ends or the deadline passes first.
    fn read_until(&mut self, needle: &str, deadline: Instant) -> bool {
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.output.push(line);
                    if found {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    fn find(&self, prefix: &str) -> String {
        self.output
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}"))
            .to_owned()
    }

    /// SIGTERM, then every remaining line until the demo exits.
    fn stop(&mut self) -> bool {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let finished = self.read_until("configsync demo finished", Instant::now() + STORY_DEADLINE);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.output.push(line);
        }
        finished && self.child.wait().is_ok_and(|s| s.success())
    }
}

/// The first `http://ADDR` in `text` after `marker`, for the components' metrics endpoints.
fn metrics_addr(text: &str, marker: &str, after: &str) -> String {
    text.lines()
        .find(|l| l.contains(marker))
        .and_then(|l| l.split(after).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {marker:?} line in the log"))
        .trim_end_matches('/')
        .to_owned()
}

fn kubectl(kubeconfig: &str, args: &[&str]) -> Vec<u8> {
    let mut command = Command::new("kubectl");
    command.args(["--kubeconfig", kubeconfig]).args(args);
    support::run_ok(&mut command).stdout
}

/// Every resource kind searched (all objects, spec and status); Secrets are left out on purpose.
const KINDS: &[&str] = &[
    "events",
    "configmaps",
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "configsyncs",
];

#[test]
fn the_demo_at_trace_level_never_shows_a_secret_value() {
    if !support::kubectl_available() {
        return;
    }
    let examples = example_secrets();
    assert!(
        examples.iter().any(|(_, _, _, v)| v == b"1f2d1e2e67df"),
        "examples/course/mysecret.yaml is read"
    );
    let mut demo = Demo::start();
    let complete = demo.read_until("The story is complete.", Instant::now() + STORY_DEADLINE);
    assert!(
        complete,
        "the story did not complete:\n{}",
        demo.output.join("\n")
    );
    let kubeconfig = demo.find("export KUBECONFIG=");
    let dir = PathBuf::from(demo.find("temp dir "));
    // The demo applies the examples in its namespace (`default` on the embedded server).
    let namespace = demo.find("namespace ");
    // Every namespace of the embedded server is the demo's; a real cluster's others belong to other tests.
    let scope = if support::real_k8s_dir().is_some() {
        ["-n", namespace.as_str()]
    } else {
        ["-A", ""]
    };
    let scope: Vec<&str> = scope.into_iter().filter(|a| !a.is_empty()).collect();

    // The live values too: the demo rotated the password to one it never printed.
    let mut secrets: Vec<Vec<u8>> = examples.iter().map(|(.., v)| v.clone()).collect();
    let mut live_secrets = Vec::new();
    for (ns, name) in examples.iter().map(|(ns, n, ..)| (ns, n)) {
        let ns = if ns == "default" { &namespace } else { ns };
        let json = kubectl(
            &kubeconfig,
            &["get", "secret", name, "-n", ns, "-o", "json"],
        );
        let object: Value = serde_json::from_slice(&json).expect("secret JSON");
        secrets.extend(secret_values(&object).into_iter().map(|(_, v)| v));
        live_secrets.push(json);
    }
    secrets.sort();
    secrets.dedup();

    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    for kind in KINDS {
        let mut args = vec!["get", kind, "-o", "yaml"];
        args.extend(&scope);
        let yaml = kubectl(&kubeconfig, &args);
        blobs.push((format!("kubectl get {kind}"), yaml));
    }
    // Every component's log (one `<name>.log` per child in the demo's temp dir).
    for entry in std::fs::read_dir(&dir)
        .expect("the demo's temp dir")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".log") {
            let text = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            blobs.push((name, text));
        }
    }
    let log = |name: &str| {
        let found = blobs.iter().find(|(label, _)| label == name);
        let text = found.map(|(_, t)| String::from_utf8_lossy(t).into_owned());
        text.unwrap_or_else(|| panic!("no {name} in {}", dir.display()))
    };
    let (operator_log, sidecar_log) = (log("operator.log"), log("sidecar.log"));
    for (name, text) in [("operator", &operator_log), ("sidecar", &sidecar_log)] {
        assert!(text.contains("TRACE"), "the {name} logs at trace level");
    }
    let operator = metrics_addr(&operator_log, "serving health and metrics", "http://");
    let sidecar = metrics_addr(&sidecar_log, "serving /healthz", "bound=");
    for (name, addr) in [("operator", operator), ("sidecar", sidecar)] {
        let metrics = support::http_get(&addr, "/metrics")
            .unwrap_or_else(|| panic!("{name} /metrics at {addr}"));
        assert!(metrics.contains("configsync_"), "{name} metrics: {metrics}");
        blobs.push((format!("{name} /metrics"), metrics.into_bytes()));
    }

    let stopped = demo.stop();
    assert!(
        stopped,
        "the demo did not stop cleanly:\n{}",
        demo.output.join("\n")
    );
    blobs.push(("demo output".into(), demo.output.join("\n").into_bytes()));

    let needles: Vec<&[u8]> = secrets.iter().map(Vec::as_slice).collect();
    // The checker must see the values where they are meant to be: in the Secrets themselves.
    let control: Vec<Blob<'_>> = live_secrets
        .iter()
        .map(|json| Blob::new("kubectl get secret", json))
        .collect();
    assert!(
        !find_leaks(&needles, &control).is_empty(),
        "the leak checker finds the values in the Secrets"
    );
    let searched: Vec<Blob<'_>> = blobs.iter().map(|(l, b)| Blob::new(l, b)).collect();
    let leaks = find_leaks(&needles, &searched);
    let report: Vec<String> = leaks.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "secret values leaked:\n{}",
        report.join("\n")
    );
    eprintln!(
        "searched {} blobs ({} bytes) for {} secret values: no leaks",
        searched.len(),
        searched.iter().map(|b| b.bytes.len()).sum::<usize>(),
        needles.len()
    );
}
