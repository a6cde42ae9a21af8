//! KMS v2 encryption at rest, for real: `hack/real-k8s up` runs kube-apiserver with the shipped
//! `examples/encryption/encryption-config.yaml`, whose KMS v2 provider is `configsync kms` on a unix socket. What
//! kube-apiserver writes to etcd is read raw through etcd's HTTP gateway (`DIR/etcd-url`).
//!
//! - A Secret and a ConfigMap made with kubectl read back in plaintext through the API, while their values in
//!   etcd start with `k8s:enc:kms:v2:configsync:` and contain neither the value nor its base64.
//! - Rotation: a new key made primary with `configsync keys rotate` is reported by the plugin, every Secret
//!   rewritten with `kubectl get secrets -A -o json | kubectl replace -f -` is stored under it and none under the
//!   old key, the old key is retired, and every Secret still reads back.
//!
//! - The plugin down (`hack/real-k8s kms-stop`, then `kms-start`): health fails, reads work, writes work until
//!   the DEK seed's write lifetime ends and then fail naming the expired seed, and everything recovers; see
//!   `examples/encryption/README.md`.
//!
//! These need the real control plane (there is no etcd behind the embedded server), so they are ignored without
//! one; CI's real pass runs them with `--include-ignored`.
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use support::{Cluster, run_ok, start};

const PREFIX: &[u8] = b"k8s:enc:kms:v2:configsync:";

/// The two tests share the control plane's key file and the rotation rewrites every Secret: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn real_dir() -> PathBuf {
    support::real_k8s_dir().unwrap_or_else(|| {
        panic!("needs a real control plane: set CONFIGSYNC_REAL_K8S (hack/real-k8s up DIR)")
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The raw values etcd holds for `key`, or for every key under it with `prefix`.
fn etcd_values(real: &Path, key: &str, prefix: bool) -> Vec<(String, Vec<u8>)> {
    let url = std::fs::read_to_string(real.join("etcd-url")).expect("DIR/etcd-url");
    let mut body = serde_json::json!({"key": b64(key.as_bytes())});
    if prefix {
        let mut end = key.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        body["range_end"] = serde_json::json!(b64(&end));
    }
    let out = run_ok(Command::new("curl").args([
        "-fsS",
        "-X",
        "POST",
        &format!("{}/v3/kv/range", url.trim()),
        "-d",
        &body.to_string(),
    ]));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("etcd answers JSON");
    let decode = |field: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(field.as_str().unwrap_or_default())
            .expect("etcd base64")
    };
    answer["kvs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|kv| {
            let key = String::from_utf8_lossy(&decode(&kv["key"])).into_owned();
            (key, decode(&kv["value"]))
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A value unique to this run, so a match in etcd cannot be a leftover.
fn unique_value(what: &str) -> String {
    format!("{what}-{:016x}", rand::random::<u64>())
}

fn assert_encrypted(raw: &[u8], plaintext: &str, what: &str) {
    assert!(
        raw.starts_with(PREFIX),
        "{what} is not stored through the plugin: {:?}",
        String::from_utf8_lossy(&raw[..raw.len().min(40)])
    );
    assert!(
        !contains(raw, plaintext.as_bytes()),
        "{what}: plaintext in etcd"
    );
    assert!(
        !contains(raw, b64(plaintext.as_bytes()).as_bytes()),
        "{what}: base64 of the value in etcd"
    );
}

#[test]
#[ignore = "needs a real control plane: set CONFIGSYNC_REAL_K8S (hack/real-k8s up DIR)"]
fn secrets_and_configmaps_are_stored_encrypted_by_the_configsync_plugin() {
    let _serial = one_at_a_time();
    let real = real_dir();
    let Some(cluster) = start() else { return };
    let (password, setting) = (unique_value("password"), unique_value("setting"));
    cluster.ok(&[
        "create",
        "secret",
        "generic",
        "db",
        &format!("--from-literal=password={password}"),
    ]);
    cluster.ok(&[
        "create",
        "configmap",
        "app",
        &format!("--from-literal=setting={setting}"),
    ]);
    let read = cluster.ok(&["get", "secret", "db", "-o", "jsonpath={.data.password}"]);
    assert_eq!(
        read.trim(),
        b64(password.as_bytes()),
        "reads back through the API"
    );
    let read = cluster.ok(&["get", "configmap", "app", "-o", "jsonpath={.data.setting}"]);
    assert_eq!(read.trim(), setting);

    let ns = &cluster.namespace;
    let secret = etcd_values(&real, &format!("/registry/secrets/{ns}/db"), false);
    assert_eq!(secret.len(), 1, "the Secret is in etcd");
    assert_encrypted(&secret[0].1, &password, "the Secret");
    let config_map = etcd_values(&real, &format!("/registry/configmaps/{ns}/app"), false);
    assert_eq!(config_map.len(), 1, "the ConfigMap is in etcd");
    assert_encrypted(&config_map[0].1, &setting, "the ConfigMap");

    let health = cluster.ok(&["get", "--raw", "/healthz/kms-providers"]);
    assert_eq!(health.trim(), "ok");
}

/// The key ids a raw KMS v2 value names (the EncryptedObject carries its `keyID` in clear).
fn names_key(raw: &[u8], id: &str) -> bool {
    contains(raw, id.as_bytes())
}

fn primary_key(keys: &Path) -> String {
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(keys).expect("the key file")).expect("JSON");
    file["primary"].as_str().expect("a primary key").to_owned()
}

/// Rewrite every Secret of the cluster as the runbook says: `kubectl get secrets -A -o json | kubectl
/// replace -f -`.
fn rewrite_every_secret(cluster: &Cluster) {
    let all = cluster.ok(&["get", "secrets", "-A", "-o", "json"]);
    let file = cluster.file("all-secrets.json", &all);
    cluster.ok(&["replace", "-f", support::path_str(&file)]);
}

#[test]
#[ignore = "needs a real control plane: set CONFIGSYNC_REAL_K8S (hack/real-k8s up DIR)"]
fn a_rotated_key_takes_over_every_secret_and_the_old_one_retires() {
    let _serial = one_at_a_time();
    let real = real_dir();
    let Some(cluster) = start() else { return };
    let keys = real.join("kms/keys.json");
    let configsync = env!("CARGO_BIN_EXE_configsync");
    let password = unique_value("password");
    cluster.ok(&[
        "create",
        "secret",
        "generic",
        "db",
        &format!("--from-literal=password={password}"),
    ]);
    let old = primary_key(&keys);
    let key = format!("/registry/secrets/{}/db", cluster.namespace);
    assert!(names_key(&etcd_values(&real, &key, false)[0].1, &old));

    run_ok(
        Command::new(configsync)
            .args(["keys", "rotate", "--keys"])
            .arg(&keys),
    );
    let new = primary_key(&keys);
    assert_ne!(new, old);

    // kube-apiserver asks the plugin for its Status about once a minute and starts a new DEK seed under the key
    // id it reports: write until a fresh write lands under the new key.
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        cluster.ok(&[
            "label",
            "secret",
            "db",
            "--overwrite",
            &format!("probe={}", rand::random::<u32>()),
        ]);
        if names_key(&etcd_values(&real, &key, false)[0].1, &new) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the apiserver never used key {new}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }

    // Namespaces of earlier tests are still being deleted: a Secret vanishing mid-rewrite would fail the replace,
    // and one deleted after being read would never be rewritten.
    let deadline = Instant::now() + Duration::from_secs(120);
    while cluster
        .ok(&[
            "get",
            "namespaces",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ])
        .contains("Terminating")
    {
        assert!(
            Instant::now() < deadline,
            "namespaces never finished terminating"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    rewrite_every_secret(&cluster);
    let stored = etcd_values(&real, "/registry/secrets/", true);
    assert!(!stored.is_empty());
    for (name, raw) in &stored {
        assert!(raw.starts_with(PREFIX), "{name} is not encrypted");
        assert!(
            names_key(raw, &new),
            "{name} is not under the new key {new}"
        );
        assert!(
            !names_key(raw, &old),
            "{name} is still under the old key {old}"
        );
    }

    run_ok(
        Command::new(configsync)
            .args(["keys", "retire", "--keys"])
            .arg(&keys)
            .args(["--id", &old]),
    );
    let read = cluster.ok(&["get", "secret", "db", "-o", "jsonpath={.data.password}"]);
    assert_eq!(read.trim(), b64(password.as_bytes()));
    cluster.ok(&["get", "secrets", "-A", "-o", "json"]);
}

/// `hack/real-k8s <command> DIR` for the control plane at `real`.
fn real_k8s(command: &str, real: &Path) {
    run_ok(
        Command::new(support::repo("hack/real-k8s"))
            .arg(command)
            .arg(real),
    );
}

/// Starts the plugin again when dropped with it stopped, so a failing test leaves the control plane whole.
struct PluginStopped<'a> {
    real: &'a Path,
    stopped: bool,
}

impl<'a> PluginStopped<'a> {
    fn stop(real: &'a Path) -> Self {
        real_k8s("kms-stop", real);
        Self {
            real,
            stopped: true,
        }
    }

    fn restart(&mut self) {
        real_k8s("kms-start", self.real);
        self.stopped = false;
    }
}

impl Drop for PluginStopped<'_> {
    fn drop(&mut self) {
        if self.stopped {
            let _ = Command::new(support::repo("hack/real-k8s"))
                .arg("kms-start")
                .arg(self.real)
                .status();
        }
    }
}

/// `kubectl get --raw <path>`: whether it answered 200, and what it said (the body, or kubectl's error).
fn raw(cluster: &Cluster, path: &str) -> (bool, String) {
    let out = cluster.run(&["get", "--raw", path]);
    let text = if out.status.success() {
        out.stdout
    } else {
        out.stderr
    };
    (
        out.status.success(),
        String::from_utf8_lossy(&text).into_owned(),
    )
}

/// Poll `attempt` every `every` until it returns `Some`, at most `limit`; panics with `what` on timeout.
fn poll<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut attempt: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = attempt() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        std::thread::sleep(every);
    }
}

/// What kube-apiserver 1.37 does without its KMS v2 plugin (see `examples/encryption/README.md`): the
/// `kms-providers` health check fails; reads keep working (decrypted DEK seeds are cached in memory); writes keep
/// working under the current DEK seed until it expires, 3 minutes after the last successful Status call
/// (`kmsv2PluginWriteDEKSourceMaxTTL`; Status is polled every minute while healthy, so 2 to 3 minutes after the
/// plugin stops), then fail with an error naming the expired seed; once the plugin is back, health and writes
/// recover within seconds and nothing written meanwhile is lost.
#[test]
#[ignore = "needs a real control plane: set CONFIGSYNC_REAL_K8S (hack/real-k8s up DIR)"]
fn with_the_plugin_down_reads_work_writes_stop_when_the_seed_expires_and_everything_recovers() {
    let _serial = one_at_a_time();
    let real = real_dir();
    let Some(cluster) = start() else { return };
    let password = unique_value("password");
    let create = |name: &str, value: &str| {
        cluster.run(&[
            "create",
            "secret",
            "generic",
            name,
            &format!("--from-literal=password={value}"),
        ])
    };
    assert!(create("before", &password).status.success());
    let read = |name: &str| {
        cluster
            .run(&["get", "secret", name, "-o", "jsonpath={.data.password}"])
            .stdout
    };
    poll(
        "the plugin is healthy",
        Duration::from_secs(90),
        Duration::from_secs(1),
        || raw(&cluster, "/healthz/kms-providers").0.then_some(()),
    );

    let mut plugin = PluginStopped::stop(&real);
    let stopped = Instant::now();
    let unhealthy = poll(
        "/healthz/kms-providers fails",
        Duration::from_secs(90),
        Duration::from_millis(500),
        || {
            let (ok, said) = raw(&cluster, "/healthz/kms-providers");
            (!ok).then_some(said)
        },
    );
    println!(
        "plugin down: /healthz/kms-providers failed after {:.1}s: {}",
        stopped.elapsed().as_secs_f64(),
        unhealthy.trim()
    );
    let (ready, said) = raw(&cluster, "/readyz/kms-providers");
    assert!(!ready, "/readyz/kms-providers is still ok: {said}");

    // Reads of what was written before: served (the decrypted DEK seed is cached).
    assert_eq!(read("before"), b64(password.as_bytes()).as_bytes());
    // A write right away: accepted under the cached seed, stored encrypted by it.
    let during = unique_value("during");
    let out = create("during", &during);
    assert!(
        out.status.success(),
        "a write right after the plugin stopped failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = format!("/registry/secrets/{}/during", cluster.namespace);
    assert_encrypted(
        &etcd_values(&real, &key, false)[0].1,
        &during,
        "a Secret written while the plugin is down",
    );

    // Writes stop once the seed expires: within 3 minutes of the last Status call (at most 1 minute before the stop).
    let mut attempt = 0;
    let refusal = poll(
        "writes fail once the DEK seed expires",
        Duration::from_secs(240),
        Duration::from_secs(3),
        || {
            attempt += 1;
            let out = create(&format!("late-{attempt}"), "value");
            (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
        },
    );
    let refused_after = stopped.elapsed();
    println!(
        "plugin down: writes accepted for {:.0}s ({} writes), then refused: {}",
        refused_after.as_secs_f64(),
        attempt - 1,
        refusal.trim()
    );
    assert!(
        refused_after <= Duration::from_secs(3 * 60 + 20),
        "writes kept working for {refused_after:?}, past the 3 minute seed lifetime"
    );
    assert!(
        refusal.contains("expired"),
        "the refusal names the expired DEK seed: {refusal}"
    );
    // ... while reads still work, of Secrets written before and during the outage.
    assert_eq!(read("before"), b64(password.as_bytes()).as_bytes());
    assert_eq!(read("during"), b64(during.as_bytes()).as_bytes());

    plugin.restart();
    let restarted = Instant::now();
    poll(
        "/healthz/kms-providers recovers",
        Duration::from_secs(90),
        Duration::from_millis(500),
        || raw(&cluster, "/healthz/kms-providers").0.then_some(()),
    );
    let after = unique_value("after");
    poll(
        "writes recover",
        Duration::from_secs(90),
        Duration::from_millis(500),
        || create("after", &after).status.success().then_some(()),
    );
    println!(
        "plugin restarted: healthy and writing again after {:.1}s",
        restarted.elapsed().as_secs_f64()
    );
    assert_eq!(read("after"), b64(after.as_bytes()).as_bytes());
    assert_eq!(read("before"), b64(password.as_bytes()).as_bytes());
    let key = format!("/registry/secrets/{}/after", cluster.namespace);
    assert_encrypted(
        &etcd_values(&real, &key, false)[0].1,
        &after,
        "a Secret written after the restart",
    );
}
