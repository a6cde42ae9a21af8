//! Built-in kinds other than pods: expected columns and cells per printer.
use super::{ago, columns, meta, only_row, table_of};
use serde_json::{Value, json};

fn names(table: &Value) -> Vec<String> {
    columns(table).into_iter().map(|(name, _)| name).collect()
}

fn template(containers: &[(&str, &str)]) -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers":
        containers.iter().map(|(n, i)| json!({"name": n, "image": i})).collect::<Vec<_>>()}})
}

#[test]
fn deployment_ready_up_to_date_available_and_wide_cells() {
    let d = json!({"metadata": meta("web", 3 * 86_400), "spec": {"replicas": 3, "template": template(&[("app", "nginx:1"), ("log", "fluent")]),
        "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
            {"key": "canary", "operator": "DoesNotExist"}]}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    let table = table_of("apps", "deployments", &[d]);
    assert_eq!(
        names(&table),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    assert_eq!(
        only_row(&table),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("3d"),
            json!("app,log"),
            json!("nginx:1,fluent"),
            json!("app=web,!canary,tier in (a,b)")
        ]
    );
}

#[test]
fn replicaset_statefulset_daemonset() {
    let rs = json!({"metadata": meta("web-5d8", 45), "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8"}},
        "template": template(&[("app", "nginx")])}, "status": {"replicas": 2, "readyReplicas": 1}});
    assert_eq!(
        only_row(&table_of("apps", "replicasets", &[rs])),
        vec![
            json!("web-5d8"),
            json!(2),
            json!(2),
            json!(1),
            json!("45s"),
            json!("app"),
            json!("nginx"),
            json!("app=web,pod-template-hash=5d8")
        ]
    );

    let sts = json!({"metadata": meta("db", 7_200), "spec": {"replicas": 3, "template": template(&[("pg", "postgres")])}, "status": {"readyReplicas": 3}});
    let table = table_of("apps", "statefulsets", &[sts]);
    assert_eq!(
        names(&table),
        ["Name", "Ready", "Age", "Containers", "Images"]
    );
    assert_eq!(
        only_row(&table),
        vec![
            json!("db"),
            json!("3/3"),
            json!("120m"),
            json!("pg"),
            json!("postgres")
        ]
    );

    let mut pod_template = template(&[("agent", "agent:2")]);
    pod_template["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
    let ds = json!({"metadata": meta("agent", 90), "spec": {"template": pod_template, "selector": {}},
        "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 0}});
    let table = table_of("apps", "daemonsets", &[ds]);
    assert_eq!(
        names(&table),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Up-to-date",
            "Available",
            "Node Selector",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    assert_eq!(
        only_row(&table),
        vec![
            json!("agent"),
            json!(1),
            json!(1),
            json!(1),
            json!(1),
            json!(0),
            json!("kubernetes.io/os=linux"),
            json!("90s"),
            json!("agent"),
            json!("agent:2"),
            json!("<none>")
        ]
    );
}

#[test]
fn controllerrevision_names_its_controller() {
    let mut owned = json!({"metadata": meta("agent-7f", 30), "revision": 4});
    owned["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "1", "controller": true}]);
    let orphan = json!({"metadata": meta("lonely", 30), "revision": 1});
    let table = table_of("apps", "controllerrevisions", &[owned, orphan]);
    assert_eq!(names(&table), ["Name", "Controller", "Revision", "Age"]);
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["agent-7f", "daemonset.apps/agent", 4, "30s"])
    );
    assert_eq!(
        table["rows"][1]["cells"],
        json!(["lonely", "<none>", 1, "30s"])
    );
}

#[test]
fn configmaps_secrets_namespaces_serviceaccounts() {
    let cm = json!({"metadata": meta("cfg", 5), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(
        only_row(&table_of("", "configmaps", &[cm])),
        vec![json!("cfg"), json!(3), json!("5s")]
    );

    let secret = json!({"metadata": meta("tls", 5), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
    let table = table_of("", "secrets", &[secret]);
    assert_eq!(names(&table), ["Name", "Type", "Data", "Age"]);
    assert_eq!(
        only_row(&table),
        vec![
            json!("tls"),
            json!("kubernetes.io/tls"),
            json!(2),
            json!("5s")
        ]
    );

    let ns = json!({"metadata": meta("team", 400), "status": {"phase": "Terminating"}});
    assert_eq!(
        only_row(&table_of("", "namespaces", &[ns])),
        vec![json!("team"), json!("Terminating"), json!("6m40s")]
    );

    let sa = json!({"metadata": meta("default", 100_000)});
    assert_eq!(
        only_row(&table_of("", "serviceaccounts", &[sa])),
        vec![json!("default"), json!(0), json!("27h")]
    );
}

#[test]
fn services_by_type() {
    let svc = |name: &str, spec: Value, status: Value| json!({"metadata": meta(name, 60), "spec": spec, "status": status});
    let cluster_ip = svc(
        "web",
        json!({"type": "ClusterIP", "clusterIPs": ["10.96.0.10"], "selector": {"app": "web", "tier": "front"},
        "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}),
        json!({}),
    );
    let table = table_of("", "services", &[cluster_ip]);
    assert_eq!(
        names(&table),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    assert_eq!(
        only_row(&table),
        vec![
            json!("web"),
            json!("ClusterIP"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80/TCP,53/UDP"),
            json!("60s"),
            json!("app=web,tier=front")
        ]
    );

    let node_port = svc(
        "np",
        json!({"type": "NodePort", "clusterIPs": ["10.96.0.11"], "externalIPs": ["1.2.3.4"],
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
        json!({}),
    );
    assert_eq!(
        only_row(&table_of("", "services", &[node_port]))[2..5],
        [json!("10.96.0.11"), json!("1.2.3.4"), json!("80:30080/TCP")]
    );

    let pending = svc(
        "lb",
        json!({"type": "LoadBalancer", "ports": []}),
        json!({}),
    );
    assert_eq!(
        only_row(&table_of("", "services", &[pending]))[2..5],
        [json!("<none>"), json!("<pending>"), json!("<none>")]
    );
    let assigned = svc(
        "lb",
        json!({"type": "LoadBalancer"}),
        json!({"loadBalancer": {"ingress": [{"hostname": "b.example"}, {"ip": "5.6.7.8"}]}}),
    );
    assert_eq!(
        only_row(&table_of("", "services", &[assigned]))[3],
        json!("5.6.7.8,b.example")
    );
    let external = svc(
        "ext",
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
        json!({}),
    );
    assert_eq!(
        only_row(&table_of("", "services", &[external]))[1..4],
        [
            json!("ExternalName"),
            json!("<none>"),
            json!("db.example.com")
        ]
    );
}

#[test]
fn core_events_and_events_k8s_io() {
    let event = json!({"metadata": meta("web-1.17a", 600), "type": "Warning", "reason": "BackOff", "count": 3,
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
        "message": "  Back-off restarting failed container \n", "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(30)});
    let table = table_of("", "events", &[event]);
    assert_eq!(
        columns(&table),
        [
            ("Last Seen", 0),
            ("Type", 0),
            ("Reason", 0),
            ("Object", 0),
            ("Subobject", 1),
            ("Source", 1),
            ("Message", 0),
            ("First Seen", 1),
            ("Count", 1),
            ("Name", 1)
        ]
        .map(|(n, p)| (n.to_string(), p))
        .to_vec()
    );
    assert_eq!(
        only_row(&table),
        vec![
            json!("30s"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web-1"),
            json!("spec.containers{app}"),
            json!("kubelet, node-1"),
            json!("Back-off restarting failed container"),
            json!("10m"),
            json!(3),
            json!("web-1.17a")
        ]
    );

    let series = json!({"metadata": meta("ev2", 600), "type": "Normal", "reason": "Sync", "regarding": {"kind": "ConfigSync"},
        "note": "synced", "eventTime": "2024-05-01T11:50:00.000000Z", "reportingController": "configsync",
        "series": {"count": 7, "lastObservedTime": ago(120)}});
    assert_eq!(
        only_row(&table_of("events.k8s.io", "events", &[series])),
        vec![
            json!("2m"),
            json!("Normal"),
            json!("Sync"),
            json!("configsync"),
            json!(""),
            json!("configsync"),
            json!("synced"),
            json!("10m"),
            json!(7),
            json!("ev2")
        ]
    );

    let singleton =
        json!({"metadata": meta("ev3", 0), "involvedObject": {"kind": "Node", "name": "n"}});
    assert_eq!(
        only_row(&table_of("", "events", &[singleton]))[7..9],
        [json!("<unknown>"), json!(1)]
    );
}

#[test]
fn leases_crds_webhooks_and_the_name_age_fallback() {
    let lease = json!({"metadata": meta("leader", 20), "spec": {"holderIdentity": "pod-a"}});
    let table = table_of("coordination.k8s.io", "leases", &[lease]);
    assert_eq!(names(&table), ["Name", "Holder", "Age"]);
    assert_eq!(
        only_row(&table),
        vec![json!("leader"), json!("pod-a"), json!("20s")]
    );

    let crd = json!({"metadata": meta("configsyncs.example.com", 20)});
    let table = table_of("apiextensions.k8s.io", "customresourcedefinitions", &[crd]);
    assert_eq!(
        columns(&table),
        vec![("Name".to_string(), 0), ("Created At".to_string(), 0)]
    );
    assert_eq!(table["columnDefinitions"][1]["type"], "date");
    assert_eq!(
        only_row(&table),
        vec![
            json!("configsyncs.example.com"),
            json!("2024-05-01T11:59:40Z")
        ]
    );

    let hook = json!({"metadata": meta("inject", 20), "webhooks": [{"name": "a"}, {"name": "b"}]});
    let table = table_of(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        &[hook],
    );
    assert_eq!(names(&table), ["Name", "Webhooks", "Age"]);
    assert_eq!(
        only_row(&table),
        vec![json!("inject"), json!(2), json!("20s")]
    );

    let unknown = json!({"metadata": {"name": "thing"}});
    let table = table_of("", "endpoints", &[unknown]);
    assert_eq!(names(&table), ["Name", "Age"]);
    assert_eq!(only_row(&table), vec![json!("thing"), json!("<unknown>")]);
}

#[test]
fn rbac_roles_show_created_at_and_bindings_their_role_and_subjects() {
    let role = json!({"metadata": {"name": "reader", "creationTimestamp": "2026-01-02T03:04:05Z"}, "rules": []});
    let table = table_of("rbac.authorization.k8s.io", "clusterroles", &[role]);
    assert_eq!(names(&table), ["Name", "Created At"]);
    assert_eq!(
        only_row(&table),
        vec![json!("reader"), json!("2026-01-02T03:04:05Z")]
    );
    let binding = json!({"metadata": meta("read", 90), "roleRef": {"kind": "ClusterRole", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "sys"}, {"kind": "User", "name": "ann"},
            {"kind": "Group", "name": "devs"}, {"kind": "User", "name": "bob"}]});
    let table = table_of("rbac.authorization.k8s.io", "rolebindings", &[binding]);
    assert_eq!(
        names(&table),
        ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]
    );
    assert_eq!(
        only_row(&table),
        vec![
            json!("read"),
            json!("ClusterRole/reader"),
            json!("90s"),
            json!("ann, bob"),
            json!("devs"),
            json!("sys/op")
        ]
    );
}
