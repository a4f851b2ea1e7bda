//! Which request headers are kept with an event, and how rejected requests are redacted.
//! Signatures and credentials never leave the request: they are dropped from stored events
//! and replaced by `[redacted]` in rejected-request records.

use ::http::{HeaderMap, HeaderName};

use crate::signature::SchemeSpec;

pub const REDACTED: &str = "[redacted]";

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
    "expect",
];

const SECRET_WORDS: &[&str] = &[
    "signature",
    "hmac",
    "secret",
    "authorization",
    "cookie",
    "api-key",
    "apikey",
    "password",
];

/// True for headers whose value must never be stored or logged. `HeaderName`s are
/// lowercase already, so this runs on the ingest path without allocating.
pub fn is_secret(spec: &SchemeSpec, name: &HeaderName) -> bool {
    let name = name.as_str();
    spec.is_signature_header(name) || SECRET_WORDS.iter().any(|w| name.contains(w))
}

fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
}

/// Headers stored with an accepted event: everything but hop-by-hop and secret ones.
pub fn kept(spec: &SchemeSpec, headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| !is_hop_by_hop(n.as_str()) && !is_secret(spec, n))
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Headers recorded with a rejected request: secret values replaced by `[redacted]`.
pub fn redacted(spec: &SchemeSpec, headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| !is_hop_by_hop(n.as_str()))
        .map(|(n, v)| {
            let value = if is_secret(spec, n) {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (n.as_str().to_string(), value)
        })
        .collect()
}
