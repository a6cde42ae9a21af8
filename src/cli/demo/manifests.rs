//! The manifests the demo applies, compiled into the binary so `configsync demo` works from any directory:
//! the ConfigSync CRD (`crds/`), the course's manifests (`examples/course/`) and the demo's own
//! (`examples/demo/`). The order matters: the CRD, then the data, then the workloads that consume it.

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
                if name.ends_with(".yaml") && name != "injected-pod.yaml" {
                    on_disk.push(format!("{dir}/{name}"));
                }
            }
        }
        on_disk.sort();
        let mut applied: Vec<&str> = EXAMPLES.iter().map(|m| m.path).collect();
        applied.sort_unstable();
        assert_eq!(applied, on_disk);
    }
}
