//! `v1.PodTemplateSpec`, `v1.PodSpec` and containers (field numbers from `core/v1/generated.proto`).
//! Go embeds `LocalObjectReference` inline in key selectors and env sources, hence `#[serde(flatten)]`.
use super::json::{Quantity, required_i32, required_str, unset_bool, unset_i32, unset_str};
use super::meta::ObjectMeta;
use super::volume::{ObjectFieldSelector, ResourceFieldSelector, Volume};
use serde::Serialize;
use std::collections::BTreeMap;

/// `v1.LocalObjectReference`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct LocalObjectReference {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub name: Option<String>,
}

/// `v1.PodTemplateSpec`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct PodTemplateSpec {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
}

/// `v1.PodSpec`: the fields workloads created from the command line use.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[prost(message, repeated, tag = "1")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[prost(message, repeated, tag = "20")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    #[prost(message, repeated, tag = "2")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    #[prost(string, optional, tag = "3")]
    #[serde(skip_serializing_if = "unset_str")]
    pub restart_policy: Option<String>,
    #[prost(int64, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    #[prost(int64, optional, tag = "5")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    #[prost(string, optional, tag = "6")]
    #[serde(skip_serializing_if = "unset_str")]
    pub dns_policy: Option<String>,
    #[prost(btree_map = "string, string", tag = "7")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[prost(string, optional, tag = "8")]
    #[serde(skip_serializing_if = "unset_str")]
    pub service_account_name: Option<String>,
    #[prost(string, optional, tag = "9")]
    #[serde(skip_serializing_if = "unset_str")]
    pub service_account: Option<String>,
    #[prost(bool, optional, tag = "21")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    #[prost(string, optional, tag = "10")]
    #[serde(skip_serializing_if = "unset_str")]
    pub node_name: Option<String>,
    #[prost(bool, optional, tag = "11")]
    #[serde(skip_serializing_if = "unset_bool")]
    pub host_network: Option<bool>,
    #[prost(message, repeated, tag = "15")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[prost(string, optional, tag = "16")]
    #[serde(skip_serializing_if = "unset_str")]
    pub hostname: Option<String>,
    #[prost(string, optional, tag = "17")]
    #[serde(skip_serializing_if = "unset_str")]
    pub subdomain: Option<String>,
    #[prost(string, optional, tag = "19")]
    #[serde(skip_serializing_if = "unset_str")]
    pub scheduler_name: Option<String>,
    #[prost(string, optional, tag = "24")]
    #[serde(skip_serializing_if = "unset_str")]
    pub priority_class_name: Option<String>,
    #[prost(message, repeated, tag = "28")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readiness_gates: Vec<PodReadinessGate>,
    #[prost(bool, optional, tag = "30")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_service_links: Option<bool>,
}

/// `v1.PodReadinessGate`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodReadinessGate {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub condition_type: Option<String>,
}

/// `v1.Container` (probes, lifecycle and security context are not decoded).
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_str")]
    pub image: Option<String>,
    #[prost(string, repeated, tag = "3")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[prost(string, optional, tag = "5")]
    #[serde(skip_serializing_if = "unset_str")]
    pub working_dir: Option<String>,
    #[prost(message, repeated, tag = "6")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    #[prost(message, repeated, tag = "19")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    #[prost(message, repeated, tag = "7")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[prost(message, optional, tag = "8")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[prost(message, repeated, tag = "9")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    #[prost(string, optional, tag = "13")]
    #[serde(skip_serializing_if = "unset_str")]
    pub termination_message_path: Option<String>,
    #[prost(string, optional, tag = "20")]
    #[serde(skip_serializing_if = "unset_str")]
    pub termination_message_policy: Option<String>,
    #[prost(string, optional, tag = "14")]
    #[serde(skip_serializing_if = "unset_str")]
    pub image_pull_policy: Option<String>,
    #[prost(bool, optional, tag = "16")]
    #[serde(skip_serializing_if = "unset_bool")]
    pub stdin: Option<bool>,
    #[prost(bool, optional, tag = "17")]
    #[serde(skip_serializing_if = "unset_bool")]
    pub stdin_once: Option<bool>,
    #[prost(bool, optional, tag = "18")]
    #[serde(skip_serializing_if = "unset_bool")]
    pub tty: Option<bool>,
}

/// `v1.ContainerPort`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub name: Option<String>,
    #[prost(int32, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_i32")]
    pub host_port: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    #[serde(serialize_with = "required_i32")]
    pub container_port: Option<i32>,
    #[prost(string, optional, tag = "4")]
    #[serde(skip_serializing_if = "unset_str")]
    pub protocol: Option<String>,
    #[prost(string, optional, tag = "5")]
    #[serde(rename = "hostIP", skip_serializing_if = "unset_str")]
    pub host_ip: Option<String>,
}

/// `v1.EnvVar`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_str")]
    pub value: Option<String>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

/// `v1.EnvVarSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_field_ref: Option<ResourceFieldSelector>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeySelector>,
    #[prost(message, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeySelector>,
}

/// `v1.ConfigMapKeySelector` and `v1.SecretKeySelector`, which share their wire and JSON form.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct KeySelector {
    #[prost(message, optional, tag = "1")]
    #[serde(flatten)]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(string, optional, tag = "2")]
    #[serde(serialize_with = "required_str")]
    pub key: Option<String>,
    #[prost(bool, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `v1.EnvFromSource`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromSource {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub prefix: Option<String>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<EnvSource>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<EnvSource>,
}

/// `v1.ConfigMapEnvSource` and `v1.SecretEnvSource`, which share their wire and JSON form.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct EnvSource {
    #[prost(message, optional, tag = "1")]
    #[serde(flatten)]
    pub local_object_reference: Option<LocalObjectReference>,
    #[prost(bool, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `v1.ResourceRequirements` (always printed, as `{}` when empty, like Go).
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct ResourceRequirements {
    #[prost(btree_map = "string, message", tag = "1")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
    #[prost(btree_map = "string, message", tag = "2")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
}

/// `v1.VolumeMount`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    #[prost(string, optional, tag = "1")]
    #[serde(serialize_with = "required_str")]
    pub name: Option<String>,
    #[prost(bool, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_bool")]
    pub read_only: Option<bool>,
    #[prost(string, optional, tag = "3")]
    #[serde(serialize_with = "required_str")]
    pub mount_path: Option<String>,
    #[prost(string, optional, tag = "4")]
    #[serde(skip_serializing_if = "unset_str")]
    pub sub_path: Option<String>,
    #[prost(string, optional, tag = "5")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_propagation: Option<String>,
    #[prost(string, optional, tag = "6")]
    #[serde(skip_serializing_if = "unset_str")]
    pub sub_path_expr: Option<String>,
}
