use super::*;
use serde_json::json;

fn by_plural<'a>(resources: &'a [ResourceType], group: &str, plural: &str) -> &'a ResourceType {
    find(resources, group, "v1", plural).unwrap_or_else(|| panic!("{group}/{plural} missing"))
}

#[test]
fn builtins_match_kubectl_api_resources() {
    let all = builtin_resources();
    assert_eq!(all.len(), 16);
    let deploy = by_plural(&all, "apps", "deployments");
    assert_eq!(
        (
            deploy.kind.as_str(),
            deploy.list_kind.as_str(),
            deploy.singular.as_str()
        ),
        ("Deployment", "DeploymentList", "deployment")
    );
    assert_eq!(deploy.short_names, ["deploy"]);
    assert_eq!(deploy.categories, ["all"]);
    assert!(deploy.namespaced && deploy.has_status && deploy.has_scale);
    assert_eq!(
        deploy.verbs,
        [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ]
    );
    let ns = by_plural(&all, "", "namespaces");
    assert!(!ns.namespaced);
    assert_eq!(ns.short_names, ["ns"]);
    assert_eq!(
        ns.verbs,
        [
            "create", "delete", "get", "list", "patch", "update", "watch"
        ]
    );
    let crd = by_plural(&all, "apiextensions.k8s.io", "customresourcedefinitions");
    assert_eq!(crd.short_names, ["crd", "crds"]);
    assert_eq!(crd.categories, ["api-extensions"]);
    assert!(!crd.namespaced && crd.has_status && !crd.has_scale);
    let ds = by_plural(&all, "apps", "daemonsets");
    assert!(ds.has_status && !ds.has_scale);
    let secret = by_plural(&all, "", "secrets");
    assert!(secret.short_names.is_empty() && secret.categories.is_empty() && !secret.has_status);
    let mwc = by_plural(
        &all,
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    );
    assert!(!mwc.namespaced);
    assert_eq!(
        by_plural(&all, "events.k8s.io", "events").short_names,
        ["ev"]
    );
    assert!(all.iter().all(|r| r.printer_columns.is_none()));
}

#[test]
fn find_and_resolve_by_kind_and_names() {
    let all = builtin_resources();
    assert_eq!(
        find_by_kind(&all, "apps/v1", "StatefulSet").map(|r| r.plural.as_str()),
        Some("statefulsets")
    );
    assert_eq!(
        find_by_kind(&all, "v1", "Secret").map(|r| r.plural.as_str()),
        Some("secrets")
    );
    assert!(find_by_kind(&all, "apps/v1", "Secret").is_none());
    assert!(find(&all, "apps", "v2", "deployments").is_none());
    let events: Vec<_> = resolve(&all, "ev")
        .iter()
        .map(|r| r.api_version())
        .collect();
    assert_eq!(events, ["v1", "events.k8s.io/v1"]);
    let deploy = resolve(&all, "deployments.apps");
    assert_eq!(deploy.len(), 1);
    assert_eq!(resolve(&all, "Deployment")[0].plural, "deployments");
    assert!(resolve(&all, "nothing").is_empty());
}

fn mk_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "configsyncs.configsync.dev"},
        "spec": {
            "group": "configsync.dev",
            "scope": "Namespaced",
            "names": {"plural": "configsyncs", "kind": "ConfigSync", "shortNames": ["cs"], "categories": ["all"]},
            "versions": [
                {"name": "v1alpha1", "served": true, "storage": false},
                {"name": "v1", "served": true, "storage": true,
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                          "statusReplicasPath": ".status.replicas"}},
                 "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Target", "type": "string", "description": "workload", "priority": 1,
                     "jsonPath": ".spec.target"}]},
                {"name": "v0", "served": false, "storage": false}
            ]
        }
    })
}

#[test]
fn crd_maps_one_resource_per_served_version() {
    let resources = resources_from_crd(&mk_crd()).expect("valid CRD");
    let versions: Vec<_> = resources.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["v1alpha1", "v1"]);
    let v1 = &resources[1];
    assert_eq!(v1.group, "configsync.dev");
    assert_eq!(
        (v1.singular.as_str(), v1.list_kind.as_str()),
        ("configsync", "ConfigSyncList")
    );
    assert_eq!(v1.short_names, ["cs"]);
    assert_eq!(v1.categories, ["all"]);
    assert!(v1.namespaced && v1.has_status && v1.has_scale);
    assert!(!resources[0].has_status && !resources[0].has_scale);
    assert_eq!(
        v1.verbs,
        [
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch"
        ]
    );
    let columns = v1.printer_columns.as_ref().expect("columns");
    assert_eq!(columns.len(), 2);
    assert_eq!(
        columns[0].json_path,
        ".status.conditions[?(@.type==\"Ready\")].status"
    );
    assert_eq!(
        (columns[1].priority, columns[1].description.as_str()),
        (1, "workload")
    );
    let default = resources[0]
        .printer_columns
        .as_ref()
        .expect("default columns");
    assert_eq!(
        (default[0].name.as_str(), default[0].type_.as_str()),
        ("Age", "date")
    );
    assert_eq!(default[0].json_path, ".metadata.creationTimestamp");
}

#[test]
fn crd_names_default_and_cluster_scope() {
    let mut crd = mk_crd();
    crd["spec"]["scope"] = json!("Cluster");
    crd["spec"]["names"]["singular"] = json!("sync");
    crd["spec"]["names"]["listKind"] = json!("Syncs");
    let resources = resources_from_crd(&crd).expect("valid CRD");
    assert!(!resources[0].namespaced);
    assert_eq!(
        (
            resources[0].singular.as_str(),
            resources[0].list_kind.as_str()
        ),
        ("sync", "Syncs")
    );
}

#[test]
fn invalid_crds_are_rejected_with_the_field_named() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("spec.group", Box::new(|c| c["spec"]["group"] = json!(""))),
        (
            "spec.names.kind",
            Box::new(|c| c["spec"]["names"]["kind"] = json!(3)),
        ),
        (
            "spec.names.plural",
            Box::new(|c| c["spec"]["names"]["plural"] = json!(null)),
        ),
        (
            "spec.scope",
            Box::new(|c| c["spec"]["scope"] = json!("Global")),
        ),
        (
            "spec.versions",
            Box::new(|c| c["spec"]["versions"] = json!([])),
        ),
        (
            "storage",
            Box::new(|c| c["spec"]["versions"][0]["storage"] = json!(true)),
        ),
        (
            "spec.versions[1].served",
            Box::new(|c| c["spec"]["versions"][1]["served"] = json!("yes")),
        ),
        (
            "spec.names.shortNames",
            Box::new(|c| c["spec"]["names"]["shortNames"] = json!("cs")),
        ),
        (
            "additionalPrinterColumns[0].jsonPath",
            Box::new(|c| {
                c["spec"]["versions"][1]["additionalPrinterColumns"][0] =
                    json!({"name": "A", "type": "string"})
            }),
        ),
        (
            "additionalPrinterColumns[1].type",
            Box::new(|c| {
                c["spec"]["versions"][1]["additionalPrinterColumns"][1]["type"] = json!("float")
            }),
        ),
        (
            "priority",
            Box::new(|c| {
                c["spec"]["versions"][1]["additionalPrinterColumns"][1]["priority"] = json!(-1)
            }),
        ),
    ];
    for (field, mutate) in cases {
        let mut crd = mk_crd();
        mutate(&mut crd);
        let err = resources_from_crd(&crd).expect_err(field).to_string();
        assert!(
            err.starts_with("invalid CustomResourceDefinition: "),
            "{err}"
        );
        assert!(err.contains(field), "{field}: {err}");
    }
    assert!(resources_from_crd(&json!("not an object")).is_err());
}

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
            "admissionregistration.k8s.io",
            "coordination.k8s.io",
            "apiextensions.k8s.io",
            "configsync.dev"
        ]
    );
    let custom = &list["groups"][5];
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
