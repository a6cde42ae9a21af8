//! CustomResourceDefinition validation.
use super::*;

fn mk_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "configsyncs.configsync.dev"},
        "spec": {
            "group": "configsync.dev", "scope": "Namespaced",
            "names": {"plural": "configsyncs", "kind": "ConfigSync", "shortNames": ["cs"], "categories": ["all"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object"}},
                          "additionalPrinterColumns": [{"name": "Ready", "type": "string", "jsonPath": ".status.ready"}]}]
        }
    })
}

fn crd_causes(object: &Value) -> Vec<(String, String, String)> {
    let object = defaulted(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        object.clone(),
    );
    causes(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        &object,
        None,
    )
}

#[test]
fn valid_crd_passes() {
    assert_eq!(crd_causes(&mk_crd()), []);
}

#[test]
fn crd_name_group_and_scope() {
    let mut crd = mk_crd();
    crd["metadata"]["name"] = json!("syncs.configsync.dev");
    crd["spec"]["scope"] = json!("Global");
    assert_eq!(
        crd_causes(&crd),
        [
            cause(
                "FieldValueInvalid",
                "metadata.name",
                "Invalid value: \"syncs.configsync.dev\": must be spec.names.plural+\".\"+spec.group"
            ),
            cause(
                "FieldValueNotSupported",
                "spec.scope",
                "Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""
            ),
        ]
    );
    let mut crd = mk_crd();
    crd["metadata"]["name"] = json!("configsyncs.local");
    crd["spec"]["group"] = json!("local");
    assert_eq!(
        crd_causes(&crd),
        [cause(
            "FieldValueInvalid",
            "spec.group",
            "Invalid value: \"local\": should be a domain with at least one dot"
        )]
    );
}

#[test]
fn crd_names_are_checked() {
    let mut crd = mk_crd();
    crd["spec"]["names"] = json!({"plural": "configsyncs", "kind": "Config_Sync", "listKind": "Config_Sync",
                                  "shortNames": ["CS"]});
    let fields: Vec<String> = crd_causes(&crd).into_iter().map(|c| c.1).collect();
    assert_eq!(
        fields,
        [
            "spec.names.singular",
            "spec.names.kind",
            "spec.names.listKind",
            "spec.names.listKind",
            "spec.names.shortNames[0]"
        ]
    );
    let mut crd = mk_crd();
    crd["spec"]["names"]["kind"] = json!("Config_Sync");
    let found = crd_causes(&crd);
    let kind = found
        .iter()
        .find(|c| c.1 == "spec.names.kind")
        .expect("kind cause");
    assert!(kind.2.starts_with("Invalid value: \"Config_Sync\": may have mixed case, but should otherwise match: a DNS-1035 label"));
}

#[test]
fn crd_versions_need_one_storage_version_schema_and_valid_columns() {
    let mut crd = mk_crd();
    crd["spec"]["versions"] = json!([]);
    let found = crd_causes(&crd);
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .2
            .ends_with("must have exactly one version marked as storage version")
    );
    let mut crd = mk_crd();
    crd["spec"]["versions"] = json!([{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "string"}},
        "additionalPrinterColumns": [{"name": "A", "type": "float", "jsonPath": ".a", "priority": -1}, {}]},
        {"name": "v2", "served": true, "storage": false}]);
    let summary: Vec<(String, String)> = crd_causes(&crd).into_iter().map(|c| (c.1, c.2)).collect();
    let expected = [
        (
            "spec.versions[0].schema.openAPIV3Schema.type",
            "Invalid value: \"string\": must be object at the root",
        ),
        (
            "spec.versions[0].additionalPrinterColumns[0].type",
            "Unsupported value: \"float\": supported values: \"boolean\", \"date\", \"integer\", \"number\", \"string\"",
        ),
        (
            "spec.versions[0].additionalPrinterColumns[0].priority",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "spec.versions[0].additionalPrinterColumns[1].name",
            "Required value",
        ),
        (
            "spec.versions[0].additionalPrinterColumns[1].type",
            "Required value",
        ),
        (
            "spec.versions[0].additionalPrinterColumns[1].jsonPath",
            "Required value",
        ),
        (
            "spec.versions[1].schema.openAPIV3Schema",
            "Required value: schemas are required",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(f, m)| ((*f).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(summary, expected);
}
