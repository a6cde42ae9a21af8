//! The manifests the demo applies, compiled into the binary so `configsync demo` works from any directory:
//! the ConfigSync CRD (`crds/`), the course's manifests (`examples/course/`) and the demo's own
//! (`examples/demo/`). The order matters: the CRD, then the data, then the workloads that consume it.
//! The injected pod comes last, once the webhook is registered: [`webhook_registration`] points the
//! MutatingWebhookConfiguration of `deploy/webhook.yaml` (which names an in-cluster Service) at the operator
//! child's URL, trusting the demo's CA.
use serde_json::Value;

/// A manifest: its path in the repository and its YAML.
#[derive(Debug, Clone, Copy)]
pub struct Manifest {
    pub path: &'static str,
    pub yaml: &'static str,
}

macro_rules! manifest {
    ($path:literal) => {
        Manifest {
            path: $path,
            yaml: include_str!(concat!("../../../", $path)),
        }
    };
}

/// The ConfigSync CustomResourceDefinition; applied first, and served before anything else is applied.
pub const CRD: Manifest = manifest!("crds/configsync.dev_configsyncs.yaml");

/// Everything else, in apply order.
pub const EXAMPLES: &[Manifest] = &[
    manifest!("examples/course/myconfig.yaml"),
    manifest!("examples/course/mysecret.yaml"),
    manifest!("examples/course/redis-config.yaml"),
    manifest!("examples/course/busybox-config-pod.yaml"),
    manifest!("examples/course/nginx-secret-pod.yaml"),
    manifest!("examples/course/redis-pod.yaml"),
    manifest!("examples/demo/web-deployment.yaml"),
    manifest!("examples/demo/redis-deployment.yaml"),
    manifest!("examples/demo/configsync.yaml"),
];

/// A pod annotated for injection, applied after the webhook is registered.
pub const INJECTED_POD: Manifest = manifest!("examples/demo/injected-pod.yaml");

/// The webhook configuration a real cluster installs.
pub const WEBHOOK: Manifest = manifest!("deploy/webhook.yaml");

/// The MutatingWebhookConfiguration of [`WEBHOOK`], calling `url` and trusting the PEM CA `ca_pem`. With
/// `only_namespace` (on an existing cluster) it is named `<name>-<namespace>` and selects only that namespace,
/// so it never sees other users' pods and several demos can run side by side.
///
/// # Errors
/// A message when `deploy/webhook.yaml` does not parse or holds no MutatingWebhookConfiguration.
pub fn webhook_registration(
    url: &str,
    ca_pem: &str,
    only_namespace: Option<&str>,
) -> Result<Value, String> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(WEBHOOK.yaml).map_err(|e| format!("{}: {e}", WEBHOOK.path))?;
    let mut config = docs
        .into_iter()
        .find(|doc| doc["kind"] == "MutatingWebhookConfiguration")
        .ok_or_else(|| format!("{} has no MutatingWebhookConfiguration", WEBHOOK.path))?;
    // caBundle is base64 on the wire, as k8s-openapi's ByteString serializes.
    let ca = serde_json::to_value(k8s_openapi::ByteString(ca_pem.as_bytes().to_vec()))
        .map_err(|e| e.to_string())?;
    let webhooks = config["webhooks"].as_array_mut().into_iter().flatten();
    for webhook in webhooks {
        webhook["clientConfig"] = serde_json::json!({"url": url, "caBundle": ca});
        if let Some(namespace) = only_namespace {
            let only = serde_json::json!({
                "key": "kubernetes.io/metadata.name", "operator": "In", "values": [namespace]
            });
            match webhook["namespaceSelector"]["matchExpressions"].as_array_mut() {
                Some(expressions) => expressions.push(only),
                None => {
                    webhook["namespaceSelector"] = serde_json::json!({"matchExpressions": [only]})
                }
            }
        }
    }
    if let Some(namespace) = only_namespace {
        let name = config["metadata"]["name"]
            .as_str()
            .unwrap_or("configsync-inject");
        config["metadata"]["name"] = Value::String(format!("{name}-{namespace}"));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the example directories is applied (a new example cannot be forgotten).
    #[test]
    fn every_example_file_is_applied() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk = Vec::new();
        for dir in ["examples/course", "examples/demo"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("examples dir") {
                let name = entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                if name.ends_with(".yaml") {
                    on_disk.push(format!("{dir}/{name}"));
                }
            }
        }
        on_disk.sort();
        let mut applied: Vec<&str> = EXAMPLES.iter().map(|m| m.path).collect();
        applied.push(INJECTED_POD.path);
        applied.sort_unstable();
        assert_eq!(applied, on_disk);
    }

    #[test]
    fn the_registration_keeps_deploy_policies_and_calls_the_url() {
        let config =
            webhook_registration("https://127.0.0.1:8443/mutate", "PEM", None).expect("config");
        let webhook = &config["webhooks"][0];
        assert_eq!(config["metadata"]["name"], "configsync-inject");
        assert_eq!(
            webhook["clientConfig"],
            serde_json::json!({"url": "https://127.0.0.1:8443/mutate", "caBundle": "UEVN"})
        );
        assert_eq!(webhook["failurePolicy"], "Ignore");
        assert_eq!(webhook["reinvocationPolicy"], "IfNeeded");
        assert_eq!(
            webhook["rules"][0]["resources"],
            serde_json::json!(["pods"])
        );
    }

    #[test]
    fn on_an_existing_cluster_the_registration_selects_only_the_demo_namespace() {
        let config = webhook_registration("https://127.0.0.1:8443/mutate", "PEM", Some("demo-ns"))
            .expect("config");
        assert_eq!(config["metadata"]["name"], "configsync-inject-demo-ns");
        let expressions = &config["webhooks"][0]["namespaceSelector"]["matchExpressions"];
        let expressions = expressions.as_array().expect("matchExpressions");
        assert!(
            expressions.iter().any(|e| e["operator"] == "NotIn"),
            "deploy/webhook.yaml's own exclusions are kept: {expressions:?}"
        );
        assert!(expressions.contains(&serde_json::json!({
            "key": "kubernetes.io/metadata.name", "operator": "In", "values": ["demo-ns"]
        })));
    }
}
