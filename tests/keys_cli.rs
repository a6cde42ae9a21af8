//! `configsync keys` and `configsync kms` through the built binary: generate, rotate, status, reencrypt.
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use configsync_envelope::{ItemId, KeyRing, Store};

fn configsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(args)
        .output()
        .expect("run configsync")
}

fn ok(args: &[&str]) -> String {
    let out = configsync(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

fn mk_id(i: usize) -> ItemId {
    ItemId::new("default", &format!("app-{i}"), "config.yaml").expect("valid id")
}

fn plaintext(i: usize) -> Vec<u8> {
    format!("secret value number {i}").into_bytes()
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `keys <verb> --keys <keys> --store <store>` followed by `extra`.
fn on_store<'a>(verb: &'a str, keys: &'a Path, store: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["keys", verb, "--keys", s(keys), "--store", s(store)];
    args.extend(extra);
    args
}

#[test]
fn generate_writes_a_private_key_file_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys.json");
    let out = ok(&["keys", "generate", "--keys", s(&keys)]);
    assert!(out.contains("primary key key-1"), "{out}");
    assert_eq!(
        std::fs::metadata(&keys).expect("stat").permissions().mode() & 0o777,
        0o600
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&keys).expect("read")).expect("json");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["primary"], "key-1");
    assert_eq!(
        doc["keys"][0]["secret"].as_str().map(str::len),
        Some(44),
        "32 bytes of base64"
    );

    let before = std::fs::read(&keys).expect("read");
    let again = configsync(&["keys", "generate", "--keys", s(&keys)]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        std::fs::read(&keys).expect("read"),
        before,
        "existing keys must survive"
    );
}

#[test]
fn rotate_status_and_resumed_reencrypt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys.json");
    let store_dir = dir.path().join("store");
    ok(&["keys", "generate", "--keys", s(&keys)]);
    let store = Store::new(&store_dir);
    let ring = KeyRing::load_file(&keys).expect("load");
    for i in 0..6 {
        store.put(&ring, &mk_id(i), &plaintext(i)).expect("put");
    }

    let out = ok(&["keys", "rotate", "--keys", s(&keys), "--id", "2026-q4"]);
    assert!(
        out.contains("primary key is now 2026-q4 (was key-1)"),
        "{out}"
    );
    let status = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["keys", "status", "--store", s(&store_dir)])
        .env("CONFIGSYNC_KEYS", &keys)
        .output()
        .expect("run");
    let status = String::from_utf8(status.stdout).expect("utf-8");
    assert!(
        status.contains("default/app-0/config.yaml\tkey-1\tstale"),
        "{status}"
    );
    assert!(
        status.contains("6 items: 0 current (primary 2026-q4), 6 stale, 0 unreadable"),
        "{status}"
    );
    let check = configsync(&on_store("status", &keys, &store_dir, &["--check"]));
    assert!(
        !check.status.success(),
        "--check fails while items are stale"
    );
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("6 items are not under the primary key"),
        "{stderr}"
    );

    // Simulate a first run killed half-way: three items moved, one temp file left mid-write.
    let ring = KeyRing::load_file(&keys).expect("load rotated");
    for i in 0..3 {
        store.reencrypt_item(&ring, &mk_id(i)).expect("move");
    }
    let orphan = store_dir.join("default/app-3/.config.yaml.sealed.0123456789abcdef.tmp");
    std::fs::write(&orphan, b"half a write").expect("orphan");

    let run = configsync(&on_store("reencrypt", &keys, &store_dir, &[]));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(run.status.success(), "{stderr}");
    assert!(
        stdout.contains("6 items: 3 moved to 2026-q4, 0 failed"),
        "{stdout}"
    );
    assert!(stderr.contains("removed 1 temp files"), "{stderr}");
    assert!(
        stderr.contains("[1/6] default/app-0/config.yaml: already current"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[6/6] default/app-5/config.yaml: key-1 -> 2026-q4"),
        "{stderr}"
    );
    assert!(!orphan.exists());

    let status = ok(&on_store("status", &keys, &store_dir, &["--check"]));
    assert!(
        status.contains("6 items: 6 current (primary 2026-q4), 0 stale, 0 unreadable"),
        "{status}"
    );
    for i in 0..6 {
        let got = store.get(&ring, &mk_id(i)).expect("opens").expect("exists");
        assert_eq!(got.as_slice(), plaintext(i).as_slice());
    }
}

#[test]
fn reencrypt_fails_loudly_on_items_it_cannot_read_and_keeps_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (keys, other_keys, store_dir) = (
        dir.path().join("keys.json"),
        dir.path().join("other.json"),
        dir.path().join("store"),
    );
    ok(&["keys", "generate", "--keys", s(&keys)]);
    ok(&[
        "keys",
        "generate",
        "--keys",
        s(&other_keys),
        "--id",
        "other",
    ]);
    let store = Store::new(&store_dir);
    store
        .put(&KeyRing::load_file(&keys).expect("load"), &mk_id(0), b"v")
        .expect("put");
    let before = store.read_sealed(&mk_id(0)).expect("read");

    let run = configsync(&on_store("reencrypt", &other_keys, &store_dir, &[]));
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown key id \"key-1\""));
    assert_eq!(store.read_sealed(&mk_id(0)).expect("read"), before);
    let status = ok(&on_store("status", &other_keys, &store_dir, &[]));
    assert!(status.contains("key-1\tunknown-key"), "{status}");
}

#[test]
fn kms_refuses_a_socket_path_that_is_a_regular_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (keys, socket) = (dir.path().join("keys.json"), dir.path().join("kms.sock"));
    ok(&["keys", "generate", "--keys", s(&keys)]);
    std::fs::write(&socket, b"not a socket").expect("write");
    let run = configsync(&["kms", "--socket", s(&socket), "--keys", s(&keys)]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("is not a unix socket"));
    assert_eq!(std::fs::read(&socket).expect("untouched"), b"not a socket");
}

#[test]
fn kms_serves_on_its_socket_until_sigterm_and_removes_it() {
    use std::os::unix::fs::FileTypeExt as _;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("tempdir");
    let (keys, socket) = (dir.path().join("keys.json"), dir.path().join("kms.sock"));
    ok(&["keys", "generate", "--keys", s(&keys)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["kms", "--keys", s(&keys)])
        .env("CONFIGSYNC_KMS_SOCKET", &socket)
        .spawn()
        .expect("spawn kms");
    let deadline = Instant::now() + Duration::from_secs(20);
    let is_private =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o777 == 0o600);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() || !is_private(&socket) {
        assert!(
            Instant::now() < deadline,
            "the plugin never accepted a connection on a 0600 socket"
        );
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the plugin exited early"
        );
        std::thread::sleep(Duration::from_millis(5)); // poll interval, bounded by the deadline
    }
    let meta = std::fs::symlink_metadata(&socket).expect("socket exists");
    assert!(meta.file_type().is_socket());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    assert!(!socket.exists(), "socket removed on shutdown");
}

#[test]
fn staged_rotation_promote_and_guarded_retire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (keys, store_dir) = (dir.path().join("keys.json"), dir.path().join("store"));
    ok(&["keys", "generate", "--keys", s(&keys)]);
    let store = Store::new(&store_dir);
    store
        .put(&KeyRing::load_file(&keys).expect("load"), &mk_id(0), b"v")
        .expect("put");

    let out = ok(&["keys", "rotate", "--keys", s(&keys), "--stage"]);
    assert!(
        out.contains("staged key key-2; primary is still key-1"),
        "{out}"
    );
    assert_eq!(
        KeyRing::load_file(&keys)
            .expect("load")
            .primary_id()
            .as_str(),
        "key-1"
    );
    ok(&["keys", "promote", "--keys", s(&keys), "--id", "key-2"]);
    assert_eq!(
        KeyRing::load_file(&keys)
            .expect("load")
            .primary_id()
            .as_str(),
        "key-2"
    );

    let refused = configsync(&on_store("retire", &keys, &store_dir, &["--id", "key-1"]));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("still protects default/app-0/config.yaml")
    );
    assert!(
        KeyRing::load_file(&keys).expect("load").contains("key-1"),
        "refused retire keeps the key"
    );

    ok(&on_store("reencrypt", &keys, &store_dir, &[]));
    ok(&on_store("retire", &keys, &store_dir, &["--id", "key-1"]));
    let ring = KeyRing::load_file(&keys).expect("load");
    assert!(!ring.contains("key-1"));
    assert_eq!(
        store
            .get(&ring, &mk_id(0))
            .expect("opens")
            .expect("exists")
            .as_slice(),
        b"v"
    );
}

#[test]
fn every_command_in_the_rotation_guide_parses() {
    let guide = include_str!("../examples/encryption/ROTATION.md");
    let mut in_code = false;
    let mut commands = Vec::new();
    for line in guide.lines().map(str::trim) {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if let Some(rest) = line.strip_prefix("configsync ").filter(|_| in_code) {
            let code = rest.split('#').next().unwrap_or_default();
            commands.push(
                code.split_whitespace()
                    .filter(|w| *w != "\\")
                    .collect::<Vec<_>>(),
            );
        }
    }
    assert!(
        commands.len() >= 7,
        "expected the guide's commands, found {commands:?}"
    );
    for command in commands {
        // With --help appended clap still rejects unknown subcommands and flags, and runs nothing.
        let out = configsync(&[command.as_slice(), &["--help"]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "`configsync {}` does not parse: {stderr}",
            command.join(" ")
        );
    }
}
