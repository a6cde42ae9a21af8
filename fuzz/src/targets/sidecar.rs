//! Sidecar targets: the env-file renderer (round trip through a POSIX shell) and projected path validation.
use std::io::Write as _;
use std::path::{Component, Path};
use std::process::Command;

use configsync_sidecar::render::env::{EnvBuilder, EnvRules, render_dotenv};
use configsync_sidecar::render::path::{MAX_FILE_NAME_LEN, MAX_PATH_LEN, RelPath};
use configsync_sidecar::source::Value;

/// Variables the shell sets by itself while sourcing; their values cannot round-trip.
const SHELL_OWNED: &[&str] = &["PWD", "OLDPWD", "SHLVL", "_"];

/// `key \0 value \0 key \0 value ...`; the first byte picks the naming rules. Every accepted variable is
/// rendered with `render_dotenv`, sourced by `sh -c 'set -a; . FILE; env -0'`, and must come back byte for
/// byte.
pub fn env_file(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let rules = EnvRules {
        prefix: if flags & 1 == 1 {
            "APP_".to_owned()
        } else {
            String::new()
        },
        upper_case: flags & 2 == 2,
    };
    let mut builder = EnvBuilder::default();
    let mut parts = rest.split(|&b| b == 0);
    while let (Some(key), Some(value)) = (parts.next(), parts.next()) {
        let _ = builder.add(
            "configmap/default/fuzz",
            &String::from_utf8_lossy(key),
            &Value::from(value.to_vec()),
            &rules,
        );
    }
    let (vars, _warnings) = builder.finish();
    let vars: configsync_sidecar::render::env::EnvVars = vars
        .into_iter()
        .filter(|(name, _)| !SHELL_OWNED.contains(&name.as_str()))
        .collect();
    if vars.is_empty() {
        return;
    }
    let sourced = source_in_shell(render_dotenv(&vars).as_bytes());
    for (name, value) in &vars {
        let got = sourced
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice());
        assert_eq!(
            got,
            Some(value.as_bytes()),
            "variable {name} did not round-trip through sh"
        );
    }
}

/// `sh -c 'set -a; . FILE; env -0'` in an empty environment: the variables it prints.
fn source_in_shell(dotenv: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        panic!("cannot create a temp file");
    };
    assert!(file.write_all(dotenv).is_ok(), "cannot write the env file");
    let output = Command::new("/bin/sh")
        .args(["-c", "set -a; . \"$1\"; exec /usr/bin/env -0", "sh"])
        .arg(file.path())
        .env_clear()
        .output();
    let Ok(output) = output else {
        panic!("cannot run /bin/sh");
    };
    assert!(
        output.status.success(),
        "sourcing failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
        .stdout
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let eq = entry.iter().position(|&b| b == b'=')?;
            let (name, value) = entry.split_at(eq);
            Some((
                String::from_utf8_lossy(name).into_owned(),
                value.get(1..).unwrap_or_default().to_vec(),
            ))
        })
        .collect()
}

/// A validated projected path stays inside the target directory: relative, only normal components, no
/// NUL, within the length limits, and its first element is a prefix of it.
pub fn projected_path(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(path) = RelPath::new(&text) else {
        return;
    };
    let s = path.as_str();
    assert!(
        s.len() <= MAX_PATH_LEN && !s.contains('\0'),
        "accepted {s:?}"
    );
    assert!(
        s.split('/')
            .all(|e| !e.is_empty() && e.len() <= MAX_FILE_NAME_LEN),
        "accepted {s:?}"
    );
    assert!(!s.starts_with(".."), "accepted a reserved name {s:?}");
    assert!(
        Path::new(s)
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{s:?} escapes the target directory"
    );
    assert!(s.starts_with(path.first_element()));
    if let Ok(joined) = path.join(&text) {
        assert!(
            Path::new(joined.as_str())
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        );
    }
}
