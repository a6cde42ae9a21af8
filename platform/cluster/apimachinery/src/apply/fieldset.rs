//! Sets of field paths, as structured-merge-diff's `fieldpath.Set`, and their `FieldsV1` JSON form.
//!
//! A [`FieldSet`] is a tree: each child is reached by a [`PathElement`] and may itself be a member of the set
//! (`member`), have members below it, or both. In `FieldsV1` a child is an object keyed `f:<field>`,
//! `k:<key json>` or `v:<value json>`; `{}` is a member leaf and `".": {}` marks a member with children.
use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElement {
    /// A map or struct field: `f:name`.
    Field(String),
    /// A list item identified by its key fields, as compact JSON: `k:{"name":"app"}`.
    Key(String),
    /// A list-of-primitives item, as JSON: `v:"example.com/finalizer"`.
    Value(String),
    /// A list item by position (`i:0`); only read, never produced.
    Index(usize),
}

impl PathElement {
    /// The list-item element for key fields of an item (`None` if any is missing).
    pub fn key_of(item: &Value, key_fields: &[&str]) -> Option<PathElement> {
        let mut key = Map::new();
        for field in key_fields {
            key.insert((*field).to_owned(), item.get(*field)?.clone());
        }
        Some(PathElement::Key(Value::Object(key).to_string()))
    }

    /// The list-item element for a primitive.
    pub fn value_of(item: &Value) -> PathElement {
        PathElement::Value(item.to_string())
    }

    fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(key) => format!("k:{key}"),
            PathElement::Value(value) => format!("v:{value}"),
            PathElement::Index(index) => format!("i:{index}"),
        }
    }

    fn decode(text: &str) -> Option<PathElement> {
        let canonical = |json: &str| {
            serde_json::from_str::<Value>(json)
                .ok()
                .map(|v| v.to_string())
        };
        match text.split_at_checked(2)? {
            ("f:", name) => Some(PathElement::Field(name.to_owned())),
            ("k:", key) => canonical(key).map(PathElement::Key),
            ("v:", value) => canonical(value).map(PathElement::Value),
            ("i:", index) => index.parse().ok().map(PathElement::Index),
            _ => None,
        }
    }

    /// Whether a list item is the one this element names.
    pub fn matches_item(&self, item: &Value) -> bool {
        match self {
            PathElement::Key(key) => match serde_json::from_str::<Value>(key) {
                Ok(Value::Object(fields)) => fields
                    .iter()
                    .all(|(name, want)| item.get(name) == Some(want)),
                _ => false,
            },
            PathElement::Value(value) => {
                serde_json::from_str::<Value>(value).is_ok_and(|v| &v == item)
            }
            PathElement::Field(_) | PathElement::Index(_) => false,
        }
    }

    /// The element as the apiserver prints it in a conflict: `.name`, `[name="app"]`, `[="x"]`, `[0]`.
    fn display(&self) -> String {
        match self {
            PathElement::Field(name) => format!(".{name}"),
            PathElement::Key(key) => match serde_json::from_str::<Value>(key) {
                Ok(Value::Object(fields)) => {
                    let parts: Vec<String> =
                        fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("[{}]", parts.join(","))
                }
                _ => format!("[{key}]"),
            },
            PathElement::Value(value) => format!("[={value}]"),
            PathElement::Index(index) => format!("[{index}]"),
        }
    }
}

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Whether the path leading to this node is itself in the set.
    pub member: bool,
    /// The sets below each child path element; never holds an empty set.
    pub children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// A set holding only the path leading here.
    pub fn leaf() -> FieldSet {
        FieldSet {
            member: true,
            children: BTreeMap::new(),
        }
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Add `child` below `element`, merging with what is there.
    pub fn insert(&mut self, element: PathElement, child: FieldSet) {
        if child.is_empty() {
            return;
        }
        let merged = match self.children.remove(&element) {
            Some(existing) => existing.union(&child),
            None => child,
        };
        self.children.insert(element, merged);
    }

    /// The set below `element` (empty if none).
    pub fn child(&self, element: &PathElement) -> FieldSet {
        self.children.get(element).cloned().unwrap_or_default()
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.member |= other.member;
        for (element, child) in &other.children {
            out.insert(element.clone(), child.clone());
        }
        out
    }

    /// Paths in `self` but not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (element, child) in &self.children {
            let rest = match other.children.get(element) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            out.insert(element.clone(), rest);
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (element, child) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                out.insert(element.clone(), child.intersection(theirs));
            }
        }
        out
    }

    /// Every member path, printed as the apiserver prints conflicts (`.spec.replicas`), sorted.
    pub fn member_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        self.collect_paths(String::new(), &mut paths);
        paths
    }

    fn collect_paths(&self, prefix: String, out: &mut Vec<String>) {
        if self.member && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (element, child) in &self.children {
            child.collect_paths(format!("{prefix}{}", element.display()), out);
        }
    }

    /// The `fieldsV1` JSON of a root set.
    pub fn to_fields_v1(&self) -> Value {
        let mut object = Map::new();
        if self.member && !self.children.is_empty() {
            object.insert(".".into(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            object.insert(element.encode(), child.to_fields_v1());
        }
        Value::Object(object)
    }

    /// Read `fieldsV1` JSON; `None` if it is not well formed.
    pub fn from_fields_v1(json: &Value) -> Option<FieldSet> {
        let mut set = FieldSet::from_node(json)?;
        set.member = false;
        Some(set)
    }

    fn from_node(json: &Value) -> Option<FieldSet> {
        let object = json.as_object()?;
        let mut set = FieldSet {
            member: object.is_empty() || object.contains_key("."),
            children: BTreeMap::new(),
        };
        for (key, child) in object {
            if key != "." {
                set.insert(PathElement::decode(key)?, FieldSet::from_node(child)?);
            }
        }
        Some(set)
    }
}
