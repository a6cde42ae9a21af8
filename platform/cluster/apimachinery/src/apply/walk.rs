//! Walks over object JSON guided by the list-merge table: the field set a value sets, the comparison of two
//! values, the server-side-apply merge of an applied configuration into a live object, and pruning.
use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement};
use crate::patch::schema::{
    ListStrategy, TypeNode, is_built_in, is_map_typed, is_present_when_zero,
};

/// What is known about a position in an object.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    node: TypeNode,
    strategy: ListStrategy,
    /// A Go map: its entries are members.
    map_typed: bool,
    /// In a built-in kind: the whole object is a Go struct, not an open map.
    built_in: bool,
    /// Exists in the zero Go object, so an update filling it in does not own it as a whole.
    present_when_zero: bool,
}

impl Shape {
    /// The shape of a whole object.
    pub fn root(object: &Value) -> Shape {
        let built_in = is_built_in(object);
        Shape {
            node: TypeNode::for_object(object),
            strategy: ListStrategy::Atomic,
            map_typed: false,
            built_in,
            present_when_zero: built_in,
        }
    }

    fn field(self, name: &str) -> Shape {
        let (node, strategy) = self.node.field(name);
        let present_when_zero = self.built_in && is_present_when_zero(name);
        Shape {
            node,
            strategy,
            map_typed: is_map_typed(name),
            present_when_zero,
            ..self
        }
    }

    fn item(self) -> Shape {
        Shape {
            strategy: ListStrategy::Atomic,
            map_typed: false,
            present_when_zero: false,
            ..self
        }
    }

    /// Whether the value is an atomic struct or map (for a list field the node is its elements' type, so a
    /// keyed list of atomic items is not itself atomic).
    fn is_atomic(self) -> bool {
        self.node.is_atomic() && self.strategy == ListStrategy::Atomic
    }

    /// Whether an update that adds this value owns the value itself, not only what is inside.
    fn owned_when_added(self, mode: Mode) -> bool {
        mode == Mode::Update && !self.present_when_zero
    }

    /// The path elements of a list's items, or `None` when the list is atomic (or an item lacks its key).
    fn item_elements(self, items: &[Value]) -> Option<Vec<PathElement>> {
        match self.strategy {
            ListStrategy::Atomic => None,
            ListStrategy::MergeByKey(key) => items
                .iter()
                .map(|item| PathElement::key_of(item, &[key]))
                .collect(),
            ListStrategy::PrimitiveSet => Some(items.iter().map(PathElement::value_of).collect()),
        }
    }
}

/// Which structured-merge-diff walk a field set comes from: they differ in which parents are members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// structured-merge-diff `ToFieldSet` of an applied configuration.
    Apply,
    /// structured-merge-diff `Compare` of an update.
    Update,
}

/// The fields `value` sets; `member` says whether the path leading to it is owned by itself (list items
/// and map entries are; so is an empty map, and in an update anything added that a zero Go object lacks).
/// Null map entries are skipped: they set nothing.
pub fn value_set(value: &Value, shape: Shape, mode: Mode, member: bool) -> FieldSet {
    if shape.is_atomic() {
        return FieldSet::leaf();
    }
    match value {
        Value::Object(map) => {
            let mut set = FieldSet::default();
            for (key, child) in map.iter().filter(|(_, child)| !child.is_null()) {
                let child_set = value_set(child, shape.field(key), mode, shape.map_typed);
                set.insert(PathElement::Field(key.clone()), child_set);
            }
            set.member = member || map.is_empty() || shape.owned_when_added(mode);
            set
        }
        Value::Array(items) => match shape.item_elements(items) {
            Some(elements) => {
                let member = member || shape.owned_when_added(mode);
                let mut set = FieldSet {
                    member,
                    ..FieldSet::default()
                };
                for (element, item) in elements.into_iter().zip(items) {
                    set.insert(element, value_set(item, shape.item(), mode, true));
                }
                set
            }
            None => FieldSet::leaf(),
        },
        _ => FieldSet::leaf(),
    }
}

/// The fields a whole object sets (the root itself is never a member).
pub fn object_set(object: &Value, shape: Shape, mode: Mode) -> FieldSet {
    FieldSet {
        member: false,
        ..value_set(object, shape, mode, false)
    }
}

/// Compare two whole objects (the root itself is never a member).
pub fn compare_objects(old: Option<&Value>, new: &Value, shape: Shape) -> Comparison {
    let mut comparison = compare(old, Some(new), shape, false);
    comparison.added.member = false;
    comparison.modified.member = false;
    comparison.removed.member = false;
    comparison
}

/// The fields an update adds, changes and removes.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// Present only in the new value.
    pub added: FieldSet,
    /// Present in both with different values.
    pub modified: FieldSet,
    /// Present only in the old value.
    pub removed: FieldSet,
}

impl Comparison {
    fn insert(&mut self, element: &PathElement, child: Comparison) {
        self.added.insert(element.clone(), child.added);
        self.modified.insert(element.clone(), child.modified);
        self.removed.insert(element.clone(), child.removed);
    }

    /// Added or modified fields: what an update takes ownership of.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }
}

/// Compare two values at the same path (`member`: whether that path is itself a member, see [`value_set`]).
pub fn compare(old: Option<&Value>, new: Option<&Value>, shape: Shape, member: bool) -> Comparison {
    let mut out = Comparison::default();
    match (old, new) {
        (None, None) => {}
        (None, Some(new)) => out.added = value_set(new, shape, Mode::Update, member),
        (Some(old), None) => out.removed = value_set(old, shape, Mode::Update, member),
        (Some(old), Some(new)) if shape.is_atomic() => {
            if old != new {
                out.modified = FieldSet::leaf();
            }
        }
        (Some(Value::Object(old)), Some(Value::Object(new))) => {
            for key in old
                .keys()
                .chain(new.keys().filter(|k| !old.contains_key(*k)))
            {
                let child = compare(
                    old.get(key),
                    new.get(key),
                    shape.field(key),
                    shape.map_typed,
                );
                out.insert(&PathElement::Field(key.clone()), child);
            }
        }
        (Some(Value::Array(old)), Some(Value::Array(new))) => {
            match (shape.item_elements(old), shape.item_elements(new)) {
                (Some(old_elements), Some(new_elements)) => {
                    let old_list = Listed {
                        items: old,
                        elements: &old_elements,
                    };
                    let new_list = Listed {
                        items: new,
                        elements: &new_elements,
                    };
                    let mut seen: Vec<&PathElement> = Vec::new();
                    for element in old_elements.iter().chain(&new_elements) {
                        if seen.contains(&element) {
                            continue;
                        }
                        seen.push(element);
                        out.insert(
                            element,
                            compare(
                                old_list.get(element),
                                new_list.get(element),
                                shape.item(),
                                true,
                            ),
                        );
                    }
                }
                _ if old != new => out.modified = FieldSet::leaf(),
                _ => {}
            }
        }
        (Some(old), Some(new)) if old != new => out.modified = FieldSet::leaf(),
        (Some(_), Some(_)) => {}
    }
    out
}

/// Merge an applied configuration into the live value: maps merge, keyed lists and sets merge by item
/// (in structured-merge-diff's order), atomic values and everything else are replaced. A null in the
/// configuration removes.
pub fn merge(live: Option<&Value>, config: &Value, shape: Shape) -> Value {
    if shape.is_atomic() {
        return config.clone();
    }
    match config {
        Value::Object(config) => {
            let mut out = match live {
                Some(Value::Object(live)) => live.clone(),
                _ => Map::new(),
            };
            for (key, value) in config {
                if value.is_null() {
                    out.remove(key);
                    continue;
                }
                let merged = merge(out.get(key), value, shape.field(key));
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        Value::Array(config_items) => {
            let Some(config_elements) = shape.item_elements(config_items) else {
                return Value::Array(config_items.clone());
            };
            let live_items = match live {
                Some(Value::Array(items)) => items.as_slice(),
                _ => &[],
            };
            let Some(live_elements) = shape.item_elements(live_items) else {
                return Value::Array(
                    config_items
                        .iter()
                        .map(|item| merge(None, item, shape.item()))
                        .collect(),
                );
            };
            let live_list = Listed {
                items: live_items,
                elements: &live_elements,
            };
            let config_list = Listed {
                items: config_items,
                elements: &config_elements,
            };
            Value::Array(merge_items(live_list, config_list, shape.item()))
        }
        scalar => scalar.clone(),
    }
}

#[derive(Clone, Copy)]
struct Listed<'a> {
    items: &'a [Value],
    elements: &'a [PathElement],
}

impl<'a> Listed<'a> {
    fn get(self, element: &PathElement) -> Option<&'a Value> {
        self.elements
            .iter()
            .position(|e| e == element)
            .and_then(|i| self.items.get(i))
    }
}

/// structured-merge-diff's `mergingWalker.visitListItems`: live-only items keep their place, shared items
/// follow the configuration's order, new items go where the configuration puts them.
fn merge_items(live: Listed<'_>, config: Listed<'_>, item_shape: Shape) -> Vec<Value> {
    let mut shared = config.elements.iter().filter(|e| live.get(e).is_some());
    let mut next_shared = shared.next();
    let mut merged: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(live.items.len() + config.items.len());
    let (mut l, mut r) = (0, 0);
    let in_config = |e: &PathElement| config.get(e).is_some();
    while l < live.elements.len() || r < config.elements.len() {
        if let (Some(le), Some(re)) = (live.elements.get(l), config.elements.get(r)) {
            if le == re {
                merged.push(le);
                out.extend(config.get(le).map(|c| merge(live.get(le), c, item_shape)));
                (l, r) = (l + 1, r + 1);
                next_shared = shared.next();
                continue;
            }
            if in_config(le) && next_shared.is_some_and(|n| n != le) {
                l += 1;
                continue;
            }
        }
        if let Some(le) = live.elements.get(l) {
            if !in_config(le) {
                out.extend(live.items.get(l).cloned());
                l += 1;
                continue;
            }
            if merged.contains(&le) {
                l += 1;
                continue;
            }
        }
        if let Some(re) = config.elements.get(r) {
            merged.push(re);
            out.extend(config.get(re).map(|c| merge(live.get(re), c, item_shape)));
            r += 1;
            if next_shared == Some(re) {
                next_shared = shared.next();
            }
        } else {
            // Unreachable for well-formed input; guarantees progress.
            l += 1;
        }
    }
    out
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Remove the member paths of `removal` from `value`, keeping anything `owned` still claims below them.
/// A map or list emptied by the removal goes too, unless it is itself owned.
pub fn prune(value: &mut Value, removal: &FieldSet, owned: &FieldSet) {
    for (element, gone) in &removal.children {
        let kept = owned.child(element);
        match (element, &mut *value) {
            (PathElement::Field(name), Value::Object(map)) => {
                let Some(child) = map.get_mut(name) else {
                    continue;
                };
                if gone.member && kept.is_empty() {
                    map.remove(name);
                    continue;
                }
                let was_empty = is_empty_container(child);
                prune(child, gone, &kept);
                if !was_empty && is_empty_container(child) && !kept.member {
                    map.remove(name);
                }
            }
            (PathElement::Key(_) | PathElement::Value(_), Value::Array(items)) => {
                if gone.member && kept.is_empty() {
                    items.retain(|item| !element.matches_item(item));
                    continue;
                }
                for item in items.iter_mut().filter(|item| element.matches_item(item)) {
                    prune(item, gone, &kept);
                }
            }
            _ => {}
        }
    }
}
