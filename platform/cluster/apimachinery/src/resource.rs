//! The description of one served resource type: what discovery advertises and what the router dispatches on.

/// One served resource, e.g. `apps/v1 deployments`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: String,
    /// The served version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// List kind, e.g. `DeploymentList`.
    pub list_kind: String,
    /// Plural resource name used in URLs, e.g. `deployments`.
    pub plural: String,
    /// Singular name, e.g. `deployment`.
    pub singular: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names, e.g. `deploy`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `all`.
    pub categories: Vec<String>,
    /// Verbs advertised by discovery.
    pub verbs: Vec<String>,
    /// Whether a `status` subresource exists (then the main resource ignores status changes).
    pub has_status: bool,
    /// Whether a `scale` subresource exists.
    pub has_scale: bool,
    /// `additionalPrinterColumns` of a custom resource; `None` for built-in kinds, which have fixed printers.
    pub printer_columns: Option<Vec<PrinterColumn>>,
}

impl ResourceType {
    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// A custom resource printer column (`additionalPrinterColumns` in a CRD version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header, e.g. `READY`.
    pub name: String,
    /// OpenAPI type: `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: String,
    /// OpenAPI format, may be empty.
    pub format: String,
    /// Human description, may be empty.
    pub description: String,
    /// 0 for standard view; greater than 0 only in `-o wide`.
    pub priority: i32,
    /// Simple JSONPath into the object, e.g. `.status.conditions[?(@.type=="Ready")].status`.
    pub json_path: String,
}

/// What a Table row carries besides its cells (`includeObject` query parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// A `PartialObjectMetadata` (the server default).
    #[default]
    Metadata,
    /// The full object.
    Object,
}
