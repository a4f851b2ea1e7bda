//! Generic HMAC: a configured header carrying `prefix` + the hex or base64 HMAC of the raw
//! body, with SHA-256, SHA-1 or SHA-512.

use super::mac::{self, b64};
use super::{Request, SignInput, Verifier, VerifyError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
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
}

/// The settings of a generic HMAC source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmacSpec {
    /// Header name, lowercase.
    pub header: String,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    pub prefix: Option<String>,
}

/// The setting of a generic HMAC source that was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacField {
    Header,
    Algorithm,
    Encoding,
}

impl HmacField {
    /// The setting's name: the config key, and the CLI flag after `--hmac-`.
    pub fn key(self) -> &'static str {
        match self {
            HmacField::Header => "header",
            HmacField::Algorithm => "algorithm",
            HmacField::Encoding => "encoding",
        }
    }
}

impl HmacSpec {
    /// Builds the spec from its settings as text (config keys or CLI flags alike); the
    /// header is required, the algorithm defaults to sha256 and the encoding to hex.
    pub fn parse(
        header: Option<&str>,
        algorithm: Option<&str>,
        encoding: Option<&str>,
        prefix: Option<&str>,
    ) -> Result<HmacSpec, (HmacField, String)> {
        let header = header.ok_or((
            HmacField::Header,
            "scheme \"hmac\" needs the name of the signature header".into(),
        ))?;
        if ::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err((HmacField::Header, format!("{header:?} is not a header name")));
        }
        let algorithm = match algorithm {
            None => Algorithm::Sha256,
            Some(a) => {
                Algorithm::parse(a).ok_or((HmacField::Algorithm, format!("{a:?}: use sha256, sha1 or sha512")))?
            }
        };
        let encoding = match encoding {
            None => Encoding::Hex,
            Some(e) => Encoding::parse(e).ok_or((HmacField::Encoding, format!("{e:?}: use hex or base64")))?,
        };
        Ok(HmacSpec {
            header: header.to_ascii_lowercase(),
            algorithm,
            encoding,
            prefix: prefix.map(str::to_string),
        })
    }
}

pub struct HmacVerifier {
    pub spec: HmacSpec,
    pub keys: Vec<Vec<u8>>,
}

impl Verifier for HmacVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        let header = self.spec.header.as_str();
        let mut value = req.required(&[header])?;
        if let Some(prefix) = &self.spec.prefix {
            value = value
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| VerifyError::malformed(header, &format!("does not start with {prefix:?}")))?;
        }
        let sig = match self.spec.encoding {
            Encoding::Hex => hex::decode(value.trim()).ok(),
            Encoding::Base64 => b64::decode(value),
        }
        .ok_or_else(|| VerifyError::malformed(header, "cannot decode the signature"))?;
        let check = |k: &Vec<u8>| match self.spec.algorithm {
            Algorithm::Sha256 => mac::verify_sha256(k, &[req.body], &sig),
            Algorithm::Sha1 => mac::verify_sha1(k, &[req.body], &sig),
            Algorithm::Sha512 => mac::verify_sha512(k, &[req.body], &sig),
        };
        if self.keys.iter().any(check) {
            Ok(())
        } else {
            Err(VerifyError::mismatch())
        }
    }
}

pub fn sign(spec: &HmacSpec, key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    let raw = match spec.algorithm {
        Algorithm::Sha256 => mac::sha256(key, &[input.body]),
        Algorithm::Sha1 => mac::sha1(key, &[input.body]),
        Algorithm::Sha512 => mac::sha512(key, &[input.body]),
    };
    let encoded = match spec.encoding {
        Encoding::Hex => hex::encode(raw),
        Encoding::Base64 => b64::encode(&raw),
    };
    let prefix = spec.prefix.as_deref().unwrap_or("");
    vec![(spec.header.clone(), format!("{prefix}{encoded}"))]
}
