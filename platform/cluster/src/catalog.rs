//! The served resource types: the built-in ones plus those of every established CRD.
use crate::store::ResourceKey;
use configsync_apimachinery::ResourceType;
use std::collections::BTreeMap;

/// The resource types the server answers for.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    builtin: Vec<ResourceType>,
    custom: BTreeMap<String, Vec<ResourceType>>,
}

impl Catalog {
    /// A catalog of the given built-in types.
    pub fn new(builtin: Vec<ResourceType>) -> Self {
        Self {
            builtin,
            custom: BTreeMap::new(),
        }
    }

    /// The type served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.iter()
            .find(|rt| rt.group == group && rt.version == version && rt.plural == plural)
    }

    /// Any served version of `group/plural` (for internal lookups that do not care about the version).
    pub fn find_any_version(&self, group: &str, plural: &str) -> Option<&ResourceType> {
        self.iter()
            .find(|rt| rt.group == group && rt.plural == plural)
    }

    /// Whether `group/plural` is a custom resource (served from a CRD).
    pub fn is_custom(&self, group: &str, plural: &str) -> bool {
        self.custom
            .values()
            .flatten()
            .any(|rt| rt.group == group && rt.plural == plural)
    }

    /// Every served type.
    pub fn iter(&self) -> impl Iterator<Item = &ResourceType> {
        self.builtin.iter().chain(self.custom.values().flatten())
    }

    /// Every served type, owned.
    pub fn all(&self) -> Vec<ResourceType> {
        self.iter().cloned().collect()
    }

    /// Start (or change) serving the types of the CRD named `crd_name`.
    pub fn serve_crd(&mut self, crd_name: &str, types: Vec<ResourceType>) {
        self.custom.insert(crd_name.to_owned(), types);
    }

    /// Stop serving a CRD's types, returning them.
    pub fn remove_crd(&mut self, crd_name: &str) -> Vec<ResourceType> {
        self.custom.remove(crd_name).unwrap_or_default()
    }
}

/// Where objects of `rt` are stored. `events.k8s.io` Events share the core Events' storage.
pub fn storage_key(rt: &ResourceType) -> ResourceKey {
    if is_events_v1(rt) {
        ResourceKey::new("", "events")
    } else {
        ResourceKey::new(&rt.group, &rt.plural)
    }
}

/// Whether `rt` is `events.k8s.io` Events, which are converted to and from the stored core form.
pub fn is_events_v1(rt: &ResourceType) -> bool {
    rt.group == "events.k8s.io" && rt.plural == "events"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{builtin, custom};

    #[test]
    fn finds_builtin_and_custom_types() {
        let mut catalog = Catalog::new(vec![builtin("", "configmaps")]);
        assert!(catalog.find("", "v1", "configmaps").is_some());
        assert!(catalog.find("", "v2", "configmaps").is_none());
        catalog.serve_crd(
            "widgets.example.com",
            vec![custom("example.com", "Widget", "widgets")],
        );
        assert!(catalog.is_custom("example.com", "widgets"));
        assert!(!catalog.is_custom("", "configmaps"));
        assert_eq!(catalog.all().len(), 2);
        assert_eq!(catalog.remove_crd("widgets.example.com").len(), 1);
        assert!(catalog.find_any_version("example.com", "widgets").is_none());
    }

    #[test]
    fn events_v1_shares_core_storage() {
        let rt = builtin("events.k8s.io", "events");
        assert_eq!(storage_key(&rt), ResourceKey::new("", "events"));
    }
}
