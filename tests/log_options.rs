//! Both binaries take the same log options (`--log-format text|json`, `--log-level`, and their `CONFIGSYNC_*`
//! variables), and `json` really writes one JSON object per line; `configsync-sidecar` takes the sidecar's flags
//! directly and still accepts the older `sidecar` word first. Every command that reaches the API documents
//! kubectl's `--kubeconfig` and `--context` alike (one clap definition, `configsync_core::kubeconfig`).
mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{start, start_operator, wait_until};

const SIDECAR: &str = env!("CARGO_BIN_EXE_configsync-sidecar");
const CONFIGSYNC: &str = env!("CARGO_BIN_EXE_configsync");

/// The `--log-…` lines of a `--help` (the option and its description, without the wrapping around them).
fn log_help(binary: &str, args: &[&str]) -> Vec<String> {
    options_help(binary, args, &["--log-"])
}

/// The lines of a `--help` for the options whose line contains one of `options`.
fn options_help(binary: &str, args: &[&str], options: &[&str]) -> Vec<String> {
    let out = Command::new(binary)
        .args(args)
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success(), "{binary} {args:?} --help failed");
    let help = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        let line_start = line.trim_start();
        // `--name` or `-n, --name`, not a listed value (`- json: …`).
        let option = line_start.starts_with("--")
            || (line_start.starts_with('-') && line_start.contains(", --"));
        if option {
            inside = options.iter().any(|name| line.contains(name));
        } else if !line.is_empty() && !line.starts_with(' ') {
            inside = false; // a heading
        }
        if inside {
            lines.push(line.trim().to_owned());
        }
    }
    lines
}

#[test]
fn operator_and_sidecar_document_the_same_log_options() {
    let operator = log_help(CONFIGSYNC, &["operator"]);
    assert!(
        operator.iter().any(|l| l.contains("--log-format"))
            && operator.iter().any(|l| l.contains("--log-level"))
            && operator.iter().any(|l| l.contains("CONFIGSYNC_LOG_FORMAT"))
            && operator.iter().any(|l| l.starts_with("- json:")),
        "{operator:#?}"
    );
    for (binary, args) in [
        (CONFIGSYNC, &["sidecar"][..]),
        (CONFIGSYNC, &["sidecar", "exec"]),
        (SIDECAR, &[]),
        (SIDECAR, &["exec"]),
    ] {
        assert_eq!(log_help(binary, args), operator, "{binary} {args:?}");
    }
}

#[test]
fn every_command_on_the_api_documents_the_same_kubeconfig_options() {
    let kube_help = |binary, args| options_help(binary, args, &["--kubeconfig <", "--context <"]);
    let explain = kube_help(CONFIGSYNC, &["explain"]);
    assert!(
        explain
            .iter()
            .any(|l| l.contains("$KUBECONFIG, then ~/.kube/config"))
            && explain.iter().any(|l| l.starts_with("--context")),
        "{explain:#?}"
    );
    for (binary, args) in [
        (CONFIGSYNC, &["preflight"][..]),
        (CONFIGSYNC, &["operator"]),
        (CONFIGSYNC, &["sidecar"]),
        (CONFIGSYNC, &["sidecar", "exec"]),
        (SIDECAR, &[]),
        (SIDECAR, &["exec"]),
    ] {
        assert_eq!(kube_help(binary, args), explain, "{binary} {args:?}");
    }
}

/// `configsync-sidecar ARGS` rendering `source` once into `out`, with the log environment cleared.
fn sidecar_once(args: &[&str], source: &Path, out: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(SIDECAR)
        .args(args)
        .arg("--watch-dir")
        .arg(source)
        .arg("--dir")
        .arg(out)
        .args(["--once", "--health-addr", "off"])
        .env_remove("CONFIGSYNC_LOG")
        .env_remove("CONFIGSYNC_LOG_LEVEL")
        .env_remove("CONFIGSYNC_LOG_FORMAT")
        .env_remove("CONFIGSYNC_LOG_TIMEZONE")
        .envs(env.iter().copied())
        .output()
        .expect("run configsync-sidecar")
}

fn json_lines(stderr: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

#[test]
fn log_timezone_local_writes_the_process_zone_with_its_offset() {
    let (temp, source) = config_dir("level", "debug");
    // A POSIX TZ string (India, +05:30 all year): no tz database needed.
    let india = [("TZ", "IST-5:30")];
    for (args, suffix) in [
        (
            &["--log-format", "json", "--log-timezone", "local"][..],
            "+05:30",
        ),
        (&["--log-format", "json"], "Z"),
    ] {
        let dir = temp.path().join(format!("out{}", suffix.len()));
        let out = sidecar_once(args, &source, &dir, &india);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let lines = json_lines(&out.stderr);
        assert!(!lines.is_empty(), "{args:?}");
        for line in lines {
            let timestamp = line["timestamp"].as_str().expect("a timestamp");
            assert!(timestamp.ends_with(suffix), "{args:?}: {timestamp}");
        }
    }
}

/// A temporary directory holding `config/KEY` = `value`: the source the sidecar watches.
fn config_dir(key: &str, value: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let temp = tempfile::tempdir().expect("tempdir");
    let source = temp.path().join("config");
    std::fs::create_dir(&source).expect("mkdir");
    std::fs::write(source.join(key), value).expect("write");
    (temp, source)
}

#[test]
fn the_sidecar_takes_its_flags_directly_or_after_the_old_word_and_logs_json_lines() {
    let (temp, source) = config_dir("level", "debug");
    for (form, args) in [("direct", &[][..]), ("old word", &["sidecar"])] {
        let out = temp.path().join(format!("out-{}", form.replace(' ', "-")));
        let run = sidecar_once(
            &[args, &["--log-format", "json"]].concat(),
            &source,
            &out,
            &[],
        );
        assert!(run.status.success(), "{form}: {run:?}");
        assert_eq!(
            std::fs::read_to_string(out.join("config/level")).expect("projected file"),
            "debug",
            "{form}"
        );
        let lines = json_lines(&run.stderr);
        assert!(
            lines.iter().any(|line| line["level"] == "INFO"
                && line["fields"]["message"] == "published new version"),
            "{form}: {lines:#?}"
        );
    }
}

#[test]
fn log_variables_and_a_bad_filter_work_alike_in_both_binaries() {
    let (temp, source) = config_dir("k", "v");
    let env = [
        ("CONFIGSYNC_LOG_FORMAT", "json"),
        ("CONFIGSYNC_LOG_LEVEL", "warn"),
    ];
    let quiet = sidecar_once(&[], &source, &temp.path().join("a"), &env);
    assert!(quiet.status.success(), "{quiet:?}");
    assert!(
        json_lines(&quiet.stderr).is_empty(),
        "warn hides info: {quiet:?}"
    );
    let text = sidecar_once(
        &[],
        &source,
        &temp.path().join("b"),
        &[("CONFIGSYNC_LOG", "info")],
    );
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(
        stderr.contains(" INFO ") && stderr.contains("published new version"),
        "the older CONFIGSYNC_LOG still sets the filter, text by default: {stderr}"
    );
    let bad_sidecar = sidecar_once(
        &["--log-level", "info,["],
        &source,
        &temp.path().join("c"),
        &[],
    );
    let bad_operator = Command::new(CONFIGSYNC)
        .args(["operator", "--log-level", "info,["])
        .env("KUBECONFIG", temp.path().join("none"))
        .output()
        .expect("run configsync operator");
    for bad in [bad_sidecar, bad_operator] {
        assert!(!bad.status.success());
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(
            stderr.contains(r#"invalid --log-level "info,[""#),
            "{stderr}"
        );
    }
}

#[test]
fn the_operator_logs_json_lines() {
    let Some(cluster) = start() else { return };
    let operator = start_operator(&cluster, &["--log-format", "json"]);
    wait_until("the operator logs a JSON line", || {
        let log = operator.log.lock().expect("log");
        log.iter().any(|line| {
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v["level"] == "INFO")
        })
    });
    let log = operator.log.lock().expect("log");
    let text_line = log.iter().find(|line| {
        [" INFO ", " WARN ", " ERROR "]
            .iter()
            .any(|l| line.contains(l))
    });
    assert!(text_line.is_none(), "a text log line: {text_line:?}");
}
