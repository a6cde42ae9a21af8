//! End to end: the real `configsync cluster` binary over HTTP, driven by the real `kubectl`.
//!
//! kubectl must be on PATH. When `CI` is set a missing kubectl fails the tests; otherwise they are skipped
//! with a printed reason. Every wait polls a condition against a deadline.
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{path_str, start};

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        env:
        - {name: MODE, value: blue}
";

#[test]
fn discovery_and_unknown_kinds() {
    let Some(cluster) = start() else { return };
    let resources = cluster.ok(&["api-resources", "-o", "name"]);
    for name in [
        "configmaps",
        "deployments.apps",
        "leases.coordination.k8s.io",
        "customresourcedefinitions.apiextensions.k8s.io",
        "events.events.k8s.io",
    ] {
        assert!(
            resources.lines().any(|line| line == name),
            "api-resources lists {name}: {resources}"
        );
    }
    let stderr = cluster.fails(&["get", "nope"]);
    assert!(
        stderr.contains("the server doesn't have a resource type \"nope\""),
        "{stderr}"
    );
    let names = cluster.ok(&["get", "namespaces", "-o", "name"]);
    assert!(names.contains("namespace/kube-system"), "{names}");
}

#[test]
fn create_get_apply_label_annotate_delete() {
    let Some(cluster) = start() else { return };
    let manifest = cluster.file("deploy.yaml", DEPLOYMENT);
    assert!(
        cluster
            .ok(&["create", "-f", path_str(&manifest)])
            .contains("deployment.apps/web created")
    );
    let deployment = cluster.json(&["get", "deployment", "web"]);
    assert_eq!(deployment["metadata"]["generation"], 1);
    assert!(deployment["metadata"]["uid"].is_string());
    let yaml = cluster.ok(&["get", "deployment", "web", "-o", "yaml"]);
    assert!(yaml.contains("image: nginx:1.25"), "{yaml}");
    let described = cluster.ok(&["describe", "deployment", "web"]);
    assert!(
        described.contains("nginx:1.25") && described.contains("Replicas:"),
        "{described}"
    );
    let applied = cluster.file(
        "apply.yaml",
        &DEPLOYMENT.replace("replicas: 2", "replicas: 3"),
    );
    assert!(
        cluster
            .ok(&["apply", "-f", path_str(&applied)])
            .contains("configured")
    );
    assert!(
        cluster
            .ok(&["apply", "-f", path_str(&applied)])
            .contains("unchanged")
    );
    let deployment = cluster.json(&["get", "deployment", "web"]);
    assert_eq!(
        (
            deployment["spec"]["replicas"].as_i64(),
            deployment["metadata"]["generation"].as_i64()
        ),
        (Some(3), Some(2))
    );
    let header = cluster.ok(&["get", "deployments"]);
    assert!(
        header
            .lines()
            .next()
            .unwrap_or_default()
            .contains("UP-TO-DATE"),
        "{header}"
    );
    cluster.ok(&["label", "deployment", "web", "tier=front"]);
    cluster.ok(&["annotate", "deployment", "web", "note=hello"]);
    let deployment = cluster.json(&["get", "deployment", "web"]);
    assert_eq!(deployment["metadata"]["labels"]["tier"], "front");
    assert_eq!(deployment["metadata"]["annotations"]["note"], "hello");
    assert_eq!(
        deployment["metadata"]["generation"], 2,
        "metadata changes do not bump generation"
    );
    let duplicate = cluster.fails(&["create", "-f", path_str(&manifest)]);
    assert!(
        duplicate.contains("AlreadyExists") && duplicate.contains("\"web\" already exists"),
        "{duplicate}"
    );
    cluster.ok(&["delete", "deployment", "web"]);
    let missing = cluster.fails(&["get", "deployment", "web"]);
    assert!(
        missing.contains("deployments.apps \"web\" not found"),
        "{missing}"
    );
}

#[test]
fn server_side_apply_owns_fields_and_conflicts() {
    let Some(cluster) = start() else { return };
    let manifest = cluster.file("deploy.yaml", DEPLOYMENT);
    let applied = cluster.ok(&["apply", "--server-side", "-f", path_str(&manifest)]);
    assert!(applied.contains("serverside-applied"), "{applied}");
    let deployment = cluster.json(&["get", "deployment", "web", "--show-managed-fields"]);
    let managers: Vec<&str> = deployment["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry["manager"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
    let scaled = cluster.file(
        "scaled.yaml",
        &DEPLOYMENT.replace("replicas: 2", "replicas: 5"),
    );
    let conflict = cluster.fails(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        path_str(&scaled),
    ]);
    assert!(
        conflict.contains("Apply failed with 1 conflict") && conflict.contains(".spec.replicas"),
        "{conflict}"
    );
    cluster.ok(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        path_str(&scaled),
    ]);
    assert_eq!(
        cluster.json(&["get", "deployment", "web"])["spec"]["replicas"],
        5
    );
}

#[test]
fn patch_edit_and_rollout_restart() {
    let Some(cluster) = start() else { return };
    cluster.ok(&[
        "create",
        "-f",
        path_str(&cluster.file("deploy.yaml", DEPLOYMENT)),
    ]);
    let strategic =
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}"#;
    cluster.ok(&["patch", "deployment", "web", "-p", strategic]);
    let deployment = cluster.json(&["get", "deployment", "web"]);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.26");
    assert_eq!(
        container["env"][0]["value"], "blue",
        "strategic merge keeps the container's other fields"
    );
    cluster.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"patched":"merge"}}}"#,
    ]);
    cluster.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ]);
    let deployment = cluster.json(&["get", "deployment", "web"]);
    assert_eq!(deployment["metadata"]["labels"]["patched"], "merge");
    assert_eq!(deployment["spec"]["replicas"], 4);
    let mut edit = cluster.command(&["edit", "deployment", "web"]);
    edit.env("KUBE_EDITOR", "sed -i s/nginx:1.26/nginx:1.27/");
    let edited = edit.output().expect("kubectl edit");
    assert!(
        edited.status.success(),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
    let image = cluster.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "nginx:1.27");
    cluster.ok(&["rollout", "restart", "deployment", "web"]);
    let deployment = cluster.json(&["get", "deployment", "web"]);
    assert!(deployment["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string());
}

#[test]
fn imperative_creates_send_protobuf() {
    let Some(cluster) = start() else { return };
    cluster.ok(&[
        "create",
        "configmap",
        "settings",
        "--from-literal=level=info",
        "--from-literal=type=hello",
    ]);
    let configmap = cluster.json(&["get", "configmap", "settings"]);
    assert_eq!(
        configmap["data"],
        serde_json::json!({"level": "info", "type": "hello"})
    );
    cluster.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=password=1f2d1e2e67df",
    ]);
    let secret = cluster.json(&["get", "secret", "creds"]);
    assert_eq!(secret["data"]["password"], "MWYyZDFlMmU2N2Rm");
    cluster.ok(&[
        "create",
        "deployment",
        "api",
        "--image=nginx:1.27",
        "--replicas=3",
    ]);
    let deployment = cluster.json(&["get", "deployment", "api"]);
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    let (cert, key) = (
        cluster.dir.path().join("tls.crt"),
        cluster.dir.path().join("tls.key"),
    );
    let openssl = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=configsync.test",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(
        openssl.status.success(),
        "{}",
        String::from_utf8_lossy(&openssl.stderr)
    );
    cluster.ok(&[
        "create",
        "secret",
        "tls",
        "site",
        "--cert",
        path_str(&cert),
        "--key",
        path_str(&key),
    ]);
    let tls = cluster.json(&["get", "secret", "site"]);
    assert_eq!(tls["type"], "kubernetes.io/tls");
    assert!(
        tls["data"]["tls.crt"]
            .as_str()
            .is_some_and(|crt| !crt.is_empty())
    );
}

#[test]
fn get_watch_sees_new_objects() {
    let Some(cluster) = start() else { return };
    let mut watch = cluster
        .command(&[
            "get",
            "configmaps",
            "--watch",
            "-o",
            "name",
            "--request-timeout=30s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let stdout = watch.stdout.take().expect("stdout");
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    // Keep creating until the watch reports one (the watch may start after the first create).
    let mut seen = None;
    for attempt in 0..40 {
        cluster.ok(&["create", "configmap", &format!("watched-{attempt}")]);
        if let Ok(line) = line_rx.recv_timeout(Duration::from_millis(500)) {
            seen = Some(line);
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let line = seen.expect("kubectl get -w printed a created configmap");
    assert!(line.starts_with("configmap/watched-"), "{line}");
}

#[test]
fn course_manifests_apply_and_read_back() {
    let Some(cluster) = start() else { return };
    let course = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/course");
    cluster.ok(&["apply", "-f", course]);
    let secret = cluster.json(&["get", "secret", "mysecret"]);
    assert_eq!(secret["data"]["username"], "YWRtaW4=");
    assert_eq!(secret["data"]["password"], "MWYyZDFlMmU2N2Rm");
    let config = cluster.json(&["get", "configmap", "myconfig"]);
    assert_eq!(config["data"]["special.level"], "info");
    assert_eq!(config["data"]["special.type"], "hello");
    let pod = cluster.json(&["get", "pod", "nginx-secret"]);
    assert_eq!(
        pod["spec"]["volumes"][0]["secret"]["secretName"],
        "mysecret"
    );
}

#[test]
fn namespaces_and_custom_resources() {
    let Some(cluster) = start() else { return };
    cluster.ok(&["create", "namespace", "team"]);
    cluster.ok(&[
        "-n",
        "team",
        "create",
        "configmap",
        "inside",
        "--from-literal=a=b",
    ]);
    let crd = cluster.file(
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
",
    );
    cluster.ok(&["apply", "-f", path_str(&crd)]);
    cluster.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=20s",
    ]);
    let widget = cluster.file(
        "widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: large}\n",
    );
    cluster.ok(&["apply", "-f", path_str(&widget)]);
    assert_eq!(
        cluster.ok(&["get", "widgets", "-o", "name"]).trim(),
        "widget.example.com/w1"
    );
    let strategic = cluster.fails(&[
        "patch",
        "widget",
        "w1",
        "-p",
        r#"{"spec":{"size":"small"}}"#,
    ]);
    assert!(
        strategic.contains("application/strategic-merge-patch+json is not supported"),
        "{strategic}"
    );
    cluster.ok(&["delete", "namespace", "team"]);
    let gone = cluster.fails(&["get", "namespace", "team"]);
    assert!(gone.contains("not found"), "{gone}");
    cluster.ok(&["delete", "crd", "widgets.example.com"]);
    let unknown = cluster.fails(&["get", "widgets"]);
    // kubectl may still know `widgets` from its discovery cache; the server answers 404 either way.
    let not_served = [
        "doesn't have a resource type",
        "could not find the requested resource",
    ];
    assert!(
        not_served.iter().any(|message| unknown.contains(message)),
        "{unknown}"
    );
}

#[test]
fn rollout_status_follows_the_controllers() {
    let Some(cluster) = start() else { return };
    cluster.ok(&[
        "create",
        "deployment",
        "api",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    let done = cluster.ok(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    assert!(done.contains("successfully rolled out"), "{done}");
    cluster.ok(&["set", "image", "deployment/api", "nginx=nginx:1.28"]);
    let done = cluster.ok(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    assert!(done.contains("successfully rolled out"), "{done}");
    let table = cluster.ok(&["get", "pods", "-l", "app=api"]);
    assert_eq!(
        table
            .lines()
            .filter(|line| line.contains("Running"))
            .count(),
        2,
        "{table}"
    );
}
