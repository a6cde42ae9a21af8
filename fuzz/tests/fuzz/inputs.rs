//! Structure-aware inputs per target: sealed-object headers, key ring documents, protobuf envelopes,
//! selector and request grammars, patches, CRDs and annotations.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use configsync_envelope::seal;
use configsync_fuzz::targets::{AAD, fixed_ring};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::json::{k8s_object, object, pair, pointer, value};

/// Arbitrary bytes, mostly short, sometimes up to 4 KiB.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => prop::collection::vec(any::<u8>(), 0..64), 1 => prop::collection::vec(any::<u8>(), 0..4096)]
}

/// Plaintexts up to 16 KiB (a 64-case batch of 64 KiB seals overran the budget in debug builds): a random pattern repeated to a random length (cheap to generate).
pub fn plaintext() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(any::<u8>(), 1..64), 0usize..16_384)
        .prop_map(|(pattern, len)| pattern.iter().copied().cycle().take(len).collect())
}

/// Tokens joined without separators.
fn tokens(vocabulary: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![8 => prop::sample::select(vocabulary).prop_map(str::to_owned), 1 => "\\PC{0,4}"], 0..max)
        .prop_map(|parts| parts.concat().into_bytes())
}

/// Sealed-looking objects: a well-formed header with random fields, or a real seal mutated.
pub fn sealed() -> impl Strategy<Value = Vec<u8>> {
    let key_id = prop_oneof![
        Just("key-1".to_owned()),
        Just("key-2".to_owned()),
        "[a-z0-9._/-]{0,12}"
    ];
    let header = (
        key_id,
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..120),
        any::<bool>(),
    )
        .prop_map(|(id, version_noise, rest, exact_len)| {
            let mut out = b"csen".to_vec();
            out.push(if version_noise < 240 {
                1
            } else {
                version_noise
            });
            let len = if exact_len {
                id.len()
            } else {
                usize::from(version_noise)
            };
            out.push(u8::try_from(len).unwrap_or(u8::MAX));
            out.extend_from_slice(id.as_bytes());
            out.extend(rest);
            out
        });
    let mutated = (
        prop::collection::vec(any::<u8>(), 0..64),
        any::<usize>(),
        0u8..4,
    )
        .prop_map(|(plain, at, how)| {
            let mut sealed = seal(fixed_ring(), &AAD, &plain).unwrap_or_default();
            let at = at % sealed.len().max(1);
            match how {
                0 => sealed.truncate(at),
                1 => sealed.push(0),
                2 => {}
                _ => {
                    if let Some(byte) = sealed.get_mut(at) {
                        *byte ^= 0x80;
                    }
                }
            }
            sealed
        });
    prop_oneof![header, mutated]
}

/// Key ring documents: valid, wrong versions, bad ids, keys of the wrong length, secrets that are not base64.
pub fn keyring() -> impl Strategy<Value = Vec<u8>> {
    let secret = prop_oneof![
        prop::collection::vec(any::<u8>(), 32).prop_map(|k| json!(STANDARD.encode(k))),
        prop::collection::vec(any::<u8>(), 0..48).prop_map(|k| json!(STANDARD.encode(k))),
        "[A-Za-z0-9+/=!]{16,48}".prop_map(Value::String),
        value(),
    ];
    let id = prop_oneof![
        Just("key-1".to_owned()),
        Just("key-2".to_owned()),
        "\\PC{0,6}"
    ];
    let entry = (id.clone(), secret).prop_map(|(id, secret)| json!({"id": id, "secret": secret}));
    let version = prop_oneof![4 => Just(json!(1)), 1 => value()];
    (
        version,
        id,
        prop::collection::vec(entry, 0..4),
        any::<bool>(),
    )
        .prop_map(|(version, primary, keys, extra)| {
            let mut doc = json!({"version": version, "primary": primary, "keys": keys});
            if extra {
                doc["unexpected"] = json!(true);
            }
            serde_json::to_vec(&doc).unwrap_or_default()
        })
}

/// One protobuf field of a random message.
#[derive(Clone, Debug)]
enum Field {
    Varint(u32, u64),
    Bytes(u32, Vec<u8>),
    Fixed64(u32, u64),
    Fixed32(u32, u32),
}

fn encode_fields(fields: &[Field]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in fields {
        match field {
            Field::Varint(n, v) => {
                varint(&mut out, u64::from(*n) << 3);
                varint(&mut out, *v);
            }
            Field::Bytes(n, bytes) => {
                varint(&mut out, u64::from(*n) << 3 | 2);
                varint(&mut out, bytes.len() as u64);
                out.extend_from_slice(bytes);
            }
            Field::Fixed64(n, v) => {
                varint(&mut out, u64::from(*n) << 3 | 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Field::Fixed32(n, v) => {
                varint(&mut out, u64::from(*n) << 3 | 5);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A random protobuf message: fields 1..=16 of every wire type, nested messages and UTF-8 or binary strings.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let number = 1u32..17;
    let scalar = prop_oneof![
        (number.clone(), any::<u64>()).prop_map(|(n, v)| Field::Varint(n, v)),
        (
            number.clone(),
            prop_oneof![
                "\\PC{0,10}".prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..10)
            ]
        )
            .prop_map(|(n, b)| Field::Bytes(n, b)),
        (number.clone(), any::<u64>()).prop_map(|(n, v)| Field::Fixed64(n, v)),
        (number.clone(), any::<u32>()).prop_map(|(n, v)| Field::Fixed32(n, v)),
    ];
    let leaf = prop::collection::vec(scalar, 0..6).prop_map(|f| encode_fields(&f));
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop::collection::vec((number.clone(), inner), 0..5).prop_map(|nested| {
            encode_fields(
                &nested
                    .into_iter()
                    .map(|(n, m)| Field::Bytes(n, m))
                    .collect::<Vec<_>>(),
            )
        })
    })
}

/// `k8s\0` envelopes of every decodable kind (and a few others) around random messages.
pub fn protobuf() -> impl Strategy<Value = Vec<u8>> {
    const TYPES: &[(&str, &str)] = &[
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Namespace"),
        ("v1", "ServiceAccount"),
        ("v1", "Service"),
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("v1", "DeleteOptions"),
        ("apps/v1", "StatefulSet"),
        ("", ""),
    ];
    (prop::sample::select(TYPES), message()).prop_map(|((api_version, kind), raw)| {
        configsync_apimachinery::protobuf::encode_envelope(api_version, kind, raw)
    })
}

/// Label selector text from its grammar's tokens.
pub fn label_selector() -> impl Strategy<Value = Vec<u8>> {
    const TOKENS: &[&str] = &[
        "app",
        "tier",
        "a.b/c",
        "example.com/key",
        "-bad",
        "=",
        "==",
        "!=",
        "!",
        " in ",
        " notin ",
        "(",
        ")",
        ",",
        " ",
        "web",
        "a b",
        "\\",
        "é",
        ">",
        "<",
        "1",
        "exists",
        "_x",
        "x/",
        "/y",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ];
    tokens(TOKENS, 12)
}

/// Field selector text from its grammar's tokens.
pub fn field_selector() -> impl Strategy<Value = Vec<u8>> {
    const TOKENS: &[&str] = &[
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "status.phase",
        "involvedObject.kind",
        "=",
        "==",
        "!=",
        ",",
        "\\,",
        "\\=",
        "\\\\",
        "\\",
        "web",
        ".",
        "x",
        " ",
        "!",
    ];
    tokens(TOKENS, 10)
}

/// `object \0 patch` for the JSON patch: an object and a list of operations.
pub fn json_patch() -> impl Strategy<Value = Vec<u8>> {
    let op =
        prop::sample::select(&["add", "remove", "replace", "move", "copy", "test", "bogus"][..]);
    let operation = (op, pointer(), pointer(), value(), any::<bool>()).prop_map(
        |(op, path, from, value, with_value)| {
            let mut operation = json!({"op": op, "path": path, "from": from});
            if with_value {
                operation["value"] = value;
            }
            operation
        },
    );
    (k8s_object(), prop::collection::vec(operation, 0..5))
        .prop_map(|(object, ops)| pair(&object, &json!(ops)))
}

/// `object \0 patch` where the patch is an object (merge, strategic merge and apply).
pub fn object_pair() -> impl Strategy<Value = Vec<u8>> {
    let patch = prop_oneof![3 => k8s_object(), 2 => object(), 1 => value()];
    (k8s_object(), patch).prop_map(|(object, patch)| pair(&object, &patch))
}

/// A JSON object as bytes.
pub fn json_object() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => k8s_object(), 1 => object()]
        .prop_map(|o| serde_json::to_vec(&o).unwrap_or_default())
}

/// JSONPath-looking printer column paths.
fn json_path() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        ".",
        "spec",
        "status",
        "metadata",
        "name",
        "[",
        "]",
        "?",
        "(@.type==\"Ready\")",
        "*",
        "0",
        "-1",
        "{",
        "}",
        "..",
        "'",
        "\"",
        "range",
        "end",
        "$",
        "@",
        "\\",
        ":",
        "replicas",
        "conditions",
        "[?(@.status=='True')]",
    ];
    tokens(TOKENS, 10).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// CustomResourceDefinitions with random names, versions and printer columns.
pub fn crd() -> impl Strategy<Value = Vec<u8>> {
    let column = (json_path(), prop::sample::select(&["integer", "string", "date", "boolean", "number", "bogus"][..]), -1i32..3, "[A-Za-z ]{0,8}")
        .prop_map(|(path, type_, priority, name)| json!({"name": name, "type": type_, "jsonPath": path, "priority": priority}));
    let version = ("v[0-9a-z]{0,4}", any::<bool>(), any::<bool>(), prop::collection::vec(column, 0..4), any::<bool>())
        .prop_map(|(name, served, storage, columns, status)| {
            let subresources = if status { json!({"status": {}, "scale": {"specReplicasPath": ".spec.replicas"}}) } else { json!({}) };
            json!({"name": name, "served": served, "storage": storage, "additionalPrinterColumns": columns, "subresources": subresources})
        });
    let names = ("[a-z]{0,8}", "[A-Za-z]{0,8}").prop_map(|(plural, kind)| json!({"plural": plural, "kind": kind, "singular": "", "shortNames": ["x"]}));
    let hole = prop::option::weighted(
        0.2,
        (
            prop::sample::select(&["group", "names", "scope", "versions"][..]),
            value(),
        ),
    );
    ("[a-z.]{0,12}", names, prop::collection::vec(version, 0..3), prop::sample::select(&["Namespaced", "Cluster", "x"][..]), hole)
        .prop_map(|(group, names, versions, scope, hole)| {
            let mut spec = json!({"group": group, "names": names, "scope": scope, "versions": versions});
            if let Some((key, value)) = hole {
                spec[key] = value;
            }
            let name = format!("{}.{}", names_plural(&spec), group);
            let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                             "metadata": {"name": name, "creationTimestamp": "2026-11-27T00:00:00Z"}, "spec": spec,
                             "status": {"replicas": 3, "conditions": [{"type": "Ready", "status": "True"}]}});
            serde_json::to_vec(&crd).unwrap_or_default()
        })
}

fn names_plural(spec: &Value) -> String {
    spec.pointer("/names/plural")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `path?query \0 body` requests.
pub fn request() -> impl Strategy<Value = Vec<u8>> {
    const SEGMENTS: &[&str] = &[
        "api",
        "apis",
        "v1",
        "apps",
        "watch",
        "namespaces",
        "default",
        "pods",
        "deployments",
        "status",
        "scale",
        "finalize",
        "configsync.dev",
        "faults",
        "close-watches",
        "",
        "..",
        "%2F",
        "x",
        "version",
        "healthz",
        "openapi",
    ];
    const PARAMS: &[&str] = &[
        "limit",
        "continue",
        "watch",
        "labelSelector",
        "fieldSelector",
        "timeoutSeconds",
        "resourceVersion",
        "allowWatchBookmarks",
        "fieldManager",
        "force",
        "dryRun",
        "gracePeriodSeconds",
    ];
    const VALUES: &[&str] = &[
        "1",
        "0",
        "-1",
        "99999999999999999999",
        "abc",
        "%ZZ",
        "%00",
        "true",
        "",
        "a%3Db",
        "+",
    ];
    const YAML: &[&str] = &[
        "a: &a [1, 2]\nb: *a\n",
        "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]",
        "!!binary aGk=",
        "? [a]\n: b\n",
        "a: b\n---\nc: d\n",
        "key: 'unterminated",
        "- *undefined",
        "a: !!int x",
        "{a: 1, a: 2}",
        "\t- x",
        "a: 1e999",
        "%YAML 1.2\n---\nx: 1",
    ];
    let path = prop::collection::vec(prop::sample::select(SEGMENTS), 0..8)
        .prop_map(|s| format!("/{}", s.join("/")));
    let query = prop::collection::vec(
        (prop::sample::select(PARAMS), prop::sample::select(VALUES)),
        0..4,
    )
    .prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    let body = prop_oneof![
        value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        prop::collection::vec(prop::sample::select(YAML), 0..3)
            .prop_map(|parts| parts.concat().into_bytes()),
    ];
    (path, query, body).prop_map(|(path, query, body)| {
        let mut bytes = format!("{path}?{query}").into_bytes();
        bytes.push(0);
        bytes.extend(body);
        bytes
    })
}

/// `key=value` annotation lines over the keys the operator reads.
pub fn annotations() -> impl Strategy<Value = Vec<u8>> {
    const KEYS: &[&str] = &[
        "configsync.dev/auto",
        "configsync.dev/configmaps",
        "configsync.dev/secrets",
        "configsync.dev/exclude-configmaps",
        "configsync.dev/exclude-secrets",
        "configsync.dev/ignore",
        "configsync.dev/debounce",
        "configsync.dev/strategy",
        "reloader.stakater.com/auto",
        "configmap.reloader.stakater.com/auto",
        "secret.reloader.stakater.com/auto",
        "configmap.reloader.stakater.com/reload",
        "secret.reloader.stakater.com/reload",
        "configmaps.exclude.reloader.stakater.com/reload",
        "secrets.exclude.reloader.stakater.com/reload",
        "reloader.stakater.com/ignore",
        "wave.pusher.com/update-on-config-change",
        "wave.pusher.com/extra-configmaps",
        "wave.pusher.com/extra-secrets",
        "other.example.com/x",
    ];
    const VALUES: &[&str] = &[
        "true",
        "false",
        "TRUE",
        " true ",
        "yes",
        "",
        "a,b, c",
        "Bad_Name",
        "-x",
        "a..b",
        "500ms",
        "5s,1s",
        "1m30s",
        "1e400s",
        "-5s",
        "5s,",
        "5s,10s,20s",
        "restart",
        "reload",
        "none",
        "Restart",
        "ünïcode",
        "9999999999999999999h",
        "0s",
        ",",
        "1.5h",
        "1h1h",
    ];
    let value = prop_oneof![
        6 => prop::sample::select(VALUES).prop_map(str::to_owned),
        1 => "\\PC{0,20}",
        1 => (prop::sample::select(&["x", "ü", "😀", "a,"][..]), 60usize..80).prop_map(|(s, n)| s.repeat(n)),
    ];
    prop::collection::vec((prop::sample::select(KEYS), value), 0..8).prop_map(|lines| {
        lines
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    })
}

/// `flags, key \0 value \0 ...` for the env-file renderer: shell-special names and values full of quotes.
pub fn env_vars() -> impl Strategy<Value = Vec<u8>> {
    const KEYS: &[&str] = &[
        "OPTIND",
        "UID",
        "PATH",
        "HOME",
        "IFS",
        "PS1",
        "PS4",
        "ENV",
        "LANG",
        "db.host",
        "9lives",
        "é-x",
        "log-level",
        "",
        "a b",
        "APP_X",
        "x'y",
        "LOG_LEVEL",
        "-",
        "$x",
        "`id`",
    ];
    const VALUES: &[&str] = &[
        "", "'", "''", "'\\''", "\"", "$HOME", "$(id)", "`id`", "\\", "\\n", "\n", "\r\n", "a\nb",
        " ", "\t", "é😀", "#", ";", "&&", "|", "*", "~", "!", "${x:-y}", "=", "x=y",
    ];
    let key =
        prop_oneof![4 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => "\\PC{0,8}"];
    let value = prop_oneof![
        4 => prop::collection::vec(prop::sample::select(VALUES), 0..4).prop_map(|v| v.concat().into_bytes()),
        2 => "\\PC{0,16}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ];
    (any::<u8>(), prop::collection::vec((key, value), 1..6)).prop_map(|(flags, vars)| {
        let mut out = vec![flags];
        for (key, value) in vars {
            out.extend(key.into_bytes());
            out.push(0);
            out.extend(value.into_iter().filter(|&b| b != 0));
            out.push(0);
        }
        out
    })
}

/// Projected paths from the elements the validation rules are about.
pub fn paths() -> impl Strategy<Value = Vec<u8>> {
    const TOKENS: &[&str] = &[
        "a",
        "..",
        ".",
        "/",
        "..data",
        "...",
        "a..b",
        "\0",
        "é",
        " ",
        "\\",
        "~",
        "//",
        "config.yaml",
        "..2026_11_27",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ];
    tokens(TOKENS, 12)
}

/// AdmissionReview bodies for pods carrying the injection annotations with good and bad values.
pub fn admission_review() -> impl Strategy<Value = Vec<u8>> {
    const KEYS: &[&str] = &[
        "configsync.dev/inject",
        "configsync.dev/injected",
        "configsync.dev/inject-configmaps",
        "configsync.dev/inject-secrets",
        "configsync.dev/inject-selector",
        "configsync.dev/inject-mount-path",
        "configsync.dev/inject-containers",
        "configsync.dev/inject-mode",
        "configsync.dev/inject-reload-signal",
        "configsync.dev/inject-process-name",
        "configsync.dev/inject-reload-url",
        "configsync.dev/auto",
    ];
    const VALUES: &[&str] = &[
        "true",
        "false",
        "enabled",
        "web-config",
        "a,b",
        "Bad_Name",
        "app=web",
        "!!!",
        "/etc/config",
        "relative",
        "/",
        "app",
        "nope",
        "exec",
        "sidecar",
        "HUP",
        "SIGUSR1",
        "SIGFOO",
        "99",
        "http://127.0.0.1:9090/-/reload",
        "ftp://x",
        "",
        "x/../y",
    ];
    let annotations = prop::collection::btree_map(
        prop::sample::select(KEYS),
        prop_oneof![4 => prop::sample::select(VALUES).prop_map(str::to_owned), 1 => "\\PC{0,12}"],
        0..6,
    );
    let base = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default",
                      "labels": {"app": "web"}},
                      "spec": {"containers": [{"name": "app", "image": "nginx", "env": [{"name": "A", "value": "1"}]}]}});
    let object = prop_oneof![3 => Just(base), 1 => k8s_object()];
    let pod = (object, annotations, any::<bool>()).prop_map(|(mut pod, annotations, opt_in)| {
        if pod.get("metadata").is_some_and(Value::is_object) {
            pod["metadata"]["annotations"] = json!(annotations);
            if opt_in {
                pod["metadata"]["annotations"]["configsync.dev/inject"] = json!("true");
                pod["metadata"]["annotations"]["configsync.dev/inject-configmaps"] =
                    json!("web-config");
            }
        }
        pod
    });
    let operation = prop::sample::select(&["CREATE", "UPDATE", "DELETE", "CONNECT", "bogus"][..]);
    let hole = prop::option::weighted(
        0.2,
        (
            prop::sample::select(&["uid", "kind", "object", "namespace"][..]),
            value(),
        ),
    );
    (pod, operation, hole).prop_map(|(pod, operation, hole)| {
        let mut request = json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "default", "operation": operation, "userInfo": {"username": "admin"},
            "object": pod, "dryRun": false,
        });
        if let Some((key, value)) = hole {
            request[key] = value;
        }
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
        serde_json::to_vec(&review).unwrap_or_default()
    })
}
