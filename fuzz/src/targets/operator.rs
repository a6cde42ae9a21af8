//! The operator's annotation parser (and the shared `min[,max]` grammar): one `key=value` annotation per line.
use std::collections::BTreeMap;

use configsync_core::Wait;
use configsync_operator::annotations::{Error, is_ignored_source, parse_policy};

/// Longest value an error quotes, in characters, plus the ellipsis.
const QUOTED_MAX_CHARS: usize = 64 + 1;

/// Parse annotations given as `key=value` lines (a line without `=` is a key with an empty value). Every
/// problem quotes at most 64 characters of the value, so a huge annotation cannot flood an Event.
pub fn annotations(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let annotations: BTreeMap<String, String> = text
        .split('\n')
        .map(|line| line.split_once('=').unwrap_or((line, "")))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    for auto_all in [false, true] {
        if let Err(Error::ParsePolicy { problems }) = parse_policy(&annotations, auto_all) {
            assert!(!problems.is_empty(), "an error without problems");
            for problem in problems {
                assert!(
                    problem.value.chars().count() <= QUOTED_MAX_CHARS,
                    "quoted value too long"
                );
            }
        }
    }
    let _ = is_ignored_source(&annotations);
    for value in annotations.values() {
        let _ = value.parse::<Wait>();
    }
}
