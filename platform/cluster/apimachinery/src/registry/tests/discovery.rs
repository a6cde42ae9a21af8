//! The discovery documents, shape by shape.
use super::*;

#[test]
fn version_and_core_versions_documents() {
    let version = version_info();
    assert_eq!(
        (version["major"].as_str(), version["minor"].as_str()),
        (Some("1"), Some("33"))
    );
    assert!(
        version["gitVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("v1.33."))
    );
    for key in [
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    ] {
        assert!(version[key].is_string(), "{key}");
    }
    let api = core_api_versions();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], json!(["v1"]));
    assert_eq!(
        api["serverAddressByClientCIDRs"][0]["clientCIDR"],
        "0.0.0.0/0"
    );
    assert_eq!(
        core_api_versions_at("10.0.0.1:443")["serverAddressByClientCIDRs"][0]["serverAddress"],
        "10.0.0.1:443"
    );
}

#[test]
fn group_list_orders_groups_and_prefers_the_highest_version() {
    let mut resources = resources_from_crd(&mk_crd()).expect("valid CRD");
    resources.extend(builtin_resources());
    let list = api_group_list(&resources);
    assert_eq!(
        (list["kind"].as_str(), list["apiVersion"].as_str()),
        (Some("APIGroupList"), Some("v1"))
    );
    let names: Vec<_> = list["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| g["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            "apps",
            "events.k8s.io",
            "batch",
            "networking.k8s.io",
            "policy",
            "rbac.authorization.k8s.io",
            "admissionregistration.k8s.io",
            "coordination.k8s.io",
            "apiextensions.k8s.io",
            "configsync.dev"
        ]
    );
    let custom = &list["groups"][9];
    assert_eq!(
        custom["versions"],
        json!([{"groupVersion": "configsync.dev/v1", "version": "v1"},
               {"groupVersion": "configsync.dev/v1alpha1", "version": "v1alpha1"}])
    );
    assert_eq!(
        custom["preferredVersion"],
        json!({"groupVersion": "configsync.dev/v1", "version": "v1"})
    );
}

#[test]
fn kube_aware_version_ordering() {
    let mut versions = vec![
        "v1alpha1",
        "foo",
        "v2beta1",
        "v1",
        "v1beta2",
        "v11alpha2",
        "v2",
        "bar",
        "v1beta1",
    ];
    versions.sort_by(|a, b| kube_aware_version_order(a, b));
    assert_eq!(
        versions,
        [
            "v2",
            "v1",
            "v2beta1",
            "v1beta2",
            "v1beta1",
            "v11alpha2",
            "v1alpha1",
            "bar",
            "foo"
        ]
    );
}

#[test]
fn resource_list_has_subresources_and_real_storage_hashes() {
    let list = api_resource_list("apps", "v1", &builtin_resources());
    assert_eq!(
        (list["kind"].as_str(), list["groupVersion"].as_str()),
        (Some("APIResourceList"), Some("apps/v1"))
    );
    let names: Vec<_> = list["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status"
        ]
    );
    assert_eq!(
        list["resources"][3],
        json!({"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment",
               "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
               "shortNames": ["deploy"], "categories": ["all"], "storageVersionHash": "8aSe+NMegvE="})
    );
    assert_eq!(
        list["resources"][4],
        json!({"name": "deployments/scale", "singularName": "", "namespaced": true, "group": "autoscaling",
               "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    );
    assert_eq!(
        list["resources"][5],
        json!({"name": "deployments/status", "singularName": "", "namespaced": true, "kind": "Deployment",
               "verbs": ["get", "patch", "update"]})
    );
}

#[test]
fn core_resource_list_hashes_match_a_real_cluster() {
    let list = api_resource_list("", "v1", &builtin_resources());
    assert_eq!(list["groupVersion"], "v1");
    let hash = |name: &str| {
        list["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .map(|r| r["storageVersionHash"].clone())
    };
    assert_eq!(hash("configmaps"), Some(json!("qFsyl6wFWjQ=")));
    assert_eq!(hash("namespaces"), Some(json!("Q3oi5N2YM8M=")));
    assert_eq!(hash("pods"), Some(json!("xPOwRZ+Yhw8=")));
    assert_eq!(hash("services"), Some(json!("0/CO1lhkEBI=")));
    assert_eq!(hash("serviceaccounts"), Some(json!("pbx9ZvyFpBE=")));
    let events = api_resource_list("events.k8s.io", "v1", &builtin_resources());
    assert_eq!(events["resources"][0]["storageVersionHash"], "r2yiGXH7wu8=");
    let custom = api_resource_list(
        "configsync.dev",
        "v1",
        &resources_from_crd(&mk_crd()).expect("valid"),
    );
    assert!(custom["resources"][0].get("storageVersionHash").is_none());
    assert_eq!(custom["resources"][1]["name"], "configsyncs/scale");
}

#[test]
fn aggregated_discovery_nests_subresources() {
    let mut resources = builtin_resources();
    resources.extend(resources_from_crd(&mk_crd()).expect("valid CRD"));
    let core = aggregated_discovery(&resources, true);
    assert_eq!(core["kind"], "APIGroupDiscoveryList");
    assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2");
    assert_eq!(core["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(core["items"][0]["metadata"]["name"], "");
    let v1 = &core["items"][0]["versions"][0];
    assert_eq!(
        (v1["version"].as_str(), v1["freshness"].as_str()),
        (Some("v1"), Some("Current"))
    );
    let pods = v1["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["resource"] == "pods")
        .cloned();
    assert_eq!(
        pods,
        Some(
            json!({"resource": "pods", "responseKind": {"group": "", "version": "", "kind": "Pod"},
            "scope": "Namespaced", "singularResource": "pod",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": ["po"], "categories": ["all"],
            "subresources": [{"subresource": "status", "verbs": ["get", "patch", "update"],
                              "responseKind": {"group": "", "version": "", "kind": "Pod"}}]})
        )
    );
    let apis = aggregated_discovery(&resources, false);
    let groups: Vec<_> = apis["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| g["metadata"]["name"].clone())
        .collect();
    assert_eq!(groups.first(), Some(&json!("apps")));
    assert_eq!(groups.last(), Some(&json!("configsync.dev")));
    let custom = &apis["items"][9];
    assert_eq!(custom["versions"][0]["version"], "v1");
    let cs = &custom["versions"][0]["resources"][0];
    assert_eq!(
        cs["responseKind"],
        json!({"group": "configsync.dev", "version": "v1", "kind": "ConfigSync"})
    );
    assert_eq!(cs["subresources"][0]["responseKind"]["kind"], "Scale");
    assert_eq!(cs["scope"], "Namespaced");
}

#[test]
fn rbac_resources_are_served_with_real_storage_hashes_and_scopes() {
    let list = api_resource_list("rbac.authorization.k8s.io", "v1", &builtin_resources());
    assert_eq!(list["groupVersion"], "rbac.authorization.k8s.io/v1");
    let entry = |name: &str| {
        list["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .map(|r| (r["storageVersionHash"].clone(), r["namespaced"].clone()))
    };
    assert_eq!(
        entry("clusterroles"),
        Some((json!("bYE5ZWDrJ44="), json!(false)))
    );
    assert_eq!(
        entry("clusterrolebindings"),
        Some((json!("48tpQ8gZHFc="), json!(false)))
    );
    assert_eq!(entry("roles"), Some((json!("7FuwZcIIItM="), json!(true))));
    assert_eq!(
        entry("rolebindings"),
        Some((json!("eGsCzGH6b1g="), json!(true)))
    );
}
