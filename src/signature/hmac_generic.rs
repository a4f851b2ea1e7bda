//! The generic `hmac` scheme's settings, as a source's config or `inlet sign`'s flags give
//! them: a header carrying `prefix` + the hex or base64 HMAC of the raw body, with SHA-256,
//! SHA-1 or SHA-512. They become template-HMAC parameters ([`HmacSpec::params`]).

use super::hmac::{Algorithm, Encoding, HmacParams, KeyForm, Undecodable};
use super::template::Template;

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

impl HmacSpec {
    /// The template-HMAC parameters these settings stand for: the header carries `prefix`
    /// and the MAC of the body alone.
    pub fn params(&self) -> HmacParams {
        HmacParams {
            header: self.header.clone(),
            aliases: Vec::new(),
            prefix: self.prefix.clone(),
            pairs: None,
            message: Template::default(),
            algorithm: self.algorithm,
            encoding: self.encoding,
            key: KeyForm::Text,
            timestamp: None,
            undecodable: Undecodable::MalformedHeader,
            legacy: None,
        }
    }
}
