//! Which request headers are kept with an event, and how rejected requests are redacted.
//! Signatures and credentials never leave the request: they are dropped from stored events
//! (and so from `raw` deliveries) and replaced by `[redacted]` in rejected-request records.
//! A header is secret when it is the scheme's signature header or its name contains
//! `token`, `auth`, `key`, `secret`, `signature`, `cookie`, `password`, `hmac` or
//! `session`, unless it is one of a few known ids (`idempotency-key`, Twilio's
//! idempotency token). A rejected record keeps at most [`REJECTED_HEADER_BYTES`].

use ::http::{HeaderMap, HeaderName};

use crate::providers::SchemeSpec;

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
    "token",
    "auth",
    "key",
    "secret",
    "signature",
    "cookie",
    "password",
    "hmac",
    "session",
];

/// Ids that contain a secret word but are not credentials: kept, so receivers can dedupe.
const KNOWN_IDS: &[&str] = &["idempotency-key", "i-twilio-idempotency-token"];

/// Bytes of header names and values a rejected-request record keeps at most.
pub const REJECTED_HEADER_BYTES: usize = 16 * 1024;

/// True for headers whose value must never be stored or logged. `HeaderName`s are
/// lowercase already, so this runs on the ingest path without allocating.
pub fn is_secret(spec: &SchemeSpec, name: &HeaderName) -> bool {
    let name = name.as_str();
    spec.is_signature_header(name) || (SECRET_WORDS.iter().any(|w| name.contains(w)) && !KNOWN_IDS.contains(&name))
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

/// Headers recorded with a rejected request: secret values replaced by `[redacted]`, and
/// no more than [`REJECTED_HEADER_BYTES`] of names and values; past that the last value is
/// cut and one `…` entry says how many headers were left out.
pub fn redacted(spec: &SchemeSpec, headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut room = REJECTED_HEADER_BYTES;
    let mut left_out = 0usize;
    for (n, v) in headers.iter().filter(|(n, _)| !is_hop_by_hop(n.as_str())) {
        let value = if is_secret(spec, n) {
            std::borrow::Cow::Borrowed(REDACTED)
        } else {
            String::from_utf8_lossy(v.as_bytes())
        };
        let size = n.as_str().len() + value.len();
        if left_out > 0 || room <= n.as_str().len() {
            left_out += 1;
            continue;
        }
        let value = if size > room {
            left_out += 1; // cut: counted as left out in part
            cut(&value, room - n.as_str().len())
        } else {
            &value
        };
        room -= n.as_str().len() + value.len();
        out.push((n.as_str().to_string(), value.to_string()));
    }
    if left_out > 0 {
        out.push((
            "…".to_string(),
            format!("{left_out} headers cut or left out (16 KiB kept)"),
        ));
    }
    out
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::HeaderValue;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        m
    }

    #[test]
    fn token_auth_key_secret_and_cookie_headers_are_never_kept() {
        let headers = map(&[
            ("x-gitlab-token", "glt-secret"),
            ("x-auth-token", "at-secret"),
            ("x-api-key", "k-secret"),
            ("x-client-secret", "cs-secret"),
            ("cookie", "sid=secret"),
            ("proxy-authorization", "Basic secret"),
            ("x-gitlab-event", "Push Hook"),
            ("idempotency-key", "idem-1"),
        ]);
        let kept = kept(&SchemeSpec::named("none"), &headers);
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x-gitlab-event", "idempotency-key"]);
        let recorded = redacted(&SchemeSpec::named("none"), &headers);
        assert!(recorded.iter().all(|(_, v)| !v.contains("secret")), "{recorded:?}");
        assert_eq!(recorded.len(), 8);
    }

    #[test]
    fn a_rejected_record_keeps_at_most_16_kib_of_headers() {
        let junk = "j".repeat(8000);
        let pairs: Vec<(String, String)> = (0..40).map(|i| (format!("x-junk-{i}"), junk.clone())).collect();
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let recorded = redacted(&SchemeSpec::named("none"), &map(&refs));
        let (last, kept) = recorded.split_last().expect("entries");
        let bytes: usize = kept.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(bytes <= REJECTED_HEADER_BYTES, "{bytes}");
        assert!(bytes > REJECTED_HEADER_BYTES - 100, "{bytes}: the room is used");
        assert_eq!(last.0, "…");
        assert!(last.1.starts_with("38 headers"), "{}", last.1);
    }
}
