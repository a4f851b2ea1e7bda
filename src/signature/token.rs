//! The shared-token family: the provider sends the secret itself in a header (GitLab's
//! `X-Gitlab-Token`, Buildkite's `X-Buildkite-Token`), or as HTTP basic credentials
//! (`Authorization: Basic`, as Postmark and Pipedrive call a URL with `user:password`).
//! Compared in constant time with every secret; nothing is signed, so TLS is what keeps it
//! secret and dedupe is the only replay guard.

use serde::Deserialize;

use super::mac::{self, b64};
use super::{Request, Secret, SignInput, Verifier, VerifyError};

/// A shared-token provider's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenParams {
    pub header: String,
    /// Text before the token (`Bearer `); a value without it is `malformed_header`.
    #[serde(default)]
    pub prefix: Option<String>,
}

pub struct TokenVerifier {
    params: TokenParams,
    keys: Vec<Vec<u8>>,
}

impl TokenVerifier {
    pub fn new(params: &TokenParams, secrets: &[Secret]) -> Self {
        TokenVerifier {
            params: params.clone(),
            keys: secrets.iter().map(|s| s.expose().as_bytes().to_vec()).collect(),
        }
    }
}

fn matches(keys: &[Vec<u8>], given: &[u8]) -> Result<(), VerifyError> {
    mac::tick();
    // Every key is compared, so the time does not tell which one matched.
    let hits = keys.iter().filter(|k| mac::equal(k, given)).count();
    if hits > 0 { Ok(()) } else { Err(VerifyError::mismatch()) }
}

impl Verifier for TokenVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        let p = &self.params;
        let value = req.required(&[p.header.as_str()])?;
        let token = match &p.prefix {
            Some(prefix) => value
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| VerifyError::malformed(&p.header, &format!("does not start with {prefix:?}")))?,
            None => value,
        };
        matches(&self.keys, token.as_bytes())
    }
}

pub fn sign(p: &TokenParams, secret: &Secret, _input: &SignInput<'_>) -> Vec<(String, String)> {
    let prefix = p.prefix.as_deref().unwrap_or("");
    vec![(p.header.clone(), format!("{prefix}{}", secret.expose()))]
}

/// HTTP basic credentials; each secret is `user:password`.
pub struct BasicVerifier {
    keys: Vec<Vec<u8>>,
}

impl BasicVerifier {
    pub fn new(secrets: &[Secret]) -> Self {
        BasicVerifier {
            keys: secrets.iter().map(|s| s.expose().as_bytes().to_vec()).collect(),
        }
    }
}

impl Verifier for BasicVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        let value = req.required(&["authorization"])?;
        let (scheme, encoded) = value
            .split_once(' ')
            .ok_or_else(|| VerifyError::malformed("Authorization", "not Basic credentials"))?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(VerifyError::malformed("Authorization", "not Basic credentials"));
        }
        let given = b64::decode(encoded).ok_or_else(|| VerifyError::malformed("Authorization", "not base64"))?;
        matches(&self.keys, &given)
    }
}

pub fn sign_basic(secret: &Secret) -> Vec<(String, String)> {
    vec![(
        "Authorization".into(),
        format!("Basic {}", b64::encode(secret.expose().as_bytes())),
    )]
}

#[cfg(test)]
mod tests {
    use ::http::{HeaderMap, HeaderValue};

    use super::*;

    fn request<'a>(headers: &'a HeaderMap) -> Request<'a> {
        Request {
            headers,
            body: b"{}",
            url: None,
            method: "POST",
        }
    }

    #[test]
    fn a_token_matches_any_secret_and_a_prefix_is_required_when_named() {
        let params = TokenParams {
            header: "X-Gitlab-Token".into(),
            prefix: Some("Bearer ".into()),
        };
        let v = TokenVerifier::new(&params, &[Secret::new("old"), Secret::new("new")]);
        let mut h = HeaderMap::new();
        h.insert("x-gitlab-token", HeaderValue::from_static("Bearer new"));
        assert_eq!(v.verify(&request(&h), 0), Ok(()));
        h.insert("x-gitlab-token", HeaderValue::from_static("Bearer guess"));
        assert_eq!(
            v.verify(&request(&h), 0).map_err(|e| e.kind),
            Err(super::super::ErrorKind::InvalidSignature)
        );
        h.insert("x-gitlab-token", HeaderValue::from_static("new"));
        assert_eq!(
            v.verify(&request(&h), 0).map_err(|e| e.kind),
            Err(super::super::ErrorKind::MalformedHeader)
        );
    }

    #[test]
    fn basic_credentials_compare_the_decoded_user_and_password() {
        let v = BasicVerifier::new(&[Secret::new("hooks:pass")]);
        let mut h = HeaderMap::new();
        for (value, ok) in [
            ("Basic aG9va3M6cGFzcw==", true),
            ("basic aG9va3M6cGFzcw==", true),
            ("Basic aG9va3M6cGFzc3c=", false),
        ] {
            h.insert("authorization", HeaderValue::from_static(value));
            assert_eq!(v.verify(&request(&h), 0).is_ok(), ok, "{value}");
        }
        h.insert("authorization", HeaderValue::from_static("Bearer aG9va3M6cGFzcw=="));
        assert_eq!(
            v.verify(&request(&h), 0).map_err(|e| e.kind),
            Err(super::super::ErrorKind::MalformedHeader)
        );
    }
}
