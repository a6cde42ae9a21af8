//! `examples/encryption/encryption-config.yaml` stays a valid EncryptionConfiguration that matches the plugin.
use configsync_envelope::kms::API_VERSION;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EncryptionConfiguration {
    api_version: String,
    kind: String,
    resources: Vec<ResourceConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceConfig {
    resources: Vec<String>,
    providers: Vec<Provider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Provider {
    kms: Option<Kms>,
    identity: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Kms {
    api_version: String,
    name: String,
    endpoint: String,
    timeout: String,
}

#[test]
fn example_points_kube_apiserver_at_the_kms_v2_plugin() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/encryption/encryption-config.yaml"
    );
    let text = std::fs::read_to_string(path).expect("example exists");
    let config: EncryptionConfiguration =
        serde_saphyr::from_str(&text).expect("valid YAML of the expected shape");
    assert_eq!(config.api_version, "apiserver.config.k8s.io/v1");
    assert_eq!(config.kind, "EncryptionConfiguration");
    let resources = &config.resources[0];
    assert!(resources.resources.iter().any(|r| r == "secrets"));
    let kms = resources.providers[0]
        .kms
        .as_ref()
        .expect("the first provider (the writer) is kms");
    assert_eq!(kms.api_version, API_VERSION);
    assert!(
        !kms.name.is_empty() && !kms.name.contains(':'),
        "name is part of the k8s:enc:kms:v2:<name>: prefix"
    );
    assert!(kms.endpoint.starts_with("unix:///"), "{}", kms.endpoint);
    assert!(kms.timeout.ends_with('s') && kms.timeout.trim_end_matches('s').parse::<u32>().is_ok());
    assert!(
        resources
            .providers
            .last()
            .and_then(|p| p.identity.as_ref())
            .is_some(),
        "identity reads old data"
    );
}
