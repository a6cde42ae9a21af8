//! Bodies are built the way client-go builds them (prost-encoded messages in the envelope); two golden byte
//! strings written by hand from the wire format pin the field numbers independently of the structs.
use super::core::*;
use super::json::{IgnoredStatus, IntOrString, Quantity, Time};
use super::meta::*;
use super::pod::*;
use super::volume::*;
use super::workloads::*;
use super::*;
use serde_json::json;
use std::collections::BTreeMap;

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// ObjectMeta as gogo writes it for a new object: every non-pointer field present, most of them zero.
fn mk_meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(Time {
            seconds: Some(-62_135_596_800),
            nanos: Some(0),
        }),
        labels: map(labels),
        ..Default::default()
    }
}

fn body<M: Message>(api_version: &str, kind: &str, message: &M) -> Vec<u8> {
    encode_envelope(api_version, kind, message.encode_to_vec())
}

fn decoded<M: Message>(api_version: &str, kind: &str, message: &M) -> Value {
    match decode(&body(api_version, kind, message)) {
        Ok(value) => value,
        Err(error) => panic!("decode failed: {error}"),
    }
}

fn int(n: i32) -> IntOrString {
    IntOrString {
        r#type: Some(0),
        int_val: Some(n),
        str_val: s(""),
    }
}

fn string(text: &str) -> IntOrString {
    IntOrString {
        r#type: Some(1),
        int_val: Some(0),
        str_val: s(text),
    }
}

fn qty(text: &str) -> Quantity {
    Quantity { string: s(text) }
}

fn local(name: &str) -> Option<LocalObjectReference> {
    Some(LocalObjectReference { name: s(name) })
}

#[test]
fn golden_configmap_bytes_decode() {
    let raw: &[u8] = b"\x0a\x04\x0a\x02cm\x12\x06\x0a\x01k\x12\x01v\x20\x01";
    let mut body = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12".to_vec();
    body.push(u8::try_from(raw.len()).unwrap_or_default());
    body.extend_from_slice(raw);
    body.extend_from_slice(b"\x1a\x00\x22\x00");
    let value = decode(&body).map_err(|e| e.to_string());
    let expected = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
        "data": {"k": "v"}, "immutable": true});
    assert_eq!(value, Ok(expected));
}

#[test]
fn golden_secret_bytes_decode_to_base64_data() {
    // metadata{name=1:"s"}, data=2{"pw": 0x00 0xff}, type=3:"Opaque", stringData=4{"u":"me"}
    let raw: &[u8] = b"\x0a\x03\x0a\x01s\x12\x08\x0a\x02pw\x12\x02\x00\xff\x1a\x06Opaque\x22\x07\x0a\x01u\x12\x02me";
    let mut body = b"k8s\0\x0a\x0c\x0a\x02v1\x12\x06Secret\x12".to_vec();
    body.push(u8::try_from(raw.len()).unwrap_or_default());
    body.extend_from_slice(raw);
    let value = decode(&body).map_err(|e| e.to_string());
    let expected = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"pw": "AP8="}, "type": "Opaque", "stringData": {"u": "me"}});
    assert_eq!(value, Ok(expected));
}

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
        status: Some(IgnoredStatus {}),
    };
    let expected = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                 "selector": {"app": "web"}, "clusterIP": "None", "type": "ClusterIP"},
        "status": {}});
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

fn mk_container() -> Container {
    let key_ref = |name: &str, key: &str| KeySelector {
        local_object_reference: local(name),
        key: s(key),
        optional: None,
    };
    Container {
        name: s("app"),
        image: s("nginx:1.27"),
        command: vec!["/bin/sh".into(), "-c".into()],
        args: vec!["exec nginx".into()],
        ports: vec![ContainerPort {
            container_port: Some(80),
            protocol: s("TCP"),
            host_port: Some(0),
            ..Default::default()
        }],
        env: vec![
            EnvVar {
                name: s("MODE"),
                value: s("prod"),
                value_from: None,
            },
            EnvVar {
                name: s("LEVEL"),
                value: s(""),
                value_from: Some(EnvVarSource {
                    config_map_key_ref: Some(key_ref("app-config", "level")),
                    ..Default::default()
                }),
            },
            EnvVar {
                name: s("PASSWORD"),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(KeySelector {
                        optional: Some(true),
                        ..key_ref("db", "password")
                    }),
                    ..Default::default()
                }),
            },
            EnvVar {
                name: s("POD"),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        api_version: s("v1"),
                        field_path: s("metadata.name"),
                    }),
                    ..Default::default()
                }),
            },
        ],
        env_from: vec![
            EnvFromSource {
                prefix: s("CFG_"),
                config_map_ref: Some(EnvSource {
                    local_object_reference: local("app-config"),
                    optional: None,
                }),
                secret_ref: None,
            },
            EnvFromSource {
                prefix: s(""),
                config_map_ref: None,
                secret_ref: Some(EnvSource {
                    local_object_reference: local("db"),
                    optional: Some(false),
                }),
            },
        ],
        resources: Some(ResourceRequirements {
            limits: [("memory".to_string(), qty("128Mi"))].into_iter().collect(),
            requests: [("cpu".to_string(), qty("100m"))].into_iter().collect(),
        }),
        volume_mounts: vec![VolumeMount {
            name: s("config"),
            read_only: Some(true),
            mount_path: s("/etc/config"),
            sub_path: s(""),
            ..Default::default()
        }],
        image_pull_policy: s("IfNotPresent"),
        stdin: Some(false),
        ..Default::default()
    }
}

fn mk_volumes() -> Vec<Volume> {
    let volume = |name: &str, source: VolumeSource| Volume {
        name: s(name),
        volume_source: Some(source),
    };
    let items = vec![KeyToPath {
        key: s("app.yaml"),
        path: s("app.yaml"),
        mode: None,
    }];
    vec![
        volume(
            "config",
            VolumeSource {
                config_map: Some(ConfigMapVolumeSource {
                    local_object_reference: local("app-config"),
                    items,
                    default_mode: Some(420),
                    optional: None,
                }),
                ..Default::default()
            },
        ),
        volume(
            "creds",
            VolumeSource {
                secret: Some(SecretVolumeSource {
                    secret_name: s("db"),
                    optional: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        volume(
            "scratch",
            VolumeSource {
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: s(""),
                    size_limit: Some(qty("1Gi")),
                }),
                ..Default::default()
            },
        ),
        volume(
            "all",
            VolumeSource {
                projected: Some(ProjectedVolumeSource {
                    default_mode: Some(256),
                    sources: vec![
                        VolumeProjection {
                            config_map: Some(ObjectProjection {
                                local_object_reference: local("app-config"),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        VolumeProjection {
                            secret: Some(ObjectProjection {
                                local_object_reference: local("db"),
                                optional: Some(false),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        VolumeProjection {
                            service_account_token: Some(ServiceAccountTokenProjection {
                                audience: s(""),
                                expiration_seconds: Some(3600),
                                path: s("token"),
                            }),
                            ..Default::default()
                        },
                    ],
                }),
                ..Default::default()
            },
        ),
    ]
}

#[test]
fn deployment_with_full_pod_template() {
    let selector = LabelSelector {
        match_labels: map(&[("app", "web")]),
        match_expressions: vec![LabelSelectorRequirement {
            key: s("tier"),
            operator: s("In"),
            values: vec!["front".into()],
        }],
    };
    let spec = DeploymentSpec {
        replicas: Some(3),
        selector: Some(selector),
        template: Some(PodTemplateSpec {
            metadata: Some(mk_meta("", &[("app", "web")])),
            spec: Some(PodSpec {
                containers: vec![mk_container()],
                volumes: mk_volumes(),
                restart_policy: s("Always"),
                termination_grace_period_seconds: Some(30),
                service_account_name: s("builder"),
                host_network: Some(false),
                ..Default::default()
            }),
        }),
        strategy: Some(DeploymentStrategy {
            r#type: s("RollingUpdate"),
            rolling_update: Some(RollingUpdateDeployment {
                max_unavailable: Some(int(1)),
                max_surge: Some(string("25%")),
            }),
        }),
        min_ready_seconds: Some(0),
        revision_history_limit: Some(0),
        paused: Some(false),
        progress_deadline_seconds: None,
    };
    let deployment = Deployment {
        metadata: Some(mk_meta("web", &[("app", "web")])),
        spec: Some(spec),
        status: Some(IgnoredStatus {}),
    };
    let expected = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "containers": [{
                    "name": "app", "image": "nginx:1.27", "command": ["/bin/sh", "-c"], "args": ["exec nginx"],
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "app-config"}}, {"secretRef": {"name": "db", "optional": false}}],
                    "env": [
                        {"name": "MODE", "value": "prod"},
                        {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "level"}}},
                        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password", "optional": true}}},
                        {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}
                    ],
                    "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}},
                    "volumeMounts": [{"name": "config", "readOnly": true, "mountPath": "/etc/config"}],
                    "imagePullPolicy": "IfNotPresent"
                }],
                "volumes": [
                    {"name": "config", "configMap": {"name": "app-config", "items": [{"key": "app.yaml", "path": "app.yaml"}], "defaultMode": 420}},
                    {"name": "creds", "secret": {"secretName": "db", "optional": true}},
                    {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
                    {"name": "all", "projected": {"defaultMode": 256, "sources": [
                        {"configMap": {"name": "app-config"}},
                        {"secret": {"name": "db", "optional": false}},
                        {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}}
                    ]}}
                ],
                "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "serviceAccountName": "builder"
            }},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
            "revisionHistoryLimit": 0
        },
        "status": {}
    });
    assert_eq!(decoded("apps/v1", "Deployment", &deployment), expected);
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
fn job_and_cronjob() {
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta::default()),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: s("run"),
                image: s("busybox"),
                resources: Some(ResourceRequirements::default()),
                ..Default::default()
            }],
            restart_policy: s("Never"),
            ..Default::default()
        }),
    };
    let job_spec = JobSpec {
        template: Some(template),
        backoff_limit: Some(2),
        ..Default::default()
    };
    let job = Job {
        metadata: Some(mk_meta("once", &[])),
        spec: Some(job_spec.clone()),
        status: Some(IgnoredStatus {}),
    };
    let expected_template = json!({"metadata": {}, "spec": {"containers": [{"name": "run", "image": "busybox", "resources": {}}], "restartPolicy": "Never"}});
    let expected = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"backoffLimit": 2, "template": expected_template}, "status": {}});
    assert_eq!(decoded("batch/v1", "Job", &job), expected);

    let cron = CronJob {
        metadata: Some(mk_meta("nightly", &[])),
        spec: Some(CronJobSpec {
            schedule: s("0 3 * * *"),
            concurrency_policy: s(""),
            suspend: Some(false),
            job_template: Some(JobTemplateSpec {
                metadata: Some(mk_meta("nightly", &[])),
                spec: Some(job_spec),
            }),
            ..Default::default()
        }),
        status: None,
    };
    let expected = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "suspend": false, "jobTemplate": {"metadata": {"name": "nightly"},
            "spec": {"backoffLimit": 2, "template": expected_template}}}});
    assert_eq!(decoded("batch/v1", "CronJob", &cron), expected);
}

#[test]
fn delete_options_in_any_group_version() {
    let options = DeleteOptions {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: s("abc") }),
        orphan_dependents: None,
        propagation_policy: s("Background"),
        dry_run: vec!["All".into()],
    };
    let expected = json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
        "preconditions": {"uid": "abc"}, "propagationPolicy": "Background", "dryRun": ["All"]});
    assert_eq!(decoded("apps/v1", "DeleteOptions", &options), expected);
}

fn error_of(body: &[u8]) -> String {
    match decode(body) {
        Ok(value) => format!("unexpectedly decoded {value}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn unsupported_kind_is_reported_by_name() {
    let body = encode_envelope("apps/v1", "StatefulSet", vec![]);
    assert!(
        matches!(decode(&body), Err(ProtobufError::UnsupportedKind(kind)) if kind == "StatefulSet (apps/v1)")
    );
}

#[test]
fn malformed_bodies_are_errors() {
    assert!(error_of(b"{\"kind\":\"ConfigMap\"}").contains("magic"));
    assert!(
        error_of(b"k8s\0\x0f").starts_with("malformed"),
        "invalid wire type 7"
    );
    assert!(
        error_of(b"k8s\0\x0a\x05\x0a\x02v1").starts_with("malformed"),
        "length beyond the end"
    );
    assert!(error_of(&encode_envelope("v1", "", vec![])).contains("no kind"));
    let bad_utf8 = encode_envelope("v1", "ConfigMap", b"\x0a\x04\x0a\x02\xff\xfe".to_vec());
    assert!(error_of(&bad_utf8).contains("ConfigMap"));
    let mut encoded = meta::Unknown {
        content_encoding: s("gzip"),
        ..Default::default()
    }
    .encode_to_vec();
    encoded.splice(0..0, MAGIC.iter().copied());
    assert!(error_of(&encoded).contains("gzip"));
}

#[test]
fn every_truncation_of_a_deployment_body_errors_or_decodes_without_panic() {
    let deployment = Deployment {
        metadata: Some(mk_meta("web", &[("app", "web")])),
        spec: Some(DeploymentSpec {
            template: Some(PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    containers: vec![mk_container()],
                    volumes: mk_volumes(),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }),
        status: None,
    };
    let full = body("apps/v1", "Deployment", &deployment);
    // The envelope ends with the empty contentEncoding and contentType fields (2 bytes each) after `raw`.
    let raw_end = full.len() - 4;
    let raw_start = raw_end - deployment.encoded_len();
    for cut in 0..full.len() {
        let result = decode(&full[..cut]);
        if (raw_start..raw_end).contains(&cut) {
            assert!(
                result.is_err(),
                "a body cut inside the object ({cut} of {}) must not decode",
                full.len()
            );
        }
    }
}

#[test]
fn pseudo_random_bytes_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut body = MAGIC.to_vec();
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let len = (state >> 58) as usize;
        for _ in 0..len {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            body.push((state >> 56) as u8);
        }
        let _ = decode(&body);
    }
}
