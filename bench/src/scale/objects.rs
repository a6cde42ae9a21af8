//! The generated fleet: ConfigMaps and Secrets of a given size, and Deployments that consume 3 to 5 of them
//! through every reference kind. Pure and deterministic: the same parameters give the same objects.
//!
//! ```text
//!  cm-00000 … cm-N, secret-00000 … secret-N    keys "a" and "b", size/2 bytes each
//!  deploy-00000 … deploy-D                      refs = 3 + i % 3, kinds cycle: env keyRef (key "a"),
//!                                               envFrom, volume with items (key "b"), projected
//!  shared + fan-0000 … fan-F                    one ConfigMap read by F Deployments (envFrom), for fan-out
//! ```
//! Every Deployment carries `configsync.dev/auto: "true"` and `replicas` (0 by default, so the embedded
//! cluster does not simulate pods and the machine's two cores are left to the operator).
use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, ConfigMapKeySelector, ConfigMapProjection,
    ConfigMapVolumeSource, Container, EnvFromSource, EnvVar, EnvVarSource, KeyToPath, PodSpec,
    PodTemplateSpec, ProjectedVolumeSource, Secret, SecretEnvSource, SecretKeySelector,
    SecretProjection, SecretVolumeSource, Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

/// The annotation the operator stamps on the pod template.
pub const HASH_ANNOTATION: &str = "configsync.dev/config-hash";

/// The four ways a pod spec consumes a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefKind {
    /// `env[].valueFrom.{configMap,secret}KeyRef`.
    EnvKeyRef,
    /// `envFrom[].{configMap,secret}Ref`.
    EnvFrom,
    /// A `configMap`/`secret` volume with `items`.
    VolumeItems,
    /// A `projected` volume source.
    Projected,
}

const KINDS: [RefKind; 4] = [
    RefKind::EnvKeyRef,
    RefKind::EnvFrom,
    RefKind::VolumeItems,
    RefKind::Projected,
];

/// One reference of a Deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// A Secret (else a ConfigMap).
    pub secret: bool,
    /// The source's name.
    pub name: String,
    /// How it is consumed.
    pub kind: RefKind,
}

/// The ConfigMap name of index `i`.
pub fn config_map_name(i: usize) -> String {
    format!("cm-{i:05}")
}

/// The Secret name of index `i`.
pub fn secret_name(i: usize) -> String {
    format!("secret-{i:05}")
}

/// Deterministic printable filler of `len` bytes, different per `seed`.
pub fn filler(seed: usize, len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + ((seed.wrapping_mul(31) + i * 7) % 26) as u8))
        .collect()
}

fn meta(namespace: &str, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.to_owned()),
        ..ObjectMeta::default()
    }
}

/// ConfigMap `i` with keys `a` and `b` of `size / 2` bytes each; `version` varies the content.
pub fn config_map(namespace: &str, name: String, size: usize, version: usize) -> ConfigMap {
    let half = size / 2;
    ConfigMap {
        metadata: meta(namespace, name),
        data: Some(BTreeMap::from([
            ("a".to_owned(), filler(version, half)),
            ("b".to_owned(), filler(version + 1, size - half)),
        ])),
        ..ConfigMap::default()
    }
}

/// Secret `i` with keys `a` and `b` of `size / 2` bytes each.
pub fn secret(namespace: &str, i: usize, size: usize) -> Secret {
    let half = size / 2;
    Secret {
        metadata: meta(namespace, secret_name(i)),
        data: Some(BTreeMap::from([
            ("a".to_owned(), ByteString(filler(i, half).into_bytes())),
            (
                "b".to_owned(),
                ByteString(filler(i + 1, size - half).into_bytes()),
            ),
        ])),
        ..Secret::default()
    }
}

/// The references of Deployment `i`: 3 to 5 sources, kinds cycling, ConfigMaps and Secrets alternating.
pub fn references(i: usize, config_maps: usize, secrets: usize) -> Vec<Reference> {
    let count = 3 + i % 3;
    (0..count)
        .filter_map(|j| {
            let slot = i * 5 + j;
            let secret = (i + j) % 2 == 1;
            let pool = if secret { secrets } else { config_maps };
            let index = slot.checked_rem(pool)?;
            Some(Reference {
                secret,
                name: if secret {
                    secret_name(index)
                } else {
                    config_map_name(index)
                },
                kind: KINDS[(i + j) % KINDS.len()],
            })
        })
        .collect()
}

/// A Deployment named `name` consuming `refs`.
pub fn deployment(namespace: &str, name: String, refs: &[Reference], replicas: i32) -> Deployment {
    let labels = BTreeMap::from([("app".to_owned(), name.clone())]);
    let mut container = Container {
        name: "app".to_owned(),
        image: Some("registry.example/app:1".to_owned()),
        ..Container::default()
    };
    let mut volumes = Vec::new();
    for (n, reference) in refs.iter().enumerate() {
        apply_reference(&mut container, &mut volumes, n, reference);
    }
    let mut metadata = meta(namespace, name);
    metadata.annotations = Some(BTreeMap::from([(
        "configsync.dev/auto".to_owned(),
        "true".to_owned(),
    )]));
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    volumes: Some(volumes).filter(|v| !v.is_empty()),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

fn apply_reference(container: &mut Container, volumes: &mut Vec<Volume>, n: usize, r: &Reference) {
    let name = r.name.clone();
    match r.kind {
        RefKind::EnvKeyRef => {
            let value_from = if r.secret {
                EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name,
                        key: "a".into(),
                        optional: None,
                    }),
                    ..EnvVarSource::default()
                }
            } else {
                EnvVarSource {
                    config_map_key_ref: Some(ConfigMapKeySelector {
                        name,
                        key: "a".into(),
                        optional: None,
                    }),
                    ..EnvVarSource::default()
                }
            };
            let env = EnvVar {
                name: format!("REF_{n}"),
                value_from: Some(value_from),
                value: None,
            };
            container.env.get_or_insert_with(Vec::new).push(env);
        }
        RefKind::EnvFrom => {
            let source = if r.secret {
                EnvFromSource {
                    secret_ref: Some(SecretEnvSource {
                        name,
                        optional: None,
                    }),
                    ..EnvFromSource::default()
                }
            } else {
                EnvFromSource {
                    config_map_ref: Some(ConfigMapEnvSource {
                        name,
                        optional: None,
                    }),
                    ..EnvFromSource::default()
                }
            };
            container.env_from.get_or_insert_with(Vec::new).push(source);
        }
        RefKind::VolumeItems | RefKind::Projected => {
            volumes.push(volume(n, r));
            let mount = VolumeMount {
                name: format!("ref-{n}"),
                mount_path: format!("/etc/ref-{n}"),
                ..VolumeMount::default()
            };
            container
                .volume_mounts
                .get_or_insert_with(Vec::new)
                .push(mount);
        }
    }
}

fn volume(n: usize, r: &Reference) -> Volume {
    let items = Some(vec![KeyToPath {
        key: "b".into(),
        path: "b.conf".into(),
        mode: None,
    }]);
    let name = r.name.clone();
    let mut volume = Volume {
        name: format!("ref-{n}"),
        ..Volume::default()
    };
    match (r.kind, r.secret) {
        (RefKind::Projected, secret) => {
            let projection = if secret {
                VolumeProjection {
                    secret: Some(SecretProjection {
                        name,
                        ..SecretProjection::default()
                    }),
                    ..VolumeProjection::default()
                }
            } else {
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name,
                        ..ConfigMapProjection::default()
                    }),
                    ..VolumeProjection::default()
                }
            };
            volume.projected = Some(ProjectedVolumeSource {
                sources: Some(vec![projection]),
                ..ProjectedVolumeSource::default()
            });
        }
        (_, true) => {
            volume.secret = Some(SecretVolumeSource {
                secret_name: Some(name),
                items,
                ..SecretVolumeSource::default()
            });
        }
        (_, false) => {
            volume.config_map = Some(ConfigMapVolumeSource {
                name,
                items,
                ..ConfigMapVolumeSource::default()
            });
        }
    }
    volume
}

/// The pod-template hash annotation of a Deployment, if stamped.
pub fn template_hash(deployment: &Deployment) -> Option<&str> {
    deployment
        .spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(HASH_ANNOTATION)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use configsync_operator::refs::source_refs;

    #[test]
    fn every_deployment_reads_three_to_five_sources_and_every_kind_is_used() {
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..12 {
            let refs = references(i, 100, 100);
            assert!(
                (3..=5).contains(&refs.len()),
                "deployment {i}: {}",
                refs.len()
            );
            assert!(refs.iter().any(|r| r.secret) && refs.iter().any(|r| !r.secret));
            kinds.extend(refs.iter().map(|r| r.kind));
        }
        assert_eq!(kinds.len(), 4);
        assert!(references(0, 0, 0).is_empty(), "no sources, no references");
    }

    #[test]
    fn the_operator_sees_every_generated_reference() {
        let refs = references(4, 100, 100);
        let deployment = deployment("bench", "d".into(), &refs, 0);
        let spec = deployment.spec.unwrap().template.spec.unwrap();
        let seen = source_refs(&spec);
        let mut expected: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        expected.sort_unstable();
        expected.dedup();
        let mut names: Vec<&str> = seen.iter().map(|r| r.id.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn sources_have_the_requested_size() {
        let cm = config_map("bench", config_map_name(3), 10 * 1024, 3);
        let total: usize = cm.data.unwrap().values().map(String::len).sum();
        assert_eq!(total, 10 * 1024);
        let secret = secret("bench", 3, 11);
        let total: usize = secret.data.unwrap().values().map(|v| v.0.len()).sum();
        assert_eq!(total, 11);
        assert_ne!(filler(1, 8), filler(2, 8));
    }
}
