//! Label selectors (equality- and set-based) and field selectors, as `?labelSelector=` and `?fieldSelector=`.
//!
//! A [`LabelSelector`] is a conjunction of [`Requirement`]s read from `metadata.labels`; a [`FieldSelector`]
//! is a conjunction of [`FieldTerm`]s, each a dotted path into the object JSON compared as a string. Both
//! parse exactly the syntax the apiserver accepts (see [`label`] and [`field`]) and the empty selector
//! matches every object. [`LabelSelector::from_label_selector`] reads the structured form objects carry
//! (`spec.selector`), see [`structured`].
//!
//! [`FieldSelector::parse_for`] also applies the apiserver's per-kind list of field labels and their computed
//! values ([`selectable`]); [`FieldSelector::parse`] alone accepts any path.
use serde_json::Value;

pub mod field;
pub mod label;
pub mod selectable;
pub mod structured;
#[cfg(test)]
mod tests;

pub use field::FieldTerm;
pub use label::{Operator, Requirement};
pub use selectable::SelectableFields;

/// A parse failure, carrying the offending selector text.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    /// The selector text is not valid.
    #[error("unable to parse requirement: {0}")]
    Parse(String),
    /// A field label the kind does not support; the message is the apiserver's.
    #[error("{0}")]
    Unsupported(String),
}

/// A parsed label selector.
#[derive(Clone, Debug, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parse the `labelSelector` query syntax, e.g. `app=web,tier in (a,b),!legacy`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Ok(Self {
            requirements: label::parse(text)?,
        })
    }
    /// Convert a structured `metav1.LabelSelector` (`{"matchLabels": {..}, "matchExpressions": [..]}`, as in
    /// a Deployment's `spec.selector`), validating it as `LabelSelectorAsSelector` does. `{}` matches
    /// everything.
    pub fn from_label_selector(selector: &Value) -> Result<Self, SelectorError> {
        Ok(Self {
            requirements: structured::from_structured(selector)?,
        })
    }
    /// Whether the object's `metadata.labels` match.
    pub fn matches_object(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        self.requirements.iter().all(|requirement| {
            let value = labels
                .and_then(|labels| labels.get(&requirement.key))
                .and_then(Value::as_str);
            requirement.matches(value)
        })
    }
    /// The parsed requirements, in the order written.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
    /// Whether this selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// A parsed field selector.
#[derive(Clone, Debug, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
    fields: Option<SelectableFields>,
}

impl FieldSelector {
    /// Parse the `fieldSelector` query syntax, e.g. `metadata.name=x,involvedObject.kind!=Pod`, accepting any
    /// dotted path.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Ok(Self {
            terms: field::parse(text)?,
            fields: None,
        })
    }
    /// Parse a selector for one kind: only its field labels are accepted (with the apiserver's message for the
    /// first other one), and they are read as the apiserver reads them.
    pub fn parse_for(text: &str, fields: SelectableFields) -> Result<Self, SelectorError> {
        let terms = field::parse(text)?;
        for term in &terms {
            fields.check(&term.path)?;
        }
        Ok(Self {
            terms,
            fields: Some(fields),
        })
    }
    /// Whether the object's fields match.
    pub fn matches_object(&self, object: &Value) -> bool {
        self.terms.iter().all(|term| match &self.fields {
            Some(fields) => (fields.value(object, &term.path) == term.value) != term.negated,
            None => term.matches(object),
        })
    }
    /// The parsed terms, in the order written.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }
    /// Whether this selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}
