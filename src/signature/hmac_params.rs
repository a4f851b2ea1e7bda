//! The template-HMAC family's parameters, as a provider file gives them: the header and
//! how its value carries signatures ([`Pairs`], a prefix), the signed message, algorithm,
//! encoding, key form, timestamp, and what an undecodable value reads as. How they are
//! applied to a request is `hmac.rs`'s.

use serde::Deserialize;

use super::mac::{self, b64};
use super::template::Template;
use super::timestamp::TimestampSpec;
use super::{KeyError, Secret};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    #[default]
    Sha256,
    Sha1,
    Sha512,
}

impl Algorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sha256" => Some(Algorithm::Sha256),
            "sha1" => Some(Algorithm::Sha1),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    pub(super) fn compute(self) -> fn(&[u8], &[&[u8]]) -> Vec<u8> {
        match self {
            Algorithm::Sha256 => mac::sha256,
            Algorithm::Sha1 => mac::sha1,
            Algorithm::Sha512 => mac::sha512,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Hex,
    Base64,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hex" => Some(Encoding::Hex),
            "base64" => Some(Encoding::Base64),
            _ => None,
        }
    }

    pub(super) fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => hex::decode(text.trim()).ok(),
            Encoding::Base64 => b64::decode(text),
        }
    }

    pub(super) fn encode(self, raw: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(raw),
            Encoding::Base64 => b64::encode(raw),
        }
    }
}

/// How the secret text becomes the HMAC key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyForm {
    /// The secret's UTF-8 bytes, as most providers use it.
    #[default]
    Text,
    /// The secret is base64 and the key is what it decodes to.
    Base64,
}

/// What a signature value that does not decode reads as: the provider's SDK decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Undecodable {
    /// The SDK compares encoded strings: a value that does not decode simply does not match.
    #[default]
    InvalidSignature,
    /// The SDK refuses the header first.
    MalformedHeader,
}

/// How the signature header's value carries its signatures.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pairs {
    /// Between the `key=value` elements (`,` Stripe, `;` Paddle, `, ` WorkOS).
    #[serde(default = "comma")]
    pub separator: String,
    /// The key of a signature element (`v1`, `h1`); several may be present.
    pub signature: String,
    /// Keys of versions the provider retired: alone, they read `no_supported_scheme`.
    #[serde(default)]
    pub retired: Vec<String>,
}

fn comma() -> String {
    ",".into()
}

/// A template-HMAC provider's parameters, as its file gives them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacParams {
    /// The signature header (any case).
    pub header: String,
    /// Other spellings of the same header, tried in order after `header`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Text before the signature (`sha256=`); a value without it is `malformed_header`.
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub pairs: Option<Pairs>,
    #[serde(default)]
    pub message: Template,
    #[serde(default)]
    pub algorithm: Algorithm,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default)]
    pub key: KeyForm,
    #[serde(default)]
    pub timestamp: Option<TimestampSpec>,
    #[serde(default)]
    pub undecodable: Undecodable,
    /// A retired header still sent by old integrations (GitHub's SHA-1 `X-Hub-Signature`):
    /// checked only when the source allows it, else `no_supported_scheme`.
    #[serde(default)]
    pub legacy: Option<Box<HmacParams>>,
}

impl HmacParams {
    /// Every header name (lowercase) that carries a signature.
    pub fn signature_headers(&self) -> Vec<String> {
        let mut names: Vec<String> = std::iter::once(&self.header)
            .chain(&self.aliases)
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if let Some(l) = &self.legacy {
            names.extend(l.signature_headers());
        }
        names
    }

    pub fn needs_url(&self) -> bool {
        self.message.needs_url()
    }

    pub(super) fn keys(&self, secrets: &[Secret]) -> Result<Vec<Vec<u8>>, KeyError> {
        secrets
            .iter()
            .map(|s| match self.key {
                KeyForm::Text => Ok(s.expose().as_bytes().to_vec()),
                KeyForm::Base64 => b64::decode(s.expose()).ok_or_else(|| KeyError::Key {
                    scheme: "hmac",
                    why: "the secret is not base64".into(),
                }),
            })
            .collect()
    }
}
