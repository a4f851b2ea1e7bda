//! Secrets as the config holds them, and the errors of turning them into keys.

use std::fmt;

/// A webhook secret or key. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's text. Call sites are the verifiers and signers, nothing that logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A secret that cannot be used by its scheme, or a signing input that is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a standard webhooks secret must be whsec_<base64> (HMAC) or whpk_/whsk_<base64> (Ed25519): {0}")]
    Standard(String),
    #[error("scheme {0} signs the URL the provider calls: give the URL")]
    UrlRequired(&'static str),
    #[error("signing with a public key (whpk_) is not possible; use the whsk_ secret key")]
    PublicKeyCannotSign,
    #[error("{scheme} key: {why}")]
    Key { scheme: &'static str, why: String },
}
