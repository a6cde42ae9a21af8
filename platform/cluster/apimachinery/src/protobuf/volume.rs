//! `v1.Volume` and its sources (field numbers from `core/v1/generated.proto`). Go inlines `VolumeSource` into
//! `Volume` and `LocalObjectReference` into the ConfigMap sources, hence `#[serde(flatten)]`.
use super::json::{Quantity, required_str, unset_bool, unset_str};
use super::pod::LocalObjectReference;
use serde::Serialize;

/// `v1.Volume`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct Volume {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub name: Option<String>,
    #[prost(message, optional, tag = "2")]
    #[serde(flatten)]
    pub volume_source: Option<VolumeSource>,
}

/// `v1.VolumeSource`: the kinds configsync and kubectl users mount.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSource {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
    #[prost(message, optional, tag = "6")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolumeSource>,
    #[prost(message, optional, tag = "10")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    #[prost(message, optional, tag = "16")]
    #[serde(rename = "downwardAPI", skip_serializing_if = "Option::is_none")]
    pub downward_api: Option<DownwardApiVolumeSource>,
    #[prost(message, optional, tag = "19")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapVolumeSource>,
    #[prost(message, optional, tag = "26")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected: Option<ProjectedVolumeSource>,
}

/// `v1.HostPathVolumeSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct HostPathVolumeSource {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub path: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

/// `v1.EmptyDirVolumeSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirVolumeSource {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub medium: Option<String>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
}

/// `v1.SecretVolumeSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolumeSource {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub secret_name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[prost(int32, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    #[prost(bool, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `v1.ConfigMapVolumeSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapVolumeSource {
    #[prost(message, optional, tag = "1")]
    #[serde(flatten)]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(message, repeated, tag = "2")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[prost(int32, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    #[prost(bool, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `v1.KeyToPath`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct KeyToPath {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(serialize_with = "required_str")]
    pub path: Option<String>,
    #[prost(int32, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
}

/// `v1.PersistentVolumeClaimVolumeSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaimVolumeSource {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub claim_name: Option<String>,
    #[prost(bool, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_bool")]
    pub read_only: Option<bool>,
}

/// `v1.DownwardAPIVolumeSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiVolumeSource {
    #[prost(message, repeated, tag = "1")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<DownwardApiVolumeFile>,
    #[prost(int32, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
}

/// `v1.DownwardAPIVolumeFile`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownwardApiVolumeFile {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub path: Option<String>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    #[prost(int32, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
}

/// `v1.ObjectFieldSelector`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectFieldSelector {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub api_version: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(serialize_with = "required_str")]
    pub field_path: Option<String>,
}

/// `v1.ResourceFieldSelector`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFieldSelector {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub container_name: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(serialize_with = "required_str")]
    pub resource: Option<String>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divisor: Option<Quantity>,
}

/// `v1.ProjectedVolumeSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectedVolumeSource {
    #[prost(message, repeated, tag = "1")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<VolumeProjection>,
    #[prost(int32, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
}

/// `v1.VolumeProjection`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeProjection {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectProjection>,
    #[prost(message, optional, tag = "2")]
    #[serde(rename = "downwardAPI", skip_serializing_if = "Option::is_none")]
    pub downward_api: Option<DownwardApiProjection>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ObjectProjection>,
    #[prost(message, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_token: Option<ServiceAccountTokenProjection>,
}

/// `v1.ConfigMapProjection` and `v1.SecretProjection`, which share their wire and JSON form.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct ObjectProjection {
    #[prost(message, optional, tag = "1")]
    #[serde(flatten)]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(message, repeated, tag = "2")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    #[prost(bool, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `v1.DownwardAPIProjection`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct DownwardApiProjection {
    #[prost(message, repeated, tag = "1")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<DownwardApiVolumeFile>,
}

/// `v1.ServiceAccountTokenProjection`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountTokenProjection {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub audience: Option<String>,
    #[prost(int64, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i64>,
    #[prost(string, optional, tag = "3")]
    #[serde(serialize_with = "required_str")]
    pub path: Option<String>,
}
