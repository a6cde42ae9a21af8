//! `configsync inject` on the examples (multi-document, other kinds passed through, idempotent) and
//! `configsync certs`.
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn configsync(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn configsync");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml).expect("yaml")
}

fn example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inject/deployment.yaml");
    std::fs::read_to_string(path).expect("example")
}

#[test]
fn injects_the_example_deployment_and_passes_other_kinds_through() {
    let out = configsync(&["inject", "-f", "examples/inject/deployment.yaml"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let injected = documents(&String::from_utf8_lossy(&out.stdout));
    let original = documents(&example());
    assert_eq!(injected.len(), 3);
    assert_eq!(injected[0], original[0], "the ConfigMap changed");
    assert_eq!(injected[2], original[2], "the Service changed");
    let template = &injected[1]["spec"]["template"];
    let sidecar = &template["spec"]["initContainers"][0];
    assert_eq!(sidecar["name"], "configsync");
    assert_eq!(sidecar["restartPolicy"], "Always");
    assert_eq!(sidecar["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(sidecar["securityContext"]["runAsUser"], 101);
    assert_eq!(template["spec"]["shareProcessNamespace"], true);
    assert_eq!(
        template["spec"]["volumes"][0]["emptyDir"]["medium"],
        "Memory"
    );
    let mount = &template["spec"]["containers"][0]["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/etc/nginx/configsync");
    let hash = template["metadata"]["annotations"]["configsync.dev/config-hash"].as_str();
    assert!(hash.is_some_and(|h| h.starts_with("v1:")), "{template}");
}

#[test]
fn reads_stdin_and_a_second_pass_changes_nothing() {
    let first = configsync(&["inject", "-f", "-"], Some(&example()));
    assert!(first.status.success());
    let first_text = String::from_utf8_lossy(&first.stdout).into_owned();
    let second = configsync(&["inject", "-f", "-"], Some(&first_text));
    assert!(second.status.success());
    assert_eq!(
        documents(&String::from_utf8_lossy(&second.stdout)),
        documents(&first_text)
    );
}

#[test]
fn regular_container_flag_and_missing_sources_warn() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    configsync.dev/inject: \"true\"\n    configsync.dev/inject-secrets: creds\nspec:\n  containers:\n  - name: app\n    image: app\n";
    let out = configsync(&["inject", "-f", "-", "--regular-container"], Some(pod));
    assert!(out.status.success());
    let docs = documents(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(docs[0]["spec"]["containers"][1]["name"], "configsync");
    assert!(
        docs[0]["spec"]["containers"][1]
            .get("restartPolicy")
            .is_none()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Pod default/p: config hash not set"),
        "{stderr}"
    );
}

#[test]
fn bad_annotations_fail_naming_the_document() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    configsync.dev/inject: \"true\"\n    configsync.dev/inject-configmaps: c\n    configsync.dev/inject-reload-url: not a url\nspec:\n  containers:\n  - name: app\n    image: app\n";
    let out = configsync(&["inject", "-f", "-"], Some(pod));
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "printed a manifest despite the error"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Pod default/p") && stderr.contains("invalid URL"),
        "{stderr}"
    );
}

#[test]
fn certs_writes_a_ca_and_a_serving_pair() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("tls");
    let out_str = out_dir.to_str().expect("utf-8");
    let out = configsync(
        &[
            "certs",
            "--out",
            out_str,
            "--dns",
            "localhost",
            "--dns",
            "127.0.0.1",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["ca.crt", "tls.crt"] {
        let pem = std::fs::read_to_string(out_dir.join(name)).expect(name);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{name}");
    }
    use std::os::unix::fs::PermissionsExt as _;
    for name in ["ca.key", "tls.key"] {
        let meta = std::fs::metadata(out_dir.join(name)).expect(name);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
    let missing = configsync(&["certs", "--out", out_str], None);
    assert!(!missing.status.success(), "--dns is required");
}

#[test]
fn manifests_without_opt_in_pass_through_unchanged() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for dir in std::fs::read_dir(&root).expect("examples") {
        let dir = dir.expect("entry").path();
        if dir.ends_with("inject") || !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("example dir") {
            let file = file.expect("entry").path();
            if file.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let path = file.to_str().expect("utf-8");
            let out = configsync(&["inject", "-f", path], None);
            assert!(
                out.status.success(),
                "{path}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let input: Vec<Value> = documents(&std::fs::read_to_string(&file).expect("read"))
                .into_iter()
                .filter(|d| !d.is_null())
                .collect();
            let output = documents(&String::from_utf8_lossy(&out.stdout));
            let opts_in = input.iter().any(|d| {
                d["metadata"]["annotations"]["configsync.dev/inject"] == "true"
                    || d["spec"]["template"]["metadata"]["annotations"]["configsync.dev/inject"]
                        == "true"
            });
            if opts_in {
                // An example that asks for the sidecar elsewhere (e.g. the demo's pod) must get it.
                assert_ne!(output, input, "{path}: opted in but nothing was injected");
            } else {
                assert_eq!(output, input, "{path}");
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no other examples found");
}

/// The nginx example as a real cluster runs it: nginx reads the file where it lands, the mount hides none of
/// the image's own paths, the sidecar may signal the master (same UID, shared process namespace), and the
/// startup probe asks the port the sidecar serves.
#[test]
fn the_nginx_example_fits_nginx() {
    let out = configsync(&["inject", "-f", "examples/inject/deployment.yaml"], None);
    assert!(out.status.success());
    let injected = documents(&String::from_utf8_lossy(&out.stdout));
    let spec = &injected[1]["spec"]["template"]["spec"];
    let (sidecar, nginx) = (&spec["initContainers"][0], &spec["containers"][0]);
    let mount = nginx["volumeMounts"][0]["mountPath"]
        .as_str()
        .expect("mount");
    let config_map = injected[0]["metadata"]["name"].as_str().expect("name");
    assert!(injected[0]["data"]["nginx.conf"].is_string());
    let command: Vec<&str> = nginx["command"]
        .as_array()
        .expect("command")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let config = command
        .iter()
        .position(|a| *a == "-c")
        .map(|i| command[i + 1]);
    assert_eq!(
        config,
        Some(format!("{mount}/{config_map}/nginx.conf").as_str())
    );
    for image_path in [
        "/etc/nginx/nginx.conf",
        "/etc/nginx/mime.types",
        "/etc/nginx/conf.d/default.conf",
        "/usr/share/nginx/html/index.html",
    ] {
        assert!(
            !image_path.starts_with(&format!("{mount}/")),
            "{mount} hides {image_path}"
        );
    }
    assert_eq!(
        sidecar["securityContext"]["runAsUser"],
        nginx["securityContext"]["runAsUser"]
    );
    assert_eq!(spec["shareProcessNamespace"], true);
    let env = |name: &str| {
        sidecar["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
    };
    assert_eq!(
        env("CONFIGSYNC_PROCESS_NAME"),
        Some(Value::from(command[0]))
    );
    let probe = &sidecar["startupProbe"]["httpGet"];
    assert_eq!(probe["path"], "/readyz");
    let health = env("CONFIGSYNC_HEALTH_ADDR").expect("health address");
    assert_eq!(
        health.as_str().and_then(|a| a.rsplit(':').next()),
        Some(probe["port"].to_string().as_str())
    );
}
