//! End to end: the sidecar's encrypted last-known-good cache. `configsync sidecar --cache-dir --cache-keys` syncs the
//! course's `redis-config` and `mysecret` from the API server; the API is stopped (on the shared real control
//! plane: made unreachable for this test, see `Cluster::stop_api`) and the sidecar restarted against it. It must publish the cached files (the same bytes) and log that it serves the
//! cache; no file under the cache directory may hold a plaintext value or its base64 form.
mod support;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use support::{Cluster, Process, files_under, path_str, sidecar_command, start, wait_until};

const PROPERTIES: &str = "maxmemory 2mb\nmaxmemory-policy allkeys-lru\n";
/// Plaintexts of the synced data and the base64 forms the API stores them in.
const FORBIDDEN: [&str; 6] = [
    "1f2d1e2e67df",
    "admin",
    "maxmemory",
    "MWYyZDFlMmU2N2Rm",
    "YWRtaW4=",
    "bWF4bWVtb3J5IDJtYgptYXhtZW1vcnktcG9saWN5IGFsbGtleXMtbHJ1Cg==",
];

fn start_sidecar(cluster: &Cluster, work: &Path, log: &Path) -> Process {
    let (cache, keys, out) = (work.join("cache"), work.join("keys.json"), work.join("out"));
    let sources = ["--configmap", "redis-config", "--secret", "mysecret"];
    let child = sidecar_command(cluster, &sources, &out)
        .args(["--health-addr", "off", "--cache-dir", path_str(&cache)])
        .args(["--cache-keys", path_str(&keys), "--cache-timeout", "1s"])
        .stdout(Stdio::null())
        .stderr(File::create(log).expect("log file"))
        .spawn()
        .expect("start configsync sidecar");
    Process(child)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[test]
fn restarted_sidecar_serves_the_encrypted_cache_while_the_api_is_down() {
    let Some(mut cluster) = start() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let keys = work.path().join("keys.json");
    let generated = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(["keys", "generate", "--keys", path_str(&keys)])
        .output()
        .expect("run keys generate");
    assert!(generated.status.success(), "keys generate: {generated:?}");
    for manifest in ["redis-config.yaml", "mysecret.yaml"] {
        cluster.apply_repo(&format!("examples/course/{manifest}"));
    }
    let out = work.path().join("out");
    let (properties, password, username) = (
        out.join("redis-config/redis.properties"),
        out.join("mysecret/password"),
        out.join("mysecret/username"),
    );
    let cache = work.path().join("cache");
    let first_log = work.path().join("first.log");
    let first = start_sidecar(&cluster, work.path(), &first_log);
    wait_until("the live sync and its cache", || {
        read(&password) == b"1f2d1e2e67df" && files_under_exist(&cache) == 3
    });
    let synced = [read(&properties), read(&password), read(&username)];
    assert_eq!(synced[0], PROPERTIES.as_bytes());
    drop(first);

    cluster.stop_api();
    std::fs::remove_dir_all(&out).expect("clear the projection");

    let second_log = work.path().join("second.log");
    let _second = start_sidecar(&cluster, work.path(), &second_log);
    wait_until("the cached files to be published", || {
        [read(&properties), read(&password), read(&username)] == synced
    });
    assert!(
        ["redis-config", "mysecret"]
            .iter()
            .all(|source| std::fs::read_link(out.join(source).join("..data")).is_ok()),
        "published through each source's ..data"
    );
    wait_until("the log to say it serves the cache", || {
        String::from_utf8_lossy(&read(&second_log)).contains("serving cached data")
    });

    for file in files_under(&cache)
        .into_iter()
        .chain([first_log, second_log])
    {
        let bytes = read(&file);
        for needle in FORBIDDEN {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "{} contains a plaintext value", file.display());
        }
    }
}

/// How many sealed items the cache holds (0 when it does not exist yet).
fn files_under_exist(dir: &Path) -> usize {
    if !dir.exists() {
        return 0;
    }
    files_under(dir)
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "sealed"))
        .count()
}
