//! End to end: the real `configsync cluster` binary over HTTP, driven by the real `kubectl`.
//!
//! kubectl must be on PATH. When `CI` is set a missing kubectl fails the tests; otherwise they are skipped
//! with a printed reason. Every wait polls a condition against a deadline.
mod support;

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{Cluster, Process, lines_of, path_str, run_ok, start};

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
    let deployment = cluster.json(&["get", "deployment", "web"]);
    assert_eq!(deployment["metadata"]["labels"]["tier"], "front");
    assert_eq!(
        deployment["metadata"]["generation"], 2,
        "a label change does not bump generation"
    );
    cluster.ok(&["annotate", "deployment", "web", "note=hello"]);
    let deployment = cluster.json(&["get", "deployment", "web"]);
    assert_eq!(deployment["metadata"]["annotations"]["note"], "hello");
    assert_eq!(
        deployment["metadata"]["generation"], 3,
        "a Deployment's annotation change bumps generation, as kube-apiserver's Deployment strategy does"
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
    run_ok(
        Command::new("openssl")
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
            .arg(&cert),
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

/// `kubectl <args>` (a `get --watch`) running until dropped, and the lines it prints.
fn start_watch(cluster: &Cluster, args: &[&str]) -> (Process, mpsc::Receiver<String>) {
    let mut watch = cluster
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let line_rx = lines_of(watch.stdout.take().expect("stdout"));
    (Process(watch), line_rx)
}

#[test]
fn get_watch_sees_new_objects() {
    let Some(cluster) = start() else { return };
    let (watch, line_rx) = start_watch(
        &cluster,
        &[
            "get",
            "configmaps",
            "--watch",
            "-o",
            "name",
            "--request-timeout=30s",
        ],
    );
    // Keep creating until the watch reports one (the watch may start after the first create).
    let mut seen = None;
    for attempt in 0..40 {
        cluster.ok(&["create", "configmap", &format!("watched-{attempt}")]);
        // The initial list also prints kube-root-ca.crt, which every namespace holds.
        if let Ok(line) = line_rx.recv_timeout(Duration::from_millis(500))
            && line != "configmap/kube-root-ca.crt"
        {
            seen = Some(line);
            break;
        }
    }
    drop(watch);
    let line = seen.expect("kubectl get -w printed a created configmap");
    assert!(line.starts_with("configmap/watched-"), "{line}");
}

#[test]
fn course_manifests_apply_and_read_back() {
    let Some(cluster) = start() else { return };
    cluster.apply_repo("examples/course");
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
    let nginx = &pod["spec"]["containers"][0];
    assert_eq!(nginx["volumeMounts"][0]["mountPath"], "/etc/foo");
    let secret_refs: Vec<_> = ["SECRET_USERNAME", "SECRET_PASSWORD"]
        .iter()
        .map(|name| {
            let mut env = nginx["env"].as_array().into_iter().flatten();
            let found = env.find(|entry| entry["name"] == *name);
            found.map(|entry| entry["valueFrom"]["secretKeyRef"]["name"].clone())
        })
        .collect();
    assert_eq!(
        secret_refs,
        [Some("mysecret".into()), Some("mysecret".into())]
    );
    let busybox = cluster.json(&["get", "pod", "busybox-config"]);
    let env = &busybox["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["valueFrom"]["configMapKeyRef"]["name"], "myconfig");
    assert_eq!(
        env[0]["valueFrom"]["configMapKeyRef"]["key"],
        "special.level"
    );
    let redis_config = cluster.json(&["get", "configmap", "redis-config"]);
    assert!(
        redis_config["data"]["redis.properties"]
            .as_str()
            .is_some_and(|text| text.contains("maxmemory")),
        "{redis_config}"
    );
    let redis = cluster.json(&["get", "pod", "redis"]);
    let mounts = &redis["spec"]["containers"][0]["volumeMounts"];
    assert!(
        mounts
            .as_array()
            .into_iter()
            .flatten()
            .any(|mount| mount["mountPath"] == "/etc/config"),
        "{mounts}"
    );
}

#[test]
fn namespaces_and_custom_resources() {
    let Some(cluster) = start() else { return };
    let team = cluster.create_namespace("team");
    cluster.ok(&[
        "-n",
        &team,
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
    cluster.ok(&["delete", "namespace", &team]);
    let gone = cluster.fails(&["get", "namespace", &team]);
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

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: NAME
  labels: {app: APP}
  annotations: {ANNOTATIONS}
spec:
  containers:
  - {name: main, image: busybox:1.36}
";

fn pod_manifest(name: &str, app: &str, annotations: &str) -> String {
    POD.replace("NAME", name)
        .replace("APP", app)
        .replace("ANNOTATIONS", annotations)
}

/// The columns and the row of one object in `kubectl get` table output.
fn table_row(table: &str, name: &str) -> (Vec<String>, Vec<String>) {
    let split = |line: &str| line.split_whitespace().map(str::to_owned).collect();
    let header = table.lines().next().map(split).unwrap_or_default();
    let row = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .map(split)
        .unwrap_or_default();
    (header, row)
}

#[test]
fn get_pods_prints_ready_and_status_from_the_server_table() {
    let Some(cluster) = start() else { return };
    let pods = format!(
        "{}---\n{}",
        pod_manifest("healthy", "a", ""),
        pod_manifest("broken", "a", "configsync.dev/simulate-crash: \"true\"")
    );
    cluster.ok(&["apply", "-f", path_str(&cluster.file("pods.yaml", &pods))]);
    support::wait_until("healthy is 1/1 Running and broken crash-loops", || {
        let table = cluster.ok(&["get", "pods"]);
        let (header, healthy) = table_row(&table, "healthy");
        let (_, broken) = table_row(&table, "broken");
        assert_eq!(header, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
        healthy.get(1..3) == Some(&["1/1".to_owned(), "Running".to_owned()][..])
            && broken.get(1..3) == Some(&["0/1".to_owned(), "CrashLoopBackOff".to_owned()][..])
    });
    let wide = cluster.ok(&["get", "pod", "healthy", "-o", "wide"]);
    let (header, _) = table_row(&wide, "healthy");
    assert!(
        header.contains(&"IP".to_owned()) && header.contains(&"NODE".to_owned()),
        "{wide}"
    );
}

#[test]
fn label_and_field_selectors_pick_objects() {
    let Some(cluster) = start() else { return };
    let other = cluster.create_namespace("other");
    for (name, app) in [("one", "a"), ("two", "b"), ("three", "c")] {
        cluster.ok(&["create", "configmap", name]);
        cluster.ok(&["label", "configmap", name, &format!("app={app}")]);
    }
    cluster.ok(&["create", "configmap", "bare"]);
    cluster.ok(&["-n", &other, "create", "configmap", "one"]);
    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["get", "configmaps", "-o", "name"];
        full.extend(args);
        let mut names: Vec<String> = cluster.ok(&full).lines().map(str::to_owned).collect();
        names.sort();
        names
    };
    assert_eq!(names(&["-l", "app=a"]), ["configmap/one"]);
    assert_eq!(
        names(&["-l", "app!=a,app"]),
        ["configmap/three", "configmap/two"]
    );
    assert_eq!(
        names(&["-l", "app in (a,b)"]),
        ["configmap/one", "configmap/two"]
    );
    assert_eq!(names(&["-l", "app notin (a,b),app"]), ["configmap/three"]);
    // kube-controller-manager publishes kube-root-ca.crt into every namespace (the embedded server does too).
    assert_eq!(
        names(&["-l", "!app"]),
        ["configmap/bare", "configmap/kube-root-ca.crt"]
    );
    assert_eq!(
        names(&["--field-selector", "metadata.name=two"]),
        ["configmap/two"]
    );
    assert_eq!(
        names(&[
            "-A",
            "--field-selector",
            &format!("metadata.name=one,metadata.namespace={other}")
        ]),
        ["configmap/one"]
    );
}

#[test]
fn chunked_get_pages_with_limit_and_continue() {
    let Some(cluster) = start() else { return };
    for index in 0..5 {
        cluster.ok(&["create", "configmap", &format!("page-{index}")]);
    }
    let out = cluster.run(&["get", "configmaps", "-o", "name", "--chunk-size=2", "-v=6"]);
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    let pages = log
        .lines()
        .filter(|line| line.contains("/configmaps?") && line.contains("limit=2"))
        .count();
    let continued = log
        .lines()
        .filter(|line| line.contains("continue="))
        .count();
    // Six ConfigMaps (with kube-root-ca.crt) in pages of two.
    assert_eq!((pages, continued), (3, 2), "{log}");
    let names = String::from_utf8_lossy(&out.stdout);
    let expected: Vec<String> = std::iter::once("configmap/kube-root-ca.crt".to_owned())
        .chain((0..5).map(|index| format!("configmap/page-{index}")))
        .collect();
    assert_eq!(names.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn describe_shows_the_controllers_events_and_delete_collects_dependents() {
    let Some(cluster) = start() else { return };
    cluster.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    let rs = cluster.ok(&[
        "get",
        "rs",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let scaled = format!("Scaled up replica set {rs} from 0 to 2");
    let mut described = String::new();
    support::wait_until("describe lists the ScalingReplicaSet event", || {
        described = cluster.ok(&["describe", "deployment", "web"]);
        let events = described.split("Events:").nth(1).unwrap_or_default();
        events.contains("ScalingReplicaSet")
            && events.contains("deployment-controller")
            && events.contains(&scaled)
    });
    let created = cluster.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.kind=ReplicaSet,involvedObject.name={rs},reason=SuccessfulCreate"),
    ]);
    assert_eq!(created.matches("Created pod: ").count(), 2, "{created}");
    let unsupported = cluster.fails(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.color=red",
    ]);
    assert!(
        unsupported.contains("(BadRequest)")
            && unsupported.contains("field label not supported: involvedObject.color"),
        "{unsupported}"
    );
    cluster.ok(&["delete", "deployment", "web"]);
    support::wait_until(
        "the garbage collector removes the ReplicaSet and its pods",
        || {
            cluster
                .ok(&["get", "rs,pods", "-o", "name"])
                .trim()
                .is_empty()
        },
    );
}

#[test]
fn generate_name_and_the_size_limit() {
    let Some(cluster) = start() else { return };
    let generated = cluster.file(
        "generated.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: gen-}\ndata: {a: b}\n",
    );
    let first = cluster.ok(&["create", "-f", path_str(&generated), "-o", "name"]);
    let second = cluster.ok(&["create", "-f", path_str(&generated), "-o", "name"]);
    for name in [&first, &second] {
        let suffix = name
            .trim()
            .strip_prefix("configmap/gen-")
            .unwrap_or_default();
        assert_eq!(suffix.len(), 5, "gen- plus five random characters: {name}");
    }
    assert_ne!(first, second);
    let blob = "x".repeat(1024 * 1024 + 1);
    let big = cluster.file(
        "big.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  blob: {blob}\n"
        ),
    );
    for apply in [
        &["apply", "-f"][..],
        &["apply", "--server-side", "-f"],
        &["create", "-f"],
    ] {
        let mut args = apply.to_vec();
        args.push(path_str(&big));
        let rejected = cluster.fails(&args);
        assert!(
            rejected.contains("The ConfigMap \"big\" is invalid")
                && rejected.contains("Too long: may not be more than 1048576 bytes"),
            "{apply:?}: {}",
            &rejected[..rejected.len().min(500)]
        );
    }
    cluster.fails(&["get", "configmap", "big"]);
}

#[test]
fn finalizers_stale_updates_and_namespace_deletion() {
    let Some(cluster) = start() else { return };
    let team = cluster.create_namespace("team");
    let held = cluster.file(
        "held.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: held, namespace: {team}, finalizers: [example.com/hold]}}\n"),
    );
    cluster.ok(&["apply", "-f", path_str(&held)]);
    cluster.ok(&[
        "-n",
        &team,
        "create",
        "secret",
        "generic",
        "inner",
        "--from-literal=k=v",
    ]);
    cluster.ok(&["-n", &team, "delete", "configmap", "held", "--wait=false"]);
    let terminating = cluster.json(&["-n", &team, "get", "configmap", "held"]);
    assert!(
        terminating["metadata"]["deletionTimestamp"].is_string(),
        "{terminating}"
    );
    let stale = cluster.file(
        "stale.yaml",
        &cluster
            .ok(&["-n", &team, "get", "secret", "inner", "-o", "yaml"])
            .replace("kind: Secret", "kind: Secret\nstringData: {extra: plain}"),
    );
    cluster.ok(&["-n", &team, "label", "secret", "inner", "bumped=yes"]);
    let conflict = cluster.fails(&["replace", "-f", path_str(&stale)]);
    assert!(
        conflict.contains("the object has been modified; please apply your changes to the latest version and try again"),
        "{conflict}"
    );
    cluster.ok(&["delete", "namespace", &team, "--wait=false"]);
    let phase = cluster.ok(&["get", "namespace", &team, "-o", "jsonpath={.status.phase}"]);
    assert_eq!(phase, "Terminating", "the finalizer holds the namespace");
    support::wait_until("the secret is removed with its namespace", || {
        !cluster
            .ok(&["get", "secrets", "-A", "-o", "name"])
            .contains("secret/inner")
    });
    cluster.ok(&[
        "-n",
        &team,
        "patch",
        "configmap",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    support::wait_until("the namespace is gone", || {
        !cluster.run(&["get", "namespace", &team]).status.success()
    });
    assert!(
        !cluster
            .ok(&["get", "configmaps", "-A", "-o", "name"])
            .contains("held")
    );
}

#[test]
fn secret_string_data_is_merged_into_base64_data() {
    let Some(cluster) = start() else { return };
    let secret = cluster.file(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: mixed}\ndata: {username: YWRtaW4=}\nstringData: {password: 1f2d1e2e67df}\n",
    );
    cluster.ok(&["apply", "-f", path_str(&secret)]);
    let stored = cluster.json(&["get", "secret", "mixed"]);
    assert_eq!(
        stored["data"],
        serde_json::json!({"username": "YWRtaW4=", "password": "MWYyZDFlMmU2N2Rm"})
    );
    assert!(stored.get("stringData").is_none(), "{stored}");
}

#[test]
fn get_watch_prints_added_modified_and_deleted_events() {
    let Some(cluster) = start() else { return };
    cluster.ok(&["create", "configmap", "watched", "--from-literal=a=1"]);
    let (watch, line_rx) = start_watch(
        &cluster,
        &[
            "get",
            "configmap",
            "--watch",
            "--output-watch-events",
            "--request-timeout=30s",
        ],
    );
    // The initial list also shows kube-root-ca.crt; only the lines about `watched` count.
    let expect = |event: &str| {
        let line = support::wait_for_line_where(&line_rx, |line| line.contains("watched"));
        assert!(
            line.as_deref().is_some_and(|line| line.contains(event)),
            "kubectl printed {event} for the configmap: {line:?}"
        );
    };
    // The watch resumes from the list's resourceVersion, so changes made after ADDED are never missed.
    expect("ADDED");
    cluster.ok(&["label", "configmap", "watched", "seen=yes"]);
    expect("MODIFIED");
    cluster.ok(&["delete", "configmap", "watched"]);
    expect("DELETED");
    drop(watch);
}

/// A ConfigSync manifest named `name` with `spec` (flow-style YAML).
fn configsync_manifest(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: configsync.dev/v1alpha1\nkind: ConfigSync\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    )
}

#[test]
fn configsyncs_are_checked_against_the_crd_schema() {
    let Some(cluster) = start() else { return };
    cluster.apply_repo("crds/configsync.dev_configsyncs.yaml");
    cluster.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/configsyncs.configsync.dev",
        "--timeout=20s",
    ]);
    let source = "{kind: ConfigMap, name: app}";
    let target = "{kind: Deployment, name: web}";
    let malformed = [
        (
            format!("{{strategy: bogus, sources: [{source}], targets: [{target}]}}"),
            r#"spec.strategy: Unsupported value: "bogus": supported values: "restart", "reload", "none""#.to_owned(),
        ),
        (
            format!("{{debounce: {{min: 5 s}}, sources: [{source}], targets: [{target}]}}"),
            r#"spec.debounce.min: Invalid value: "5 s": spec.debounce.min in body should match '^([0-9]+(ms|s|m|h))+$'"#.to_owned(),
        ),
        (
            format!("{{sources: [{{kind: Secret, name: s, selector: {{}}}}], targets: [{target}]}}"),
            r#"spec.sources[0]: Invalid value: exactly one of name or selector must be set"#.to_owned(),
        ),
        (
            format!("{{debounce: {{min: 1m, max: 5s}}, sources: [{source}], targets: [{target}]}}"),
            r#"spec.debounce: Invalid value: debounce max must be >= min"#.to_owned(),
        ),
        (
            format!("{{sources: [{source}]}}"),
            "spec.targets: Required value".to_owned(),
        ),
    ];
    for (index, (spec, message)) in malformed.iter().enumerate() {
        let manifest = cluster.file(
            &format!("bad{index}.yaml"),
            &configsync_manifest("bad", spec),
        );
        let stderr = cluster.fails(&["apply", "-f", path_str(&manifest)]);
        assert!(
            stderr.contains(r#"The ConfigSync "bad" is invalid"#),
            "{stderr}"
        );
        assert!(
            stderr.contains(message.as_str()),
            "wanted {message} in: {stderr}"
        );
    }
    assert!(
        cluster
            .fails(&["get", "configsync", "bad"])
            .contains("not found")
    );
    let minimal = cluster.file(
        "minimal.yaml",
        &configsync_manifest(
            "app",
            &format!("{{sources: [{source}], targets: [{target}], junk: 1}}"),
        ),
    );
    // kubectl validates strictly by default (`fieldValidation=Strict`): the unknown field is refused ...
    let strict = cluster.fails(&["apply", "-f", path_str(&minimal)]);
    assert!(
        strict.contains(r#"ConfigSync in version "v1alpha1" cannot be handled as a ConfigSync: strict decoding error: unknown field "spec.junk""#),
        "{strict}"
    );
    // ... and pruned when the client asks for no validation.
    cluster.ok(&["apply", "--validate=false", "-f", path_str(&minimal)]);
    let stored = cluster.json(&["get", "configsync", "app"]);
    assert_eq!(stored["spec"]["strategy"], "restart");
    assert_eq!(stored["spec"]["suspend"], false);
    assert_eq!(stored["spec"]["sources"][0]["optional"], false);
    assert!(
        stored["spec"].get("junk").is_none(),
        "unknown fields are pruned: {stored}"
    );
    let wide = cluster.ok(&["get", "configsync", "app", "-o", "wide"]);
    let header = wide.lines().next().unwrap_or_default();
    let row = wide
        .lines()
        .find(|line| line.starts_with("app "))
        .unwrap_or_default();
    let cell = |name: &str| {
        let start = header.find(name).expect(name);
        row.get(start..)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
    };
    assert_eq!(cell("STRATEGY"), "restart", "{wide}");
    assert_eq!(cell("SUSPENDED"), "false", "{wide}");
}

/// A StatefulSet and a DaemonSet roll out, and roll again after `kubectl rollout restart`, to the end that
/// `kubectl rollout status` waits for. On the real control plane this is kube-controller-manager with the
/// simulated kubelet (which must bind pods, report them Ready and finalise terminating ones: a StatefulSet
/// cannot recreate `db-0` until the old one is gone).
#[test]
fn statefulset_and_daemonset_rollouts_complete() {
    let Some(cluster) = start() else { return };
    let manifest = cluster.file(
        "workloads.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: redis:7}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: busybox:1.36}]}
",
    );
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    for workload in ["statefulset/db", "daemonset/agent"] {
        cluster.ok(&["rollout", "status", workload, "--timeout=60s"]);
    }
    let uid_of_db0 = |cluster: &support::Cluster| {
        cluster.json(&["get", "pod", "db-0"])["metadata"]["uid"].clone()
    };
    let before = uid_of_db0(&cluster);
    for workload in ["statefulset/db", "daemonset/agent"] {
        cluster.ok(&["rollout", "restart", workload]);
    }
    for workload in ["statefulset/db", "daemonset/agent"] {
        let done = cluster.ok(&["rollout", "status", workload, "--timeout=60s"]);
        assert!(
            done.contains("roll out complete") || done.contains("successfully rolled out"),
            "{done}"
        );
    }
    assert_ne!(uid_of_db0(&cluster), before, "db-0 was replaced");
    let ready = cluster.ok(&[
        "get",
        "pods",
        "-l",
        "app=db",
        "-o",
        "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert_eq!(
        ready.split_whitespace().collect::<Vec<_>>(),
        ["True", "True"]
    );
}
