//! The two official clients run as themselves against both backends: kubectl commands, and the client-go probe
//! (`hack/kubebins/clientgo-probe`), whose outputs (exit code, stdout, stderr; JSON masked like raw answers)
//! must agree.
use crate::harness::{self, Target};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// One kubectl invocation in the case's namespace, with an optional manifest on stdin.
struct Kubectl {
    args: Vec<String>,
    stdin: Option<String>,
    /// A known approximation (`platform/cluster/src/lib.rs`) that makes stderr differ, with its reason.
    stderr_approx: Option<&'static str>,
}

fn k(args: &[&str]) -> Kubectl {
    Kubectl {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        stdin: None,
        stderr_approx: None,
    }
}

fn k_in(args: &[&str], stdin: Value) -> Kubectl {
    Kubectl {
        stdin: Some(stdin.to_string()),
        ..k(args)
    }
}

fn cm(name: &str, data: Value) -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"conf": "yes"}}, "data": data})
}

fn kubectl_cases() -> Vec<(&'static str, Vec<Kubectl>)> {
    vec![
        (
            "create-get-output-formats",
            vec![
                k(&["create", "configmap", "a", "--from-literal=k=v"]),
                k(&["label", "configmap", "a", "conf=yes"]),
                k(&["get", "configmap", "a"]),
                k(&["get", "configmap", "-l", "conf=yes", "-o", "wide"]),
                k(&["get", "configmap", "a", "-o", "json"]),
                k(&["get", "configmap", "a", "-o", "name"]),
                k(&["get", "configmap", "a", "-o", "jsonpath={.data.k}"]),
                k(&["get", "configmap", "a", "--show-labels"]),
                k(&["get", "configmaps", "-l", "conf=no"]),
            ],
        ),
        (
            "errors",
            vec![
                k(&["get", "configmap", "missing"]),
                k(&["delete", "configmap", "missing"]),
                k(&["create", "configmap", "Bad_Name"]),
                Kubectl {
                    stderr_approx: Some(crate::cases::SELECTOR_WORDING),
                    ..k(&["get", "configmaps", "-l", "a in (b"])
                },
                k(&["get", "configmaps", "--field-selector", "spec.x=y"]),
                k(&["create", "configmap", "a"]),
                k(&["create", "configmap", "a"]),
            ],
        ),
        (
            "apply-client-and-server-side",
            vec![
                k_in(
                    &["apply", "-f", "-"],
                    cm("a", serde_json::json!({"k": "1"})),
                ),
                k_in(
                    &["apply", "-f", "-"],
                    cm("a", serde_json::json!({"k": "1"})),
                ),
                k_in(
                    &["apply", "-f", "-"],
                    cm("a", serde_json::json!({"k": "2"})),
                ),
                k_in(
                    &["apply", "--server-side", "-f", "-"],
                    cm("b", serde_json::json!({"k": "1"})),
                ),
                k_in(
                    &[
                        "apply",
                        "--server-side",
                        "--field-manager",
                        "other",
                        "-f",
                        "-",
                    ],
                    cm("b", serde_json::json!({"k": "2"})),
                ),
                k_in(
                    &[
                        "apply",
                        "--server-side",
                        "--force-conflicts",
                        "--field-manager",
                        "other",
                        "-f",
                        "-",
                    ],
                    cm("b", serde_json::json!({"k": "2"})),
                ),
                k(&["get", "configmap", "a", "b", "-o", "json"]),
            ],
        ),
        (
            "patch-label-annotate-replace",
            vec![
                k(&["create", "configmap", "a", "--from-literal=k=v"]),
                k(&[
                    "patch",
                    "configmap",
                    "a",
                    "--type",
                    "merge",
                    "-p",
                    "{\"data\":{\"k\":\"w\"}}",
                ]),
                k(&[
                    "patch",
                    "configmap",
                    "a",
                    "--type",
                    "json",
                    "-p",
                    "[{\"op\":\"add\",\"path\":\"/data/j\",\"value\":\"1\"}]",
                ]),
                k(&["patch", "configmap", "a", "-p", "{\"data\":{\"s\":\"2\"}}"]),
                k(&[
                    "patch",
                    "configmap",
                    "a",
                    "--type",
                    "json",
                    "-p",
                    "[{\"op\":\"test\",\"path\":\"/data/j\",\"value\":\"9\"}]",
                ]),
                k(&["annotate", "configmap", "a", "x=y"]),
                k(&["label", "configmap", "a", "conf=yes"]),
                k(&["label", "configmap", "a", "conf=no"]),
                k_in(
                    &["replace", "-f", "-"],
                    cm("a", serde_json::json!({"r": "1"})),
                ),
                k(&["get", "configmap", "a", "-o", "yaml"]),
            ],
        ),
        (
            "deployments",
            vec![
                k(&[
                    "create",
                    "deployment",
                    "d",
                    "--image=busybox:1",
                    "--replicas=0",
                ]),
                k(&["set", "env", "deployment/d", "A=1"]),
                k(&[
                    "patch",
                    "deployment",
                    "d",
                    "-p",
                    "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"h\":\"1\"}}}}}",
                ]),
                k(&["get", "deployment", "d", "-o", "jsonpath={.spec.template}"]),
                k(&["scale", "deployment", "d", "--replicas=0"]),
            ],
        ),
        (
            "secrets-and-diff",
            vec![
                k(&["create", "secret", "generic", "s", "--from-literal=a=b"]),
                k(&["get", "secret", "s", "-o", "jsonpath={.data}"]),
                k(&["get", "secrets", "s"]),
                k_in(&["diff", "-f", "-"], cm("a", serde_json::json!({"k": "1"}))),
                k_in(
                    &["create", "-f", "-", "--dry-run=server", "-o", "name"],
                    cm("a", serde_json::json!({"k": "1"})),
                ),
                k(&["get", "configmap", "a"]),
            ],
        ),
        (
            "delete-flows",
            vec![
                k(&["create", "configmap", "a"]),
                k(&["create", "configmap", "b"]),
                k(&["label", "configmap", "a", "b", "conf=yes"]),
                k(&["delete", "configmap", "-l", "conf=yes"]),
                k(&["get", "configmaps", "-l", "conf=yes", "-o", "name"]),
                k(&["delete", "configmap", "a", "--ignore-not-found"]),
            ],
        ),
    ]
}

fn run_kubectl(target: &Target, ns: &str, cache: &Path, step: &Kubectl) -> Output {
    let mut command = Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(&target.kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(["-n", ns])
        .args(&step.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run kubectl");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(step.stdin.as_deref().unwrap_or_default().as_bytes());
    }
    child.wait_with_output().expect("kubectl output")
}

/// Exit code, stdout and stderr, masked; stdout as JSON when it is JSON.
fn normalize(out: &Output, ns: &str) -> Value {
    // `kubectl diff` names its temporary files and their times in the header lines.
    let stdout: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| {
            !line.starts_with("diff -u") && !line.starts_with("--- /") && !line.starts_with("+++ /")
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let mut parsed = harness::parse_body(&stdout);
    if parsed.is_string() || parsed.is_null() {
        parsed = Value::String(harness::mask_text(&stdout, ns));
    } else {
        harness::mask(&mut parsed, ns);
    }
    let stderr = harness::mask_text(&String::from_utf8_lossy(&out.stderr), ns);
    serde_json::json!({"exit": out.status.code(), "stdout": parsed, "stderr": stderr})
}

pub fn kubectl(left: &Target, right: &Target) {
    let cases = kubectl_cases();
    let cache = tempfile::tempdir().expect("tempdir");
    let mut differing = Vec::new();
    let mut lines = Vec::new();
    let mut approximated = 0;
    for (name, steps) in &cases {
        let ns = crate::namespace_for(name);
        crate::create_namespace(left, &ns);
        crate::create_namespace(right, &ns);
        let mut case_differs = false;
        for (at, step) in steps.iter().enumerate() {
            let mut x = normalize(&run_kubectl(left, &ns, &cache.path().join("l"), step), &ns);
            let mut y = normalize(&run_kubectl(right, &ns, &cache.path().join("r"), step), &ns);
            let mut diffs = Vec::new();
            harness::diff(&x, &y, "", &mut diffs);
            if let Some(reason) = step.stderr_approx {
                assert!(
                    !diffs.is_empty(),
                    "{name} step {at}: approximation no longer differs ({reason})"
                );
                approximated += 1;
                x["stderr"] = Value::Null;
                y["stderr"] = Value::Null;
                diffs.clear();
                harness::diff(&x, &y, "", &mut diffs);
            }
            for diff in diffs {
                case_differs = true;
                lines.push(format!("{name} step {at} kubectl {:?}: {diff}", step.args));
            }
        }
        crate::delete_namespace(left, &ns);
        crate::delete_namespace(right, &ns);
        if case_differs {
            differing.push(*name);
        }
    }
    eprintln!("conformance kubectl: {approximated} steps differ by known approximations");
    finish("kubectl", cases.len(), &differing, &lines);
}

fn finish(label: &str, total: usize, differing: &[&str], lines: &[String]) {
    eprintln!(
        "conformance {label}: {total} cases compared, {} differ",
        differing.len()
    );
    for line in lines {
        eprintln!("  {line}");
    }
    assert!(
        lines.is_empty(),
        "{label}: {} differences (listed above)",
        lines.len()
    );
}

/// The probe binary, built once per content of its sources (compiling client-go takes minutes on two cores)
/// and kept, like the kube binaries, under `~/.cache/configsync` (or `$XDG_CACHE_HOME/configsync`).
fn build_probe() -> PathBuf {
    let module = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hack/kubebins");
    let sources = ["go.mod", "go.sum", "clientgo-probe/main.go"].map(|file| {
        std::fs::read(module.join(file))
            .unwrap_or_else(|e| panic!("read hack/kubebins/{file}: {e}"))
    });
    let dir = cache_home().join(format!(
        "configsync/clientgo-probe/{:016x}",
        fnv1a(&sources.concat())
    ));
    let out = dir.join("clientgo-probe");
    if out.is_file() {
        return out;
    }
    std::fs::create_dir_all(&dir).expect("create the probe cache directory");
    let partial = dir.join(format!("clientgo-probe.{}", std::process::id()));
    let status = Command::new("go")
        .current_dir(&module)
        .args(["build", "-mod=readonly", "-o"])
        .arg(&partial)
        .arg("./clientgo-probe")
        .status()
        .expect("run go build");
    assert!(status.success(), "go build ./clientgo-probe failed");
    std::fs::rename(&partial, &out).expect("move the probe into the cache");
    out
}

fn cache_home() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
}

/// FNV-1a, 64 bits: a stable content key for the cache.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The probe steps that differ by a known approximation: (step, JSON pointers blanked, reason).
const CLIENT_GO_APPROX: &[(&str, &[&str], &str)] = &[
    (
        "list-bad-label",
        &["/error/message"],
        crate::cases::SELECTOR_WORDING,
    ),
    ("watch-too-old", &["/result"], crate::cases::WATCH_FROM_1),
    (
        "namespace-status-patch-invalid",
        &["/error", "/result"],
        "Namespace status is not validated (phase may be set to anything)",
    ),
];

pub fn client_go(left: &Target, right: &Target) {
    let probe = build_probe();
    let ns = crate::namespace_for("client-go");
    crate::create_namespace(left, &ns);
    crate::create_namespace(right, &ns);
    let run = |target: &Target| -> Vec<Value> {
        let out = Command::new(&probe)
            .arg("--kubeconfig")
            .arg(&target.kubeconfig)
            .args(["--namespace", &ns])
            .output()
            .expect("run the client-go probe");
        assert!(
            out.status.success(),
            "probe failed on {}: {}",
            target.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                let mut value: Value =
                    serde_json::from_str(line).expect("the probe prints JSON lines");
                harness::mask(&mut value, &ns);
                value
            })
            .collect()
    };
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| run(left));
        (x.join().expect("embedded probe"), run(right))
    });
    crate::delete_namespace(left, &ns);
    crate::delete_namespace(right, &ns);
    assert_eq!(
        x.len(),
        y.len(),
        "the probe ran a different number of steps"
    );
    let mut differing = Vec::new();
    let mut lines = Vec::new();
    let mut approximated = 0;
    for (a, b) in x.iter().zip(&y) {
        let (mut a, mut b) = (a.clone(), b.clone());
        let step = a["step"].as_str().unwrap_or("?").to_owned();
        if let Some((_, pointers, reason)) = CLIENT_GO_APPROX.iter().find(|(s, _, _)| *s == step) {
            let mut before = Vec::new();
            harness::diff(&a, &b, "", &mut before);
            assert!(
                !before.is_empty(),
                "client-go {step}: approximation no longer differs ({reason})"
            );
            approximated += 1;
            for pointer in *pointers {
                harness::blank(&mut a, pointer);
                harness::blank(&mut b, pointer);
            }
        }
        let mut diffs = Vec::new();
        harness::diff(&a, &b, "", &mut diffs);
        if !diffs.is_empty() {
            differing.push(step.clone());
        }
        lines.extend(diffs.into_iter().map(|d| format!("{step}: {d}")));
    }
    eprintln!("conformance client-go: {approximated} steps differ by known approximations");
    let names: Vec<&str> = differing.iter().map(String::as_str).collect();
    finish("client-go", x.len(), &names, &lines);
}
