//! core/v1 objects and DeleteOptions as `kubectl create` sends them.
use super::*;

#[test]
fn configmap_from_kubectl_create_keeps_binary_data_and_drops_zero_meta() {
    let cm = ConfigMap {
        metadata: Some(mk_meta("app-config", &[])),
        immutable: None,
        data: map(&[("level", "info"), ("empty", "")]),
        binary_data: [("blob".to_string(), vec![1, 2, 3])].into_iter().collect(),
    };
    let expected = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
        "data": {"level": "info", "empty": ""}, "binaryData": {"blob": "AQID"}});
    assert_eq!(decoded("v1", "ConfigMap", &cm), expected);
}

#[test]
fn secret_pointer_immutable_false_is_kept() {
    let secret = Secret {
        metadata: Some(mk_meta("tls", &[])),
        immutable: Some(false),
        data: [("tls.crt".to_string(), b"cert".to_vec())]
            .into_iter()
            .collect(),
        string_data: BTreeMap::new(),
        r#type: s("kubernetes.io/tls"),
    };
    let expected = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"}, "immutable": false,
        "data": {"tls.crt": "Y2VydA=="}, "type": "kubernetes.io/tls"});
    assert_eq!(decoded("v1", "Secret", &secret), expected);
}

#[test]
fn namespace_and_serviceaccount() {
    let ns = Namespace {
        metadata: Some(mk_meta("team-a", &[("env", "dev")])),
        spec: Some(NamespaceSpec::default()),
        status: Some(NamespaceStatus { phase: s("") }),
    };
    let expected = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"env": "dev"}}, "spec": {}, "status": {}});
    assert_eq!(decoded("v1", "Namespace", &ns), expected);

    let sa = ServiceAccount {
        metadata: Some(mk_meta("builder", &[])),
        secrets: vec![ObjectReference {
            name: s("token"),
            kind: s(""),
            ..Default::default()
        }],
        image_pull_secrets: vec![LocalObjectReference { name: s("regcred") }],
        automount_service_account_token: Some(false),
    };
    let expected = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"},
        "secrets": [{"name": "token"}], "imagePullSecrets": [{"name": "regcred"}],
        "automountServiceAccountToken": false});
    assert_eq!(decoded("v1", "ServiceAccount", &sa), expected);
}

#[test]
fn service_clusterip_and_nodeport_shapes() {
    let port = |name: &str, target: IntOrString, node_port: i32| ServicePort {
        name: s(name),
        protocol: s("TCP"),
        app_protocol: None,
        port: Some(80),
        target_port: Some(target),
        node_port: Some(node_port),
    };
    let spec = ServiceSpec {
        ports: vec![port("80-8080", int(8080), 0)],
        selector: map(&[("app", "web")]),
        cluster_ip: s("None"),
        r#type: s("ClusterIP"),
        ..Default::default()
    };
    let svc = Service {
        metadata: Some(mk_meta("web", &[("app", "web")])),
        spec: Some(spec),
        status: Some(ServiceStatus {
            load_balancer: Some(IgnoredStatus {}),
        }),
    };
    let expected = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                 "selector": {"app": "web"}, "clusterIP": "None", "type": "ClusterIP"},
        "status": {"loadBalancer": {}}});
    assert_eq!(decoded("v1", "Service", &svc), expected);

    let spec = ServiceSpec {
        ports: vec![port("http", string("http"), 30080)],
        r#type: s("NodePort"),
        ..Default::default()
    };
    let svc = Service {
        metadata: Some(mk_meta("np", &[])),
        spec: Some(spec),
        status: None,
    };
    let expected = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
        "spec": {"ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080}],
                 "type": "NodePort"}});
    assert_eq!(decoded("v1", "Service", &svc), expected);
}

#[test]
fn owner_references_finalizers_and_times() {
    let meta = ObjectMeta {
        generate_name: s("web-"),
        namespace: s("prod"),
        annotations: map(&[("note", "x")]),
        finalizers: vec!["example.com/keep".into()],
        creation_timestamp: Some(Time {
            seconds: Some(1_700_000_000),
            nanos: Some(123),
        }),
        owner_references: vec![OwnerReference {
            api_version: s("apps/v1"),
            kind: s("ReplicaSet"),
            name: s("web-1"),
            uid: s("u-1"),
            controller: Some(true),
            block_owner_deletion: None,
        }],
        ..Default::default()
    };
    let pod = Pod {
        metadata: Some(meta),
        spec: Some(PodSpec::default()),
        status: None,
    };
    let expected = json!({"apiVersion": "v1", "kind": "Pod", "spec": {}, "metadata": {
        "generateName": "web-", "namespace": "prod", "annotations": {"note": "x"},
        "finalizers": ["example.com/keep"], "creationTimestamp": "2023-11-14T22:13:20Z",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-1", "controller": true}]}});
    assert_eq!(decoded("v1", "Pod", &pod), expected);
}

#[test]
fn delete_options_in_any_group_version() {
    let options = DeleteOptions {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: s("abc"),
            resource_version: s("42"),
        }),
        orphan_dependents: None,
        propagation_policy: s("Background"),
        dry_run: vec!["All".into()],
    };
    let expected = json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
        "preconditions": {"uid": "abc", "resourceVersion": "42"}, "propagationPolicy": "Background", "dryRun": ["All"]});
    assert_eq!(decoded("apps/v1", "DeleteOptions", &options), expected);
}
