//! Deployments, Jobs and CronJobs with full pod templates.
use super::*;

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

/// A length-delimited field written by hand: tag byte `(field << 3) | 2`, one-byte length, payload.
fn len_field(field: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![
        (field << 3) | 2,
        u8::try_from(payload.len()).unwrap_or_default(),
    ];
    out.extend_from_slice(payload);
    out
}

#[test]
fn golden_deployment_bytes_pin_nested_field_numbers() {
    let key_selector = [len_field(1, &len_field(1, b"cm")), len_field(2, b"k")].concat(); // ConfigMapKeySelector
    let env = [
        len_field(1, b"E"),
        len_field(3, &len_field(3, &key_selector)),
    ]
    .concat(); // EnvVar{valueFrom.configMapKeyRef}
    let container = [len_field(1, b"c"), len_field(2, b"i"), len_field(7, &env)].concat();
    let template = len_field(2, &len_field(2, &container)); // PodTemplateSpec.spec.containers
    let selector = len_field(1, &[len_field(1, b"a"), len_field(2, b"b")].concat()); // matchLabels entry
    let spec = [
        vec![0x08, 0x02],
        len_field(2, &selector),
        len_field(3, &template),
    ]
    .concat(); // replicas = 2
    let raw = [len_field(1, &len_field(1, b"d")), len_field(2, &spec)].concat();
    let value = decode(&encode_envelope("apps/v1", "Deployment", raw)).map_err(|e| e.to_string());
    let expected = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [
            {"name": "c", "image": "i", "env": [{"name": "E", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]}]}}}});
    assert_eq!(value, Ok(expected));
}
