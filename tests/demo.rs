//! End-to-end tests of `configsync demo`: the real binary runs the whole story as a process, and what it
//! printed is checked step by step; afterwards none of its children may be left running and its temp dir must
//! be gone. Two more tests stop the demo, with a terminal's Ctrl-C (SIGINT to its process group) in the middle
//! of the story and with SIGTERM in `--interactive` mode, and check the same clean-up.
//!
//! With `CONFIGSYNC_REAL_K8S=DIR` the demo runs on that real control plane (`--kubeconfig DIR/kubeconfig`, the
//! admin kubeconfig: it creates a namespace of its own and a cluster-wide webhook registration), and the clean-up
//! checked also covers what it created there: its namespace is gone or being deleted, its webhook registration
//! is gone.
mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The whole story, including rollouts of simulated pods, on a loaded 2-core machine.
const STORY_DEADLINE: Duration = Duration::from_secs(180);

/// The demo's arguments for the backend `CONFIGSYNC_REAL_K8S` selects.
fn backend_args() -> Vec<String> {
    match support::real_k8s_dir() {
        Some(dir) => vec![
            "--kubeconfig".to_owned(),
            dir.join("kubeconfig").display().to_string(),
        ],
        None => vec!["--pod-ready-delay".to_owned(), "100ms".to_owned()],
    }
}

fn start_demo(extra: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["demo", "--pause", "0s"])
        .args(backend_args())
        .args(extra)
        // Its own process group, as a shell runs a foreground job: Ctrl-C goes to the whole group.
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn configsync demo");
    let stdout = child.stdout.take().expect("stdout");
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("demo> {line}");
            let _ = line_tx.send(line);
        }
    });
    (child, line_rx)
}

/// Every line until the demo's stdout closes, then its exit status.
fn run_to_completion(mut child: Child, lines: &mpsc::Receiver<String>) -> (Vec<String>, bool) {
    let deadline = Instant::now() + STORY_DEADLINE;
    let mut output = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => output.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "the demo did not finish in {STORY_DEADLINE:?}; output:\n{}",
                    output.join("\n")
                );
            }
        }
    }
    let status = child.wait().expect("wait for the demo");
    (output, status.success())
}

/// The PIDs of the children the demo reported starting (`started NAME (pid N)`).
fn child_pids(output: &[String]) -> Vec<(String, i32)> {
    output
        .iter()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("started ")?;
            let (name, pid) = rest.split_once(" (pid ")?;
            Some((name.to_owned(), pid.strip_suffix(')')?.parse().ok()?))
        })
        .collect()
}

fn printed(output: &[String], prefix: &str) -> String {
    output
        .iter()
        .find_map(|line| line.trim().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("the demo prints {prefix:?}:\n{}", output.join("\n")))
        .to_owned()
}

fn temp_dir(output: &[String]) -> String {
    printed(output, "temp dir ")
}

/// On a real cluster: the demo's namespace is gone or being deleted, and its webhook registration is gone.
fn assert_cluster_clean(output: &[String]) {
    let Some(dir) = support::real_k8s_dir() else {
        return;
    };
    let namespace = printed(output, "namespace ");
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(dir.join("kubeconfig"))
            .args(args)
            .output()
            .expect("run kubectl")
    };
    let ns = kubectl(&[
        "get",
        "namespace",
        &namespace,
        "-o",
        "jsonpath={.metadata.deletionTimestamp}",
    ]);
    let deleting = ns.status.success() && !ns.stdout.is_empty();
    let gone = String::from_utf8_lossy(&ns.stderr).contains("NotFound");
    assert!(
        deleting || gone,
        "namespace {namespace} is neither gone nor being deleted"
    );
    let webhook = format!("configsync-inject-{namespace}");
    let hook = kubectl(&["get", "mutatingwebhookconfiguration", &webhook]);
    assert!(
        String::from_utf8_lossy(&hook.stderr).contains("NotFound"),
        "the webhook registration {webhook} is left: {}",
        String::from_utf8_lossy(&hook.stdout)
    );
}

/// No child outlives the demo, and its temp files are gone.
fn assert_clean_exit(output: &[String]) {
    for (name, pid) in child_pids(output) {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{name} (pid {pid}) is still running after the demo exited"
        );
    }
    let dir = temp_dir(output);
    assert!(
        !Path::new(&dir).exists(),
        "the temp dir {dir} was not removed"
    );
    assert!(
        output
            .iter()
            .any(|l| l.contains("every child stopped, temp files removed"))
    );
    assert_cluster_clean(output);
}

fn has(output: &[String], needle: &str) -> bool {
    output.iter().any(|line| line.contains(needle))
}

/// The steps whose components have landed on this branch; the demo leaves the others out.
const LANDED_STEPS: &[usize] = &[1, 2, 3, 4];
/// Whether the operator's ConfigSync controller has landed (it fills in the READY column).
const CONFIGSYNC_STATUS_LANDED: bool = true;

/// The lines printed by step `number` (from its heading to the next one).
fn section(output: &[String], number: usize) -> Vec<String> {
    let heading = format!("==> Step {number}:");
    let start = output.iter().position(|line| line.starts_with(&heading));
    let Some(start) = start else {
        panic!("step {number} was not run:\n{}", output.join("\n"));
    };
    output
        .iter()
        .skip(start + 1)
        .take_while(|line| !line.starts_with("==> ") && !line.starts_with("The story is complete"))
        .cloned()
        .collect()
}

fn assert_rolled(step: &[String], what: &str) {
    assert!(
        has(
            step,
            "rollout finished: deployment/web moved from ReplicaSet"
        ),
        "{what}: web did not roll:\n{}",
        step.join("\n")
    );
    assert!(has(step, "    web: ["), "{what}: no progress line");
}

fn assert_step(output: &[String], number: usize) {
    let step = section(output, number);
    let text = step.join("\n");
    match number {
        1 => assert_rolled(&step, "myconfig edit"),
        2 => {
            let app_pid = child_pids(output)
                .into_iter()
                .find_map(|(name, pid)| (name == "demo app").then_some(pid))
                .expect("the demo app was started");
            assert!(has(&step, "the sidecar rewrote redis.properties"), "{text}");
            assert!(
                has(&step, &format!("[demo-app pid {app_pid}] SIGHUP")),
                "{text}"
            );
            assert!(
                has(&step, "    maxmemory 4mb"),
                "the app did not print the new file:\n{text}"
            );
            assert!(
                has(&step, &format!("reloaded in place: same PID {app_pid}")),
                "{text}"
            );
        }
        3 => {
            assert_rolled(&step, "mysecret rotation");
            assert!(has(&step, "secret-driven restart"), "{text}");
        }
        _ => {
            let header = step
                .iter()
                .find(|line| line.contains("NAME"))
                .expect("table header");
            for column in ["SOURCES", "TARGETS", "HASH", "READY"] {
                assert!(header.contains(column), "no {column} column: {header}");
            }
            let row = step
                .iter()
                .find(|line| line.trim_start().starts_with("redis "))
                .unwrap_or_else(|| panic!("no row for ConfigSync redis:\n{text}"));
            if CONFIGSYNC_STATUS_LANDED {
                assert!(row.contains("True"), "ConfigSync redis is not READY: {row}");
            }
        }
    }
}

#[test]
fn the_story_runs_to_completion_and_leaves_nothing_behind() {
    let (child, lines) = start_demo(&[]);
    let (output, success) = run_to_completion(child, &lines);
    let text = output.join("\n");
    assert!(success, "the demo failed:\n{text}");
    assert!(has(&output, "export KUBECONFIG="), "{text}");
    for manifest in [
        "crds/configsync.dev_configsyncs.yaml",
        "examples/course/redis-config.yaml",
    ] {
        assert!(
            has(&output, &format!("applied {manifest}")),
            "{manifest} not applied:\n{text}"
        );
    }
    assert!(
        has(&output, "applied examples/demo/configsync.yaml"),
        "{text}"
    );
    for number in 1..=4 {
        if LANDED_STEPS.contains(&number) {
            assert_step(&output, number);
        } else {
            assert!(
                !has(&output, &format!("==> Step {number}:")),
                "step {number} ran without its component"
            );
        }
    }
    assert_injected_pod(&output);
    assert!(has(&output, "The story is complete."), "{text}");
    assert_clean_exit(&output);
}

/// Step 5: the webhook (registered from deploy/webhook.yaml) injected the sidecar into the annotated pod.
fn assert_injected_pod(output: &[String]) {
    let registered =
        "applied deploy/webhook.yaml (calling the operator's webhook at https://127.0.0.1:";
    assert!(has(output, registered), "{}", output.join("\n"));
    let step = section(output, 5);
    let text = step.join("\n");
    for line in [
        "created examples/demo/injected-pod.yaml",
        "pod/redis-injected is Ready, with what the webhook injected:",
        "configsync: native sidecar (init container, restartPolicy: Always); runAsNonRoot, \
         readOnlyRootFilesystem, capabilities drop ALL",
        "volume configsync-data: emptyDir, medium Memory, mounted at /etc/config in redis",
        "shareProcessNamespace: true",
        "configsync.dev/config-hash: v1:",
    ] {
        assert!(has(&step, line), "step 5 lacks {line:?}:\n{text}");
    }
}

/// Lines until one contains `needle` (which is included).
fn read_until(lines: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let mut output = Vec::new();
    let deadline = Instant::now() + STORY_DEADLINE;
    while !has(&output, needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {needle:?} in:\n{}", output.join("\n")));
        output.push(line);
    }
    output
}

#[test]
fn ctrl_c_in_the_middle_of_the_story_stops_every_child() {
    let (child, lines) = start_demo(&[]);
    let mut output = read_until(&lines, "==> Step 1:");
    let group = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).expect("send Ctrl-C");
    let (rest, success) = run_to_completion(child, &lines);
    output.extend(rest);
    let text = output.join("\n");
    assert!(success, "the demo failed on Ctrl-C:\n{text}");
    assert!(has(&output, "Ctrl-C received: stopping"), "{text}");
    assert!(!has(&output, "The story is complete."), "{text}");
    let started = child_pids(&output);
    let names: Vec<&str> = started.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["operator", "sidecar", "demo app"], "{text}");
    for (name, pid) in &started {
        assert!(
            has(&output, &format!("stopped {name} (pid {pid}")),
            "{text}"
        );
    }
    assert_clean_exit(&output);
}

#[test]
fn sigterm_during_interactive_mode_stops_every_child() {
    let (child, lines) = start_demo(&["--interactive"]);
    let mut output = read_until(&lines, "Waiting for your changes");
    if support::kubectl_available() {
        let kubeconfig = printed(&output, "export KUBECONFIG=");
        let namespace = printed(&output, "namespace ");
        let get = Command::new("kubectl")
            .args([
                "--kubeconfig",
                &kubeconfig,
                "-n",
                &namespace,
                "get",
                "configmap",
                "myconfig",
                "-o",
                "name",
            ])
            .output()
            .expect("run kubectl");
        assert_eq!(
            String::from_utf8_lossy(&get.stdout).trim(),
            "configmap/myconfig"
        );
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
    let (rest, success) = run_to_completion(child, &lines);
    output.extend(rest);
    assert!(
        success,
        "the demo failed on SIGTERM:\n{}",
        output.join("\n")
    );
    assert!(has(&output, "SIGTERM received: stopping"));
    assert_clean_exit(&output);
}
