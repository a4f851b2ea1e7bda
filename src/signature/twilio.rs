//! The URL-and-form family, as Twilio defines it (Mandrill signs the same way under its own
//! header): `X-Twilio-Signature`, base64 HMAC-SHA1 with the auth token over the URL Twilio
//! called followed by the form parameters sorted by name (`name` + `value`, no separators).
//! When the URL carries `bodySHA256` (JSON bodies) only the URL is signed and the body must
//! hash to that value. As Twilio's SDKs do, the URL is tried as given, without its port and
//! with the default port.

use std::collections::{BTreeMap, BTreeSet};

use super::mac::{self, b64};
use super::{ErrorKind, Request, Verifier, VerifyError};

pub struct TwilioVerifier {
    /// `X-Twilio-Signature`, or another provider's header (`X-Mandrill-Signature`).
    pub header: String,
    pub keys: Vec<Vec<u8>>,
}

impl Verifier for TwilioVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        let value = req.required(&[self.header.as_str()])?;
        // twilio-node compares the base64 strings: a value that does not decode is a mismatch.
        let Some(sig) = b64::decode(value) else {
            return Err(VerifyError::mismatch());
        };
        let url = req.url()?;
        let body_hash = query_param(url, "bodySHA256");
        let params = if body_hash.is_some() {
            String::new()
        } else {
            sorted_params(req.body)
        };
        let ok = url_variants(url).iter().any(|u| {
            self.keys
                .iter()
                .any(|k| mac::verify_sha1(k, &[u.as_bytes(), params.as_bytes()], &sig))
        });
        if !ok {
            return Err(VerifyError::mismatch());
        }
        match body_hash {
            Some(expected) if !expected.eq_ignore_ascii_case(&mac::sha256_hex(req.body)) => Err(VerifyError::new(
                ErrorKind::BodyHashMismatch,
                "the body does not hash to the URL's bodySHA256",
            )),
            _ => Ok(()),
        }
    }
}

pub fn sign(header: &str, key: &[u8], url: &str, body: &[u8]) -> Vec<(String, String)> {
    let params = if query_param(url, "bodySHA256").is_some() {
        String::new()
    } else {
        sorted_params(body)
    };
    let sig = mac::sha1(key, &[url.as_bytes(), params.as_bytes()]);
    vec![(header.to_string(), b64::encode(&sig))]
}

/// `name` + `value` for each form parameter, names sorted, each name's distinct values sorted.
fn sorted_params(body: &[u8]) -> String {
    let mut params: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        params.entry(k.into_owned()).or_default().insert(v.into_owned());
    }
    let mut out = String::new();
    for (name, values) in params {
        for v in values {
            out.push_str(&name);
            out.push_str(&v);
        }
    }
    out
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The URL as given and as WHATWG URL parsing normalises it (twilio-node parses it so:
/// an apostrophe in the query becomes `%27`), each also with its port removed or the
/// scheme's default port added.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = port_variants(url);
    if let Ok(parsed) = url::Url::parse(url) {
        for v in port_variants(parsed.as_str()) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// The URL, plus the form with its port removed or the scheme's default port added.
fn port_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let port_at = hostport.rfind(':').filter(|&i| !hostport[i..].contains(']'));
    let variant = match port_at {
        Some(i) => format!("{scheme}://{userinfo}{}{tail}", &hostport[..i]),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
            format!("{scheme}://{userinfo}{hostport}:{port}{tail}")
        }
    };
    out.push(variant);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_variants_add_and_remove_the_port() {
        assert_eq!(
            port_variants("https://a.com/x?y=1"),
            vec!["https://a.com/x?y=1".to_string(), "https://a.com:443/x?y=1".to_string()]
        );
        assert_eq!(
            port_variants("http://a.com:8080/x"),
            vec!["http://a.com:8080/x".to_string(), "http://a.com/x".to_string()]
        );
    }

    #[test]
    fn url_variants_include_the_whatwg_form_with_an_encoded_apostrophe() {
        let v = url_variants("https://a.com/x?name=O'Brien");
        assert!(v.contains(&"https://a.com/x?name=O%27Brien".to_string()), "{v:?}");
        assert!(v.contains(&"https://a.com/x?name=O'Brien".to_string()), "{v:?}");
    }

    #[test]
    fn repeated_parameters_are_sorted_by_name_then_value() {
        assert_eq!(
            sorted_params(b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"),
            "Digits1234Digits5678SidCA123SidAccountAC123"
        );
    }
}
