//! `k8s.io/apimachinery/pkg/apis/meta/v1` and `pkg/runtime` messages (field numbers from their `generated.proto`).
use super::json::{Time, required_str, unset_i64, unset_str, unset_time};
use serde::Serialize;
use std::collections::BTreeMap;

/// `runtime.Unknown`: the envelope after the `k8s\0` magic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Unknown {
    /// apiVersion and kind of `raw`.
    #[prost(message, optional, tag = "1")]
    pub type_meta: Option<TypeMeta>,
    /// The object's own message.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub raw: Option<Vec<u8>>,
    /// Encoding of `raw`; empty means none.
    #[prost(string, optional, tag = "3")]
    pub content_encoding: Option<String>,
    /// Serialization of `raw`; empty or protobuf.
    #[prost(string, optional, tag = "4")]
    pub content_type: Option<String>,
}

/// `runtime.TypeMeta` (note: apiVersion is field 1 here, unlike `metav1.TypeMeta`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeMeta {
    /// e.g. `apps/v1`.
    #[prost(string, optional, tag = "1")]
    pub api_version: Option<String>,
    /// e.g. `Deployment`.
    #[prost(string, optional, tag = "2")]
    pub kind: Option<String>,
}

/// `metav1.ObjectMeta`: the fields a client may send on create.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_str")]
    pub generate_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    #[serde(skip_serializing_if = "unset_str")]
    pub namespace: Option<String>,
    #[prost(string, optional, tag = "5")]
    #[serde(skip_serializing_if = "unset_str")]
    pub uid: Option<String>,
    #[prost(string, optional, tag = "6")]
    #[serde(skip_serializing_if = "unset_str")]
    pub resource_version: Option<String>,
    #[prost(int64, optional, tag = "7")]
    #[serde(skip_serializing_if = "unset_i64")]
    pub generation: Option<i64>,
    #[prost(message, optional, tag = "8")]
    #[serde(skip_serializing_if = "unset_time")]
    pub creation_timestamp: Option<Time>,
    #[prost(message, optional, tag = "9")]
    #[serde(skip_serializing_if = "unset_time")]
    pub deletion_timestamp: Option<Time>,
    #[prost(int64, optional, tag = "10")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    #[prost(btree_map = "string, string", tag = "11")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "12")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "13")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    #[prost(string, repeated, tag = "14")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// `metav1.OwnerReference`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    #[prost(string, optional, tag = "5")]
    #[serde(serialize_with = "required_str")]
    pub api_version: Option<String>,
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub kind: Option<String>,
    #[prost(string, optional, tag = "3")]
    #[serde(serialize_with = "required_str")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    #[serde(serialize_with = "required_str")]
    pub uid: Option<String>,
    #[prost(bool, optional, tag = "6")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// `metav1.LabelSelector`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[prost(btree_map = "string, string", tag = "1")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "2")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// `metav1.LabelSelectorRequirement`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(serialize_with = "required_str")]
    pub operator: Option<String>,
    #[prost(string, repeated, tag = "3")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// `metav1.DeleteOptions` (typed clients send it as the body of a DELETE).
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    #[prost(int64, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
    #[prost(bool, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orphan_dependents: Option<bool>,
    #[prost(string, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<String>,
    #[prost(string, repeated, tag = "5")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dry_run: Vec<String>,
}

/// `metav1.Preconditions`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}
