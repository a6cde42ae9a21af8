//! `k8s.io/api/core/v1` objects that `kubectl create` sends (field numbers from `core/v1/generated.proto`).
use super::json::{
    IgnoredStatus, IntOrString, base64_map, required_i32, unset_bool, unset_i32, unset_str,
};
use super::meta::ObjectMeta;
use super::pod::{LocalObjectReference, PodSpec};
use serde::Serialize;
use std::collections::BTreeMap;

/// `v1.ConfigMap`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[prost(bool, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    #[prost(btree_map = "string, string", tag = "2")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    #[prost(btree_map = "string, bytes", tag = "3")]
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "base64_map"
    )]
    pub binary_data: BTreeMap<String, Vec<u8>>,
}

/// `v1.Secret`: `data` values are bytes on the wire and base64 in JSON.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[prost(bool, optional, tag = "5")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    #[prost(btree_map = "string, bytes", tag = "2")]
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "base64_map"
    )]
    pub data: BTreeMap<String, Vec<u8>>,
    #[prost(btree_map = "string, string", tag = "4")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    #[prost(string, optional, tag = "3")]
    #[serde(rename = "type", skip_serializing_if = "unset_str")]
    pub r#type: Option<String>,
}

/// `v1.Namespace`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct Namespace {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<NamespaceSpec>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<NamespaceStatus>,
}

/// `v1.NamespaceSpec`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct NamespaceSpec {
    #[prost(string, repeated, tag = "1")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// `v1.NamespaceStatus` (phase only; conditions are server-owned).
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct NamespaceStatus {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub phase: Option<String>,
}

/// `v1.ServiceAccount`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, repeated, tag = "2")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<ObjectReference>,
    #[prost(message, repeated, tag = "3")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[prost(bool, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
}

/// `v1.ObjectReference`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub kind: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_str")]
    pub namespace: Option<String>,
    #[prost(string, optional, tag = "3")]
    #[serde(skip_serializing_if = "unset_str")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    #[serde(skip_serializing_if = "unset_str")]
    pub uid: Option<String>,
    #[prost(string, optional, tag = "5")]
    #[serde(skip_serializing_if = "unset_str")]
    pub api_version: Option<String>,
    #[prost(string, optional, tag = "6")]
    #[serde(skip_serializing_if = "unset_str")]
    pub resource_version: Option<String>,
    #[prost(string, optional, tag = "7")]
    #[serde(skip_serializing_if = "unset_str")]
    pub field_path: Option<String>,
}

/// `v1.Pod` (`kubectl run`); status is server-owned.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct Pod {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<IgnoredStatus>,
}

/// `v1.Service`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct Service {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    #[prost(message, optional, tag = "2")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<ServiceSpec>,
    #[prost(message, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ServiceStatus>,
}

/// `v1.ServiceStatus`: server-owned; only the always-present `loadBalancer` object is kept, as `{}`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<IgnoredStatus>,
}

/// `v1.ServiceSpec`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[prost(message, repeated, tag = "1")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    #[prost(btree_map = "string, string", tag = "2")]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    #[prost(string, optional, tag = "3")]
    #[serde(rename = "clusterIP", skip_serializing_if = "unset_str")]
    pub cluster_ip: Option<String>,
    #[prost(string, repeated, tag = "18")]
    #[serde(rename = "clusterIPs", skip_serializing_if = "Vec::is_empty")]
    pub cluster_ips: Vec<String>,
    #[prost(string, optional, tag = "4")]
    #[serde(rename = "type", skip_serializing_if = "unset_str")]
    pub r#type: Option<String>,
    #[prost(string, repeated, tag = "5")]
    #[serde(rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    pub external_ips: Vec<String>,
    #[prost(string, optional, tag = "7")]
    #[serde(skip_serializing_if = "unset_str")]
    pub session_affinity: Option<String>,
    #[prost(string, optional, tag = "8")]
    #[serde(rename = "loadBalancerIP", skip_serializing_if = "unset_str")]
    pub load_balancer_ip: Option<String>,
    #[prost(string, optional, tag = "10")]
    #[serde(skip_serializing_if = "unset_str")]
    pub external_name: Option<String>,
    #[prost(string, optional, tag = "11")]
    #[serde(skip_serializing_if = "unset_str")]
    pub external_traffic_policy: Option<String>,
    #[prost(bool, optional, tag = "13")]
    #[serde(skip_serializing_if = "unset_bool")]
    pub publish_not_ready_addresses: Option<bool>,
    #[prost(string, optional, tag = "17")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_family_policy: Option<String>,
    #[prost(string, repeated, tag = "19")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip_families: Vec<String>,
    #[prost(string, optional, tag = "22")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_traffic_policy: Option<String>,
}

/// `v1.ServicePort`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    #[prost(string, optional, tag = "1")]
    #[serde(skip_serializing_if = "unset_str")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(skip_serializing_if = "unset_str")]
    pub protocol: Option<String>,
    #[prost(string, optional, tag = "6")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    #[prost(int32, optional, tag = "3")]
    #[serde(serialize_with = "required_i32")]
    pub port: Option<i32>,
    #[prost(message, optional, tag = "4")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    #[prost(int32, optional, tag = "5")]
    #[serde(skip_serializing_if = "unset_i32")]
    pub node_port: Option<i32>,
}
