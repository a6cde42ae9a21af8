//! `configsync completion`: the scripts each shell loads, checked by asking that shell (where installed) to complete.
use std::process::Command;

fn script(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["completion", shell])
        .output()
        .expect("run configsync completion");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 script")
}

/// What bash's completion function offers for the words typed so far (the last one is being completed).
fn bash_completes(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("configsync.bash");
    std::fs::write(&path, script("bash")).expect("write script");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
         _configsync configsync '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["-c", &program])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_their_flags() {
    let subcommands = bash_completes(&["configsync", "op"]);
    assert_eq!(subcommands, ["operator"]);
    let flags = bash_completes(&["configsync", "cluster", "--wr"]);
    assert_eq!(flags, ["--write-kubeconfig"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_subcommand() {
    for shell in ["zsh", "fish"] {
        let text = script(shell);
        for subcommand in [
            "cluster",
            "operator",
            "sidecar",
            "inject",
            "keys",
            "kms",
            "demo",
            "completion",
        ] {
            assert!(
                text.contains(subcommand),
                "{shell} script lacks {subcommand}"
            );
        }
    }
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let out = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["completion", "ksh"])
        .output()
        .expect("run configsync completion");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("possible values: bash"), "{stderr}");
}
