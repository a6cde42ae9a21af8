//! CRD → resource types, invalid CRDs, and CRD status.
use super::*;

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
fn crd_status_accepts_names_and_establishes() {
    let mut crd = mk_crd();
    let status = crd_status(&crd, "2025-01-01T00:00:00Z").expect("valid CRD");
    assert_eq!(
        status,
        json!({
            "acceptedNames": {"plural": "configsyncs", "singular": "configsync", "kind": "ConfigSync",
                              "listKind": "ConfigSyncList", "shortNames": ["cs"], "categories": ["all"]},
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found",
                 "lastTransitionTime": "2025-01-01T00:00:00Z"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": "2025-01-01T00:00:00Z"}
            ],
            "storedVersions": ["v1"]
        })
    );
    crd["status"] = status;
    crd["status"]["storedVersions"] = json!(["v1alpha1"]);
    let later = crd_status(&crd, "2025-02-02T00:00:00Z").expect("valid CRD");
    assert_eq!(later["storedVersions"], json!(["v1alpha1", "v1"]));
    assert_eq!(
        later["conditions"][1]["lastTransitionTime"],
        "2025-01-01T00:00:00Z"
    );
    crd["spec"]["versions"][1]["storage"] = json!(false);
    assert!(crd_status(&crd, "2025-01-01T00:00:00Z").is_err());
}
