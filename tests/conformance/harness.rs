//! The machinery of the differential conformance suite: a backend (its server, token and CA, from a
//! kubeconfig), raw requests sent with curl, and the masking of volatile fields before two answers are compared.
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One API server to send requests to.
pub struct Target {
    pub name: &'static str,
    pub kubeconfig: PathBuf,
    server: String,
    token: Option<String>,
    ca: Option<String>,
}

impl Target {
    /// The server, bearer token and CA file the current context of `kubeconfig` names.
    pub fn from_kubeconfig(name: &'static str, kubeconfig: &Path) -> Target {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["config", "view", "--raw", "--minify", "-o", "json"])
            .output()
            .expect("run kubectl config view");
        let config: Value = serde_json::from_slice(&out.stdout).expect("kubectl prints JSON");
        let cluster = &config["clusters"][0]["cluster"];
        let user = &config["users"][0]["user"];
        Target {
            name,
            kubeconfig: kubeconfig.to_owned(),
            server: cluster["server"].as_str().expect("a server").to_owned(),
            token: user["token"].as_str().map(str::to_owned),
            ca: cluster["certificate-authority"].as_str().map(str::to_owned),
        }
    }

    /// Send one request; the status code and the body (JSON when it parses, a JSON string otherwise; a
    /// watch stream becomes an array of its events).
    pub fn send(&self, req: &Request) -> (u16, Value) {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", &req.method]);
        curl.args(["--max-time", "10"]);
        if let Some(ca) = &self.ca {
            curl.args(["--cacert", ca]);
        }
        if let Some(token) = &self.token {
            curl.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        curl.args(["-H", &format!("Accept: {}", req.accept)]);
        if let Some(body) = &req.body {
            curl.args(["-H", &format!("Content-Type: {}", req.content_type)]);
            curl.args(["--data-binary", body]);
        }
        curl.arg(format!("{}{}", self.server, req.path));
        curl.stderr(Stdio::piped());
        let out = curl.output().expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        let code: u16 = code.trim().parse().unwrap_or(0);
        (code, parse_body(body))
    }
}

/// A request, already expanded for one backend.
pub struct Request {
    pub method: String,
    pub path: String,
    pub accept: String,
    pub content_type: String,
    pub body: Option<String>,
}

/// JSON, a stream of JSON values (watch), or the text itself.
pub fn parse_body(body: &str) -> Value {
    if body.trim().is_empty() {
        return Value::Null;
    }
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return value;
    }
    let stream: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(body)
        .into_iter::<Value>()
        .collect();
    match stream {
        Ok(events) => Value::Array(events),
        Err(_) => Value::String(body.to_owned()),
    }
}

/// Fields whose values differ between any two servers (or any two runs) and are replaced by a placeholder.
const VOLATILE: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "time",
    "selfLink",
    "continue",
    "lastTransitionTime",
    "lastUpdateTime",
    "lastProbeTime",
    "startTime",
    "eventTime",
    "firstTimestamp",
    "lastTimestamp",
];

/// Replace volatile values in `value` (recursively) so two servers' answers compare.
pub fn mask(value: &mut Value, namespace: &str) {
    match value {
        Value::Object(map) => {
            let generated = map.contains_key("generateName");
            for (key, field) in map.iter_mut() {
                let volatile = VOLATILE.contains(&key.as_str()) || (generated && key == "name");
                if volatile && !field.is_null() && field.as_str() != Some("") {
                    *field = Value::String(format!("<{key}>"));
                } else {
                    mask(field, namespace);
                }
            }
            mask_table(map);
            drop_controller_fields(map);
        }
        Value::Array(items) => {
            items.retain(|item| !is_periodic_bookmark(item));
            items.iter_mut().for_each(|item| mask(item, namespace));
        }
        Value::String(text) => *text = mask_text(text, namespace),
        _ => {}
    }
}

/// The managedFields entries of controllers (kube-controller-manager or the embedded ones), which race the
/// test's own requests on both backends.
fn drop_controller_fields(map: &mut serde_json::Map<String, Value>) {
    if let Some(Value::Array(entries)) = map.get_mut("managedFields") {
        entries.retain(|entry| {
            let manager = entry["manager"].as_str().unwrap_or_default();
            !manager.contains("controller")
        });
        // Servers order entries by time (whole seconds) first, so their order depends on the clock.
        entries.sort_by_key(|entry| {
            let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
            (text("manager"), text("operation"), text("subresource"))
        });
    }
}

/// A BOOKMARK without the initial-events-end annotation: sent on a timer, so its presence is timing.
fn is_periodic_bookmark(event: &Value) -> bool {
    event["type"] == "BOOKMARK" && event["object"]["metadata"]["annotations"].is_null()
}

/// A Table's `Age` cells.
fn mask_table(map: &mut serde_json::Map<String, Value>) {
    let Some(columns) = map.get("columnDefinitions").and_then(Value::as_array) else {
        return;
    };
    let ages: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, column)| column["name"] == "Age")
        .map(|(at, _)| at)
        .collect();
    if let Some(rows) = map.get_mut("rows").and_then(Value::as_array_mut) {
        for row in rows {
            for at in &ages {
                if let Some(cell) = row["cells"].get_mut(*at) {
                    *cell = Value::String("<age>".into());
                }
            }
        }
    }
}

/// UUIDs, resource versions quoted in messages, ages and RFC 3339 times inside free text.
pub fn mask_text(text: &str, namespace: &str) -> String {
    let text = text.replace(namespace, "<ns>");
    let mut out = Vec::new();
    for word in split_keep(&text) {
        out.push(mask_word(&word));
    }
    out.concat()
}

fn split_keep(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == ':' || c == '.' {
            word.push(c);
        } else {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            words.push(c.to_string());
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn mask_word(word: &str) -> String {
    let is_uuid = word.len() == 36
        && word.chars().filter(|c| *c == '-').count() == 4
        && word.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let digits = word.trim_end_matches(['s', 'm', 'h', 'd']);
    let is_age = !digits.is_empty()
        && digits.len() < word.len()
        && digits.chars().all(|c| c.is_ascii_digit());
    let is_time = word.len() >= 20 && word.as_bytes()[4] == b'-' && word.contains('T');
    if is_uuid {
        "<uuid>".into()
    } else if is_age {
        "<age>".into()
    } else if is_time {
        "<time>".into()
    } else if word.len() > 1 && word.chars().all(|c| c.is_ascii_digit()) {
        "<n>".into()
    } else {
        word.to_owned()
    }
}

/// Remove the value at a JSON pointer, with `*` matching every array element or object member.
pub fn blank(value: &mut Value, pointer: &str) {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|part| part.replace("~1", "/").replace("~0", "~"))
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    blank_parts(value, &parts);
}

fn blank_parts(value: &mut Value, parts: &[&str]) {
    let Some((first, rest)) = parts.split_first() else {
        *value = Value::String("<approximation>".into());
        return;
    };
    match value {
        Value::Object(map) if *first == "*" => {
            map.values_mut().for_each(|v| blank_parts(v, rest));
        }
        Value::Array(items) if *first == "*" => {
            items.iter_mut().for_each(|v| blank_parts(v, rest));
        }
        Value::Object(map) => {
            if rest.is_empty() {
                map.remove(*first);
            } else if let Some(v) = map.get_mut(*first) {
                blank_parts(v, rest);
            }
        }
        Value::Array(items) => {
            if let Some(v) = first.parse::<usize>().ok().and_then(|at| items.get_mut(at)) {
                blank_parts(v, rest);
            }
        }
        _ => {}
    }
}

/// The differences between two JSON values, as `pointer: left != right` lines.
pub fn diff(left: &Value, right: &Value, at: &str, out: &mut Vec<String>) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let mut keys: Vec<&String> = l.keys().chain(r.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let path = format!("{at}/{key}");
                match (l.get(key), r.get(key)) {
                    (Some(a), Some(b)) => diff(a, b, &path, out),
                    (a, b) => out.push(format!("{path}: {} != {}", show(a), show(b))),
                }
            }
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => {
            for (at_index, (a, b)) in l.iter().zip(r).enumerate() {
                diff(a, b, &format!("{at}/{at_index}"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{at}: {a} != {b}")),
        _ => {}
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), Value::to_string)
}
