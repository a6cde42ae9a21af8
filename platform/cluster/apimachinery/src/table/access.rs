//! Tolerant reads of JSON objects, and the formatting helpers the printers share (durations, labels,
//! selectors, container lists). A missing or wrongly typed field reads as Go's zero value.
use serde_json::Value;

/// How Go prints a zero `time.Time` in RFC 3339.
pub(crate) const AGE_UNSET_RFC3339: &str = "0001-01-01T00:00:00Z";

/// The value at `path` (object keys), if every step exists.
pub(crate) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |current, key| current.get(key))
}

/// A string field, `""` when absent or not a string.
pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    at(value, path).and_then(Value::as_str).unwrap_or_default()
}

/// An integer field, `None` when absent or not a number (floats are truncated, as Go's int64 conversion does).
pub(crate) fn opt_i64_at(value: &Value, path: &[&str]) -> Option<i64> {
    let number = at(value, path)?;
    number
        .as_i64()
        .or_else(|| number.as_f64().map(|f| f as i64))
}

/// An integer field, 0 when absent.
pub(crate) fn i64_at(value: &Value, path: &[&str]) -> i64 {
    opt_i64_at(value, path).unwrap_or_default()
}

/// An array field, empty when absent or not an array.
pub(crate) fn array_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The number of entries of a map field, 0 when absent.
pub(crate) fn map_len(value: &Value, path: &[&str]) -> usize {
    at(value, path)
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len)
}

/// Parse an RFC 3339 timestamp; Go's zero time (year 1) counts as unset, like `metav1.Time.IsZero`.
pub(crate) fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    let timestamp: jiff::Timestamp = text.parse().ok()?;
    (timestamp.as_second() > -62_135_596_800).then_some(timestamp)
}

/// A timestamp field.
pub(crate) fn time_at(value: &Value, path: &[&str]) -> Option<jiff::Timestamp> {
    parse_time(str_at(value, path))
}

/// `translateTimestampSince`: the age of `timestamp` at `now`, `<unknown>` when unset.
pub(crate) fn since(now: jiff::Timestamp, timestamp: Option<jiff::Timestamp>) -> String {
    match timestamp {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

/// The age of the object (`metadata.creationTimestamp`) as the Age column shows it.
pub(crate) fn age(now: jiff::Timestamp, object: &Value) -> Value {
    since(now, time_at(object, &["metadata", "creationTimestamp"])).into()
}

/// `metadata.name` as a cell.
pub(crate) fn name(object: &Value) -> Value {
    str_at(object, &["metadata", "name"]).into()
}

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`: about 2–3 significant figures, e.g. `45s`, `3m2s`,
/// `15m`, `5h3m`, `2d4h`, `1y20d`. Up to one second in the future reads `0s` (clock skew); more is `<invalid>`.
pub fn human_duration(duration: jiff::SignedDuration) -> String {
    let seconds = duration.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    } else if seconds < 0 {
        return "0s".into();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % 60, "s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        with_remainder(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with_remainder(hours / 24, "d", hours % 24, "h")
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        with_remainder(hours / 24 / 365, "y", (hours / 24) % 365, "d")
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

fn with_remainder(whole: i64, unit: &str, rest: i64, rest_unit: &str) -> String {
    if rest == 0 {
        format!("{whole}{unit}")
    } else {
        format!("{whole}{unit}{rest}{rest_unit}")
    }
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key and joined by commas, `<none>` when empty.
pub(crate) fn format_labels(labels: Option<&Value>) -> String {
    let pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

/// `metav1.LabelSelectorAsSelector(..).String()`: requirements sorted by key, `""` for a nil or empty selector.
pub(crate) fn selector_string(selector: Option<&Value>) -> String {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return String::new();
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            requirements.push((
                key.clone(),
                format!("{key}={}", value.as_str().unwrap_or_default()),
            ));
        }
    }
    for expression in array_at(selector, &["matchExpressions"]) {
        let key = str_at(expression, &["key"]);
        let mut values: Vec<&str> = array_at(expression, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let values = values.join(",");
        let text = match str_at(expression, &["operator"]) {
            "In" => format!("{key} in ({values})"),
            "NotIn" => format!("{key} notin ({values})"),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return "<error>".into(),
        };
        requirements.push((key.to_string(), text));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    requirements
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: like [`selector_string`], `<none>` when empty.
pub(crate) fn format_label_selector(selector: Option<&Value>) -> String {
    let text = selector_string(selector);
    if text.is_empty() {
        "<none>".into()
    } else {
        text
    }
}

/// `layoutContainerCells`: container names and images, each joined by commas.
pub(crate) fn container_cells(pod_spec: Option<&Value>) -> (Value, Value) {
    let containers = pod_spec
        .map(|spec| array_at(spec, &["containers"]))
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (names.join(",").into(), images.join(",").into())
}
