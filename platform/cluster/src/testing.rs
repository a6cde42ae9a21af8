//! Test helpers: the built-in resource types come from the registry the server itself serves
//! (`registry::builtin_resources()`), so tests exercise the real discovery data.
use configsync_apimachinery::ResourceType;
use configsync_apimachinery::registry::builtin_resources;

/// The built-in type `group/plural`. Panics (failing the test) when the registry does not serve it.
pub fn builtin(group: &str, plural: &str) -> ResourceType {
    builtin_resources()
        .into_iter()
        .find(|rt| rt.group == group && rt.plural == plural)
        .unwrap_or_else(|| panic!("the registry serves no {group}/{plural}"))
}

/// A namespaced custom type `group/v1` `kind` (`plural`), shaped like a built-in one.
pub fn custom(group: &str, kind: &str, plural: &str) -> ResourceType {
    ResourceType {
        group: group.into(),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        short_names: Vec::new(),
        categories: Vec::new(),
        ..builtin("", "configmaps")
    }
}
