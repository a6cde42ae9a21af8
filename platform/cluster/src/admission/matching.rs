//! Which webhooks of a MutatingWebhookConfiguration apply to a request: rules, namespaceSelector,
//! objectSelector. Pure functions over the stored JSON.
use configsync_apimachinery::selector::LabelSelector;
use serde_json::{Value, json};

/// What is being admitted.
pub(crate) struct Attributes<'a> {
    /// API group of the resource (`""` for core).
    pub group: &'a str,
    /// Version, e.g. `v1`.
    pub version: &'a str,
    /// Plural resource, e.g. `pods`.
    pub resource: &'a str,
    /// `CREATE`.
    pub operation: &'a str,
    /// The namespace's labels.
    pub namespace_labels: &'a Value,
    /// The object's labels.
    pub object_labels: &'a Value,
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn listed(list: &[&str], wanted: &str) -> bool {
    list.iter().any(|item| *item == "*" || *item == wanted)
}

/// Whether one of the webhook's `rules` covers the request.
pub(crate) fn rules_match(webhook: &Value, attrs: &Attributes<'_>) -> bool {
    let rules = webhook.get("rules").and_then(Value::as_array);
    rules.into_iter().flatten().any(|rule| {
        let resources = strings(rule.get("resources"));
        listed(&strings(rule.get("operations")), attrs.operation)
            && listed(&strings(rule.get("apiGroups")), attrs.group)
            && listed(&strings(rule.get("apiVersions")), attrs.version)
            && (listed(&resources, attrs.resource) || resources.contains(&"*/*"))
    })
}

/// Whether a `metav1.LabelSelector` matches `labels`; absent = everything. An invalid selector matches
/// nothing (the apiserver's validation rejects it at write time).
pub(crate) fn selector_matches(selector: Option<&Value>, labels: &Value) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return true;
    };
    let Ok(selector) = LabelSelector::from_label_selector(selector) else {
        return false;
    };
    selector.matches_object(&json!({ "metadata": { "labels": labels } }))
}

/// Whether the webhook is called for this request.
pub(crate) fn webhook_matches(webhook: &Value, attrs: &Attributes<'_>) -> bool {
    rules_match(webhook, attrs)
        && selector_matches(webhook.get("namespaceSelector"), attrs.namespace_labels)
        && selector_matches(webhook.get("objectSelector"), attrs.object_labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(ns: &'a Value, obj: &'a Value) -> Attributes<'a> {
        Attributes {
            group: "",
            version: "v1",
            resource: "pods",
            operation: "CREATE",
            namespace_labels: ns,
            object_labels: obj,
        }
    }

    #[test]
    fn rules_need_operation_group_version_and_resource() {
        let empty = json!({});
        let hook = json!({"rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
        assert!(rules_match(&hook, &attrs(&empty, &empty)));
        let update_only = json!({"rules": [{"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
        assert!(!rules_match(&update_only, &attrs(&empty, &empty)));
        let apps = json!({"rules": [{"operations": ["*"], "apiGroups": ["apps"], "apiVersions": ["*"], "resources": ["*"]}]});
        assert!(!rules_match(&apps, &attrs(&empty, &empty)));
        assert!(!rules_match(&json!({}), &attrs(&empty, &empty)));
    }

    #[test]
    fn selectors_follow_match_labels_and_expressions() {
        let labels = json!({"configsync.dev/inject": "enabled", "team": "a"});
        assert!(selector_matches(None, &labels));
        assert!(selector_matches(
            Some(&json!({"matchLabels": {"team": "a"}})),
            &labels
        ));
        assert!(!selector_matches(
            Some(&json!({"matchLabels": {"team": "b"}})),
            &labels
        ));
        let not_in = json!({"matchExpressions": [{"key": "configsync.dev/inject", "operator": "NotIn", "values": ["disabled"]}]});
        assert!(selector_matches(Some(&not_in), &labels));
        assert!(selector_matches(Some(&not_in), &json!({})));
        let exists = json!({"matchExpressions": [{"key": "team", "operator": "Exists"}]});
        assert!(!selector_matches(Some(&exists), &json!({})));
        let bogus = json!({"matchExpressions": [{"key": "team", "operator": "Near"}]});
        assert!(!selector_matches(Some(&bogus), &labels));
    }
}
