//! Label selectors (equality- and set-based) and field selectors, as `?labelSelector=` and `?fieldSelector=`.
//! CONTRACT STUB: the signatures are fixed; the implementation is being written.
use serde_json::Value;

/// A parse failure, carrying the offending selector text.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    /// The selector text is not valid.
    #[error("unable to parse requirement: {0}")]
    Parse(String),
}

/// A parsed label selector.
#[derive(Clone, Debug, Default)]
pub struct LabelSelector {}

impl LabelSelector {
    /// Parse the `labelSelector` query syntax, e.g. `app=web,tier in (a,b),!legacy`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Err(SelectorError::Parse(text.to_owned()))
    }
    /// Whether the object's `metadata.labels` match.
    pub fn matches_object(&self, _object: &Value) -> bool {
        true
    }
}

/// A parsed field selector.
#[derive(Clone, Debug, Default)]
pub struct FieldSelector {}

impl FieldSelector {
    /// Parse the `fieldSelector` query syntax, e.g. `metadata.name=x,involvedObject.kind!=Pod`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Err(SelectorError::Parse(text.to_owned()))
    }
    /// Whether the object's fields match.
    pub fn matches_object(&self, _object: &Value) -> bool {
        true
    }
}
