//! Every command in README.md runs: the fenced ` ```sh ` blocks are extracted and each is run by bash, in order,
//! against the embedded cluster (or, with `CONFIGSYNC_REAL_K8S`, against the real control plane, which then
//! stands in for the blocks' `configsync cluster`). A README that drifts from the binary fails this test.
//!
//! # How a block is run
//! Each block becomes one bash script (`set -euo pipefail`, so every command must succeed), run in a fresh
//! temporary directory that holds symlinks to the repository's top-level entries (so `examples/…`, `crds/…` and
//! `deploy/…` resolve and `./kubeconfig` is written in the temp dir), with `HOME` pointing there too.
//! Lines are rewritten as follows (a `\`-continued command counts as one line):
//! - `cargo run [--release] -- ARGS` and `configsync ARGS` run the binary under test (no second build).
//! - Other `cargo` commands (`cargo test`, `cargo build`, …, also behind `VAR=value`) are skipped: they are what
//!   runs this test. `hack/real-k8s` lines are skipped too: `.ci/run` runs that block word for word.
//! - Long-running servers are started in the background and stopped (SIGTERM, then reaped) when their block
//!   ends: `configsync cluster`, `configsync operator`, `configsync sidecar` (without `--once`),
//!   `configsync kms` and `configsync demo --interactive`. A server that prints `export KUBECONFIG=` (cluster,
//!   demo) is waited for until it does, with a deadline; its `--port N` becomes `--port 0` so that runs cannot
//!   collide on a fixed port (the kubeconfig it writes carries the real address).
//!
//! # Markers
//! A comment line in a block changes how the next command is run:
//! - `# readme-test: skip` skips it (e.g. commands for a real cluster);
//! - `# readme-test: background` starts it in the background like a server.
//!
//! kubectl must be on PATH (see `tests/support`).
mod support;

use std::path::Path;
use std::process::Command;

/// A fenced `sh` block: the README line where it starts, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    line: usize,
    text: String,
}

/// The ` ```sh ` (or `bash`, `shell`) blocks of a Markdown document, in order.
fn sh_blocks(markdown: &str) -> Vec<Block> {
    enum State {
        Outside,
        Shell(Block),
        OtherFence,
    }
    let mut blocks = Vec::new();
    let mut state = State::Outside;
    for (index, line) in markdown.lines().enumerate() {
        let is_fence = line.trim_start().starts_with("```");
        state = match state {
            State::Outside if is_fence => {
                let info = line.trim_start().trim_start_matches('`').trim();
                if matches!(info, "sh" | "bash" | "shell") {
                    State::Shell(Block {
                        line: index + 1,
                        text: String::new(),
                    })
                } else {
                    State::OtherFence
                }
            }
            State::Shell(block) if is_fence => {
                blocks.push(block);
                State::Outside
            }
            State::Shell(mut block) => {
                block.text.push_str(line);
                block.text.push('\n');
                State::Shell(block)
            }
            State::OtherFence if is_fence => State::Outside,
            other => other,
        };
    }
    blocks
}

/// How one logical command line of a block is run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Run {
    /// Run it as written (after rewriting `configsync`/`cargo run`).
    Foreground(String),
    /// Start it in the background; `wait` says whether to wait for its `export KUBECONFIG=` line.
    Background { command: String, wait: bool },
    /// Do not run it; the reason is echoed.
    Skip(String),
}

const BINARY: &str = "\"$CONFIGSYNC\"";
const SERVERS: &[&str] = &["cluster", "operator", "sidecar", "kms"];

/// Decide how to run one command line (`marker` is the preceding `# readme-test:` marker, if any).
fn plan_line(line: &str, marker: Option<&str>) -> Run {
    let trimmed = line.trim();
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let rest = if let Some(rest) = strip_cargo_run(&words) {
        Some(rest)
    } else if words.first() == Some(&"configsync") {
        words.get(1..).map(<[&str]>::to_vec)
    } else {
        None
    };
    if marker == Some("skip") {
        return Run::Skip(trimmed.to_owned());
    }
    let Some(args) = rest else {
        // `cargo …` (also behind `VAR=value` assignments) is what runs this test; `hack/real-k8s` is run by
        // `.ci/run` itself, word for word, around the real-control-plane pass.
        let command = words.iter().find(|word| !is_assignment(word));
        if matches!(command, Some(&"cargo" | &"hack/real-k8s")) {
            return Run::Skip(trimmed.to_owned());
        }
        return match marker {
            Some("background") => Run::Background {
                command: trimmed.to_owned(),
                wait: false,
            },
            _ => Run::Foreground(trimmed.to_owned()),
        };
    };
    let subcommand = args.first().copied().unwrap_or_default();
    let is_server = (SERVERS.contains(&subcommand) && !args.contains(&"--once"))
        || (subcommand == "demo" && args.contains(&"--interactive"))
        || marker == Some("background");
    let wait = matches!(subcommand, "cluster" | "demo");
    let args = if is_server { free_port(&args) } else { args };
    let command = std::iter::once(BINARY.to_owned())
        .chain(args.iter().map(|arg| (*arg).to_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    if is_server {
        Run::Background { command, wait }
    } else {
        Run::Foreground(command)
    }
}

/// Whether `word` is a shell variable assignment (`NAME=value`) in front of a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The arguments after `cargo run [--release] [-q] --`.
fn strip_cargo_run<'a>(words: &[&'a str]) -> Option<Vec<&'a str>> {
    if words.get(..2) != Some(&["cargo", "run"][..]) {
        return None;
    }
    let separator = words.iter().position(|word| *word == "--")?;
    words.get(separator + 1..).map(<[&str]>::to_vec)
}

/// `--port N` becomes `--port 0`.
fn free_port<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut previous = "";
    args.iter()
        .map(|arg| {
            let rewritten = if previous == "--port" {
                "0"
            } else if arg.starts_with("--port=") {
                "--port=0"
            } else {
                arg
            };
            previous = arg;
            rewritten
        })
        .collect()
}

/// A block's logical lines (`\` continuations joined) with their markers applied, as a bash script. With `real`
/// (the test's namespace on the shared real control plane), `configsync cluster` is skipped: the real control plane
/// stands in for it (its kubeconfig is already where the block's `export KUBECONFIG=` points); and
/// `configsync operator` follows only that namespace, so it leaves other tests' workloads alone.
fn script(block: &Block, real: Option<&str>) -> String {
    let mut script = String::from(PRELUDE);
    let mut marker: Option<String> = None;
    let joined = block.text.replace("\\\n", " ");
    for line in joined.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("# readme-test:") {
            marker = Some(rest.trim().to_owned());
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut planned = plan_line(trimmed, marker.take().as_deref());
        if let (Some(namespace), Run::Background { command, .. }) = (real, &mut planned) {
            if command.starts_with(&format!("{BINARY} cluster")) {
                planned = Run::Skip(format!("{trimmed} (the real control plane stands in)"));
            } else if command.starts_with(&format!("{BINARY} operator")) {
                command.push_str(&format!(" --namespaces {namespace}"));
            }
        }
        let step = match planned {
            Run::Foreground(command) => format!("readme_echo {}\n{command}\n", quote(trimmed)),
            Run::Background { command, wait } => {
                format!(
                    "readme_echo {}\nreadme_background {wait} {command}\n",
                    quote(trimmed)
                )
            }
            Run::Skip(command) => {
                format!("readme_echo {}\n", quote(&format!("(skipped) {command}")))
            }
        };
        script.push_str(&step);
    }
    script
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Helpers every block's script starts with. A background command's PID goes to `$READMETEST_PIDS`, its output
/// to its own log; `readme_background true ...` waits (polling, with a deadline) for its `export KUBECONFIG=`.
const PRELUDE: &str = r#"set -euo pipefail
readme_echo() { printf '$ %s\n' "$1"; }
readme_count=0
readme_background() {
  local wait=$1; shift
  readme_count=$((readme_count + 1))
  local log="$READMETEST_DIR/background-$readme_count.log"
  ( exec "$@" ) >"$log" 2>&1 &
  echo $! >>"$READMETEST_PIDS"
  if [ "$wait" = true ]; then
    local deadline=$((SECONDS + 60))
    until grep -q 'export KUBECONFIG=' "$log"; do
      if [ $SECONDS -ge $deadline ] || ! kill -0 "$(tail -n1 "$READMETEST_PIDS")" 2>/dev/null; then
        echo "background command did not get ready:" >&2; cat "$log" >&2; return 1
      fi
      sleep 0.1
    done
  fi
}
"#;

/// Run one block in `dir`; returns its output when it failed. With `real` (a cluster of the shared real control
/// plane) the block's `./kubeconfig` is that cluster's, and `configsync cluster` is not started.
fn run_block(block: &Block, dir: &Path, real: Option<&support::Cluster>) -> Result<String, String> {
    let pids = dir.join("background.pids");
    let _ = std::fs::remove_file(&pids);
    if let Some(cluster) = real {
        std::fs::copy(&cluster.kubeconfig, dir.join("kubeconfig"))
            .map_err(|error| format!("copying the kubeconfig: {error}"))?;
    }
    let output = Command::new("bash")
        .arg("-c")
        .arg(script(
            block,
            real.map(|cluster| cluster.namespace.as_str()),
        ))
        .current_dir(dir)
        .env("CONFIGSYNC", env!("CARGO_BIN_EXE_configsync"))
        .env("READMETEST_DIR", dir)
        .env("READMETEST_PIDS", &pids)
        .env("HOME", dir)
        .env_remove("KUBECONFIG")
        .output()
        .map_err(|error| format!("running bash failed: {error}"))?;
    stop_background(&pids);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// SIGTERM every background process of the block and wait until it is gone.
fn stop_background(pids: &Path) {
    let listed = std::fs::read_to_string(pids).unwrap_or_default();
    for pid in listed
        .lines()
        .filter_map(|line| line.trim().parse::<i32>().ok())
    {
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        support::wait_until("a background README command exits", || {
            !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid.as_raw())
        });
    }
}

/// A temp dir that looks like the repository's root to the README's relative paths.
fn workspace_like_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(root).expect("read the repository root") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == ".git" || name == "target" || name == "kubeconfig" {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), dir.path().join(&name)).expect("symlink");
    }
    dir
}

#[test]
fn every_readme_command_runs() {
    if !support::kubectl_available() {
        return;
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let blocks = sh_blocks(&readme);
    assert!(!blocks.is_empty(), "README.md has no ```sh blocks");
    // On the real control plane the blocks run in a namespace of their own; `deploy/` (cluster-wide, installed by
    // the "Installing into a real cluster" block) is removed again at the end.
    let real = support::real_k8s_dir().and_then(|_| support::start());
    let mut failures = Vec::new();
    for block in &blocks {
        let dir = workspace_like_dir();
        match run_block(block, dir.path(), real.as_ref()) {
            Ok(output) => println!("README.md:{} ok\n{output}", block.line),
            Err(output) => failures.push(format!(
                "README.md:{} failed:\n{}\n{output}",
                block.line, block.text
            )),
        }
    }
    if let Some(cluster) = &real {
        let deploy = support::repo("deploy/");
        cluster.run(&[
            "delete",
            "-k",
            &deploy,
            "--ignore-not-found",
            "--wait=false",
        ]);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn only_shell_blocks_are_extracted() {
    let markdown = "intro\n```sh\ncargo run -- demo\n```\n```text\nconfigsync rm -rf\n```\n```rust\nfn f() {}\n```\n```bash\nkubectl get cs \\\n  -A\n```\n";
    let blocks = sh_blocks(markdown);
    assert_eq!(
        blocks,
        vec![
            Block {
                line: 2,
                text: "cargo run -- demo\n".into()
            },
            Block {
                line: 11,
                text: "kubectl get cs \\\n  -A\n".into()
            },
        ]
    );
}

#[test]
fn lines_are_planned_by_subcommand_and_marker() {
    let fg = |s: &str| Run::Foreground(s.to_owned());
    let bg = |s: &str, wait| Run::Background {
        command: s.to_owned(),
        wait,
    };
    assert_eq!(
        plan_line("cargo run --release -- demo", None),
        fg("\"$CONFIGSYNC\" demo")
    );
    assert_eq!(
        plan_line(
            "cargo run --release -- cluster --port 6443 --write-kubeconfig ./kubeconfig",
            None
        ),
        bg(
            "\"$CONFIGSYNC\" cluster --port 0 --write-kubeconfig ./kubeconfig",
            true
        )
    );
    assert_eq!(
        plan_line("configsync demo --interactive", None),
        bg("\"$CONFIGSYNC\" demo --interactive", true)
    );
    assert_eq!(
        plan_line("configsync operator", None),
        bg("\"$CONFIGSYNC\" operator", false)
    );
    assert_eq!(
        plan_line("configsync sidecar --once --dir x", None),
        fg("\"$CONFIGSYNC\" sidecar --once --dir x")
    );
    assert_eq!(
        plan_line("cargo test --workspace", None),
        Run::Skip("cargo test --workspace".into())
    );
    assert_eq!(
        plan_line(
            "CONFIGSYNC_REAL_K8S=/tmp/x cargo test -p configsync --tests",
            None
        ),
        Run::Skip("CONFIGSYNC_REAL_K8S=/tmp/x cargo test -p configsync --tests".into())
    );
    assert_eq!(
        plan_line("hack/real-k8s up /tmp/x", None),
        Run::Skip("hack/real-k8s up /tmp/x".into())
    );
    assert_eq!(
        plan_line("A=1 kubectl get pods", None),
        fg("A=1 kubectl get pods")
    );
    assert_eq!(
        plan_line("kubectl get pods", Some("skip")),
        Run::Skip("kubectl get pods".into())
    );
    assert_eq!(plan_line("kubectl get pods", None), fg("kubectl get pods"));
    assert_eq!(
        plan_line("sleep-forever", Some("background")),
        bg("sleep-forever", false)
    );
}

#[test]
fn scripts_join_continuations_and_apply_markers() {
    let block = Block {
        line: 1,
        text: "# readme-test: skip\nkubectl apply -f deploy/\nconfigsync crd \\\n  > crd.yaml\n"
            .into(),
    };
    let script = script(&block, None);
    assert!(
        script.contains("readme_echo '(skipped) kubectl apply -f deploy/'\n"),
        "{script}"
    );
    assert!(!script.contains("\nkubectl apply"), "{script}");
    assert!(
        script.contains("\n\"$CONFIGSYNC\" crd > crd.yaml\n"),
        "{script}"
    );
}

#[test]
fn on_the_real_control_plane_the_embedded_cluster_is_not_started() {
    let block = Block {
        line: 1,
        text: "configsync cluster --port 6443 --write-kubeconfig ./kubeconfig\nconfigsync operator\nkubectl get pods\n"
            .into(),
    };
    let real = script(&block, Some("ns1"));
    assert!(
        real.contains("(skipped) configsync cluster --port 6443 --write-kubeconfig ./kubeconfig (the real control plane stands in)"),
        "{real}"
    );
    assert!(!real.contains("readme_background true"), "{real}");
    assert!(
        real.contains("readme_background false \"$CONFIGSYNC\" operator --namespaces ns1\n"),
        "{real}"
    );
    assert!(real.contains("\nkubectl get pods\n"), "{real}");
    assert!(script(&block, None).contains("readme_background true"));
}

#[test]
fn a_drifted_command_fails_its_block_and_servers_are_stopped() {
    let dir = workspace_like_dir();
    let drifted = Block {
        line: 1,
        text: "configsync no-such-subcommand\n".into(),
    };
    assert!(run_block(&drifted, dir.path(), None).is_err());
    let server = Block {
        line: 1,
        text: "configsync cluster --port 6443 --write-kubeconfig ./kubeconfig\n".into(),
    };
    let output = run_block(&server, dir.path(), None).expect("the cluster starts");
    assert!(output.contains("$ configsync cluster"), "{output}");
    let pid: i32 = std::fs::read_to_string(dir.path().join("background.pids"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(!Path::new(&format!("/proc/{pid}/cmdline")).exists() || is_zombie(pid));
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat.contains(") Z "))
}
