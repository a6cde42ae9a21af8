//! The leak checker: search logs, Events, metrics text and status for secret values, however encoded.
//!
//! ```text
//!   secrets ──encoded_forms──► plain · base64 (3 alignments, standard and URL alphabet)
//!                              · percent-encoded (%20 and form '+') · JSON-escaped
//!   blobs (label, bytes) ──► every form searched in every blob ──► [Leak { blob, secret, encoding, offset }]
//! ```
//! Base64 is searched at the three byte alignments a secret can have inside a larger encoded value (a Secret
//! `data` entry that holds `password=<secret>`), using only the characters that depend on the secret's bytes
//! alone. A [`Leak`] names the blob, the secret's index, the encoding and the offset, never the value, so a
//! failing test does not print the secret either.
//!
//! ```
//! use configsync_fuzz::leaks::{Blob, Encoding, find_leaks};
//! let log = br#"{"msg":"synced","data":"cGFzc3dvcmQ9MWYyZDFlMmU2N2Rm"}"#; // base64("password=1f2d1e2e67df")
//! let leaks = find_leaks(&[b"1f2d1e2e67df"], &[Blob::new("operator log", log)]);
//! assert_eq!(leaks.len(), 1);
//! assert_eq!(leaks[0].encoding, Encoding::Base64);
//! ```
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Shortest secret searched in encoded forms: shorter ones would match ordinary text by chance.
pub const MIN_SECRET_LEN: usize = 4;

/// Shortest base64 fragment searched (the part that depends on the secret alone).
const MIN_BASE64_FRAGMENT: usize = 4;

/// One named blob of output to search.
#[derive(Clone, Copy, Debug)]
pub struct Blob<'a> {
    /// What it is (`operator log`, `Events`, `metrics`, `ConfigSync status`), used in reports.
    pub label: &'a str,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl<'a> Blob<'a> {
    /// A blob called `label`.
    pub fn new(label: &'a str, bytes: &'a [u8]) -> Self {
        Self { label, bytes }
    }
}

/// How a secret appeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// The raw bytes.
    Plain,
    /// Standard base64, at any alignment.
    Base64,
    /// URL-safe base64, at any alignment.
    Base64Url,
    /// Percent-encoding (`%20` for space, RFC 3986).
    PercentEncoded,
    /// `application/x-www-form-urlencoded` (`+` for space).
    FormUrlEncoded,
    /// Inside a JSON string (`\"`, `\n`, `\u0000` escapes).
    JsonEscaped,
}

/// One hit: which secret, in which blob, how encoded, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// The blob's label.
    pub blob: String,
    /// Index of the secret in the list searched for.
    pub secret: usize,
    /// The form found.
    pub encoding: Encoding,
    /// Byte offset of the first occurrence in the blob.
    pub offset: usize,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "secret #{} found {:?} in {} at byte {}",
            self.secret, self.encoding, self.blob, self.offset
        )
    }
}

/// Every form of `secret` to search for, without duplicates (the plain form first). Secrets shorter than
/// [`MIN_SECRET_LEN`] are searched in plain form only.
pub fn encoded_forms(secret: &[u8]) -> Vec<(Encoding, Vec<u8>)> {
    let mut forms = vec![(Encoding::Plain, secret.to_vec())];
    if secret.len() >= MIN_SECRET_LEN {
        forms.extend(base64_fragments(secret, Encoding::Base64));
        forms.extend(base64_fragments(secret, Encoding::Base64Url));
        let form: String = form_urlencoded::byte_serialize(secret).collect();
        forms.push((
            Encoding::PercentEncoded,
            form.replace('+', "%20").into_bytes(),
        ));
        forms.push((Encoding::FormUrlEncoded, form.into_bytes()));
        if let Ok(text) = std::str::from_utf8(secret)
            && let Ok(json) = serde_json::to_string(text)
        {
            let inner = json
                .get(1..json.len().saturating_sub(1))
                .unwrap_or_default();
            forms.push((Encoding::JsonEscaped, inner.as_bytes().to_vec()));
        }
    }
    let mut unique: Vec<(Encoding, Vec<u8>)> = Vec::with_capacity(forms.len());
    for (encoding, bytes) in forms {
        if !bytes.is_empty() && !unique.iter().any(|(_, seen)| *seen == bytes) {
            unique.push((encoding, bytes));
        }
    }
    unique
}

/// The base64 characters determined by `secret` alone, for each of the three alignments it can have inside
/// a longer encoded value.
fn base64_fragments(secret: &[u8], encoding: Encoding) -> Vec<(Encoding, Vec<u8>)> {
    let engine = if encoding == Encoding::Base64Url {
        URL_SAFE_NO_PAD
    } else {
        STANDARD_NO_PAD
    };
    (0..3usize)
        .filter_map(|shift| {
            let mut shifted = vec![0u8; shift];
            shifted.extend_from_slice(secret);
            let encoded = engine.encode(&shifted);
            // Character i covers bits 6i..6i+6; keep those inside the secret's bits 8*shift..8*(shift+len).
            let first = (8 * shift).div_ceil(6);
            let end = 8 * (shift + secret.len()) / 6;
            let fragment = encoded.get(first..end)?;
            (fragment.len() >= MIN_BASE64_FRAGMENT)
                .then(|| (encoding, fragment.as_bytes().to_vec()))
        })
        .collect()
}

/// Every secret of `secrets`, in every form of [`encoded_forms`], found in any of `blobs`: one [`Leak`] per
/// secret, blob and encoding (the first occurrence). Empty secrets are skipped.
pub fn find_leaks(secrets: &[&[u8]], blobs: &[Blob<'_>]) -> Vec<Leak> {
    let mut leaks = Vec::new();
    for (index, secret) in secrets.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        let forms = encoded_forms(secret);
        for blob in blobs {
            let mut reported = Vec::new();
            for (encoding, form) in &forms {
                if reported.contains(encoding) {
                    continue;
                }
                if let Some(offset) = find(blob.bytes, form) {
                    reported.push(*encoding);
                    leaks.push(Leak {
                        blob: blob.label.to_owned(),
                        secret: index,
                        encoding: *encoding,
                        offset,
                    });
                }
            }
        }
    }
    leaks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"1f2d1e2e67df";

    fn encodings(secret: &[u8], blob: &[u8]) -> Vec<Encoding> {
        find_leaks(&[secret], &[Blob::new("log", blob)])
            .into_iter()
            .map(|l| l.encoding)
            .collect()
    }

    #[test]
    fn finds_plain_values_with_their_offset() {
        let leaks = find_leaks(&[SECRET], &[Blob::new("log", b"value=1f2d1e2e67df")]);
        assert_eq!(
            leaks,
            vec![Leak {
                blob: "log".into(),
                secret: 0,
                encoding: Encoding::Plain,
                offset: 6
            }]
        );
    }

    #[test]
    fn finds_base64_at_every_alignment_inside_longer_values() {
        for prefix in ["", "a", "ab", "abc", "password="] {
            let mut value = prefix.as_bytes().to_vec();
            value.extend_from_slice(SECRET);
            value.extend_from_slice(b"\n");
            for (engine, expected) in [
                (STANDARD_NO_PAD, Encoding::Base64),
                (URL_SAFE_NO_PAD, Encoding::Base64Url),
            ] {
                let blob = format!("data: {}", engine.encode(&value));
                let found = encodings(SECRET, blob.as_bytes());
                // Both alphabets agree on alphanumeric output, so either label is a correct find.
                assert!(
                    found.contains(&expected) || found.contains(&Encoding::Base64),
                    "prefix {prefix:?}: {found:?}"
                );
            }
        }
    }

    #[test]
    fn url_safe_alphabet_is_searched_separately() {
        // 0xfb 0xff encodes with '+' and '/' in the standard alphabet, '-' and '_' in the URL one.
        let secret = [0xfb, 0xff, 0xfb, 0xff, 0xfb, 0xff];
        let blob = URL_SAFE_NO_PAD.encode(secret);
        assert_eq!(
            encodings(&secret, blob.as_bytes()),
            vec![Encoding::Base64Url]
        );
        assert_eq!(
            encodings(&secret, STANDARD_NO_PAD.encode(secret).as_bytes()),
            vec![Encoding::Base64]
        );
    }

    #[test]
    fn finds_percent_form_and_json_escaped_values() {
        let secret = b"p@ss word/\"x\"\n";
        assert_eq!(
            encodings(secret, b"GET /?q=p%40ss%20word%2F%22x%22%0A"),
            vec![Encoding::PercentEncoded]
        );
        assert_eq!(
            encodings(secret, b"q=p%40ss+word%2F%22x%22%0A&"),
            vec![Encoding::FormUrlEncoded]
        );
        assert_eq!(
            encodings(secret, br#"{"msg":"p@ss word/\"x\"\n"}"#),
            vec![Encoding::JsonEscaped]
        );
    }

    #[test]
    fn reports_each_blob_and_secret_without_the_value() {
        let blobs = [
            Blob::new("operator log", b"synced key password"),
            Blob::new("Events", b"{\"message\":\"hunter2!\"}"),
            Blob::new("metrics", b"configsync_syncs_total 3\n"),
        ];
        let leaks = find_leaks(&[SECRET, b"hunter2!"], &blobs);
        assert_eq!(leaks.len(), 1);
        assert_eq!((leaks[0].blob.as_str(), leaks[0].secret), ("Events", 1));
        let report = leaks[0].to_string();
        assert_eq!(report, "secret #1 found Plain in Events at byte 12");
        assert!(!report.contains("hunter2"));
    }

    #[test]
    fn clean_output_and_short_secrets_give_no_false_hits() {
        let log =
            b"level=info msg=\"synced\" source=default/app-config keys=3 hash=sha256:9f86d081";
        assert!(find_leaks(&[SECRET, b"hunter2!"], &[Blob::new("log", log)]).is_empty());
        // A two-byte secret is searched only in plain form: its base64 would match anywhere.
        assert_eq!(encoded_forms(b"ab").len(), 1);
        assert!(find_leaks(&[b""], &[Blob::new("log", log)]).is_empty());
    }
}
