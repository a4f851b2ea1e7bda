//! Webhook signature families: verifying what providers send and signing like they do.
//!
//! Owns the closed set of signature families ([`Family`], one file each: `hmac.rs` for
//! every template HMAC, `standard.rs`, `ed25519.rs`, `sendgrid.rs` (ECDSA), `twilio.rs`
//! (URL and form), `mailgun.rs` (body fields), `token.rs` (shared token, basic auth)), the
//! verification error KINDs of the contract ([`ErrorKind`]), and [`verifier`], which wraps
//! every family's verifier in the same bounds. Everything here is pure: it reads the raw
//! body bytes and headers it is given and the clock value passed in, and does no I/O.
//! Which provider uses which family with which parameters is `providers`'; extracting ids
//! and types from a verified request belongs to `sources::webhook`.

mod ed25519;
mod family;
mod hmac;
mod hmac_generic;
mod hmac_params;
mod keys;
pub mod mac;
mod mailgun;
mod sendgrid;
mod standard;
mod template;
mod timestamp;
mod token;
mod twilio;

use ::http::HeaderMap;

pub use ed25519::Ed25519Params;
pub use family::{Family, Options, StandardHeaders, StandardParams, sign, sign_body};
pub use hmac::{Algorithm, Encoding, HmacParams, KeyForm, Pairs, Undecodable};
pub use hmac_generic::{HmacField, HmacSpec};
pub use keys::{KeyError, Secret};
pub use mac::sha256_hex as body_sha256_hex;
pub use mac::{b64, equal as constant_time_eq, sha256 as hmac_sha256};
pub use template::{Part, Template};
pub use timestamp::{TimeSource, TimestampSpec, Unit};
pub use token::TokenParams;

/// A signature header listing more candidate signatures than this is `malformed_header`.
pub const MAX_CANDIDATES: usize = 16;
/// A signature header (all its lines together) longer than this is `malformed_header`.
pub const MAX_SIGNATURE_HEADER: usize = 8 * 1024;

/// The verification error KINDs of the contract, in their wire spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    MissingHeader,
    MalformedHeader,
    InvalidSignature,
    NoSupportedScheme,
    TimestampTooOld,
    TimestampTooNew,
    InvalidTimestamp,
    BodyHashMismatch,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::MissingHeader,
        ErrorKind::MalformedHeader,
        ErrorKind::InvalidSignature,
        ErrorKind::NoSupportedScheme,
        ErrorKind::TimestampTooOld,
        ErrorKind::TimestampTooNew,
        ErrorKind::InvalidTimestamp,
        ErrorKind::BodyHashMismatch,
    ];

    /// The KIND with this wire spelling.
    pub fn parse(text: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MissingHeader => "missing_header",
            ErrorKind::MalformedHeader => "malformed_header",
            ErrorKind::InvalidSignature => "invalid_signature",
            ErrorKind::NoSupportedScheme => "no_supported_scheme",
            ErrorKind::TimestampTooOld => "timestamp_too_old",
            ErrorKind::TimestampTooNew => "timestamp_too_new",
            ErrorKind::InvalidTimestamp => "invalid_timestamp",
            ErrorKind::BodyHashMismatch => "body_hash_mismatch",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request failed verification. The detail never contains a secret or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct VerifyError {
    pub kind: ErrorKind,
    pub detail: String,
}

impl VerifyError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        VerifyError {
            kind,
            detail: detail.into(),
        }
    }
    pub fn missing(header: &str) -> Self {
        Self::new(ErrorKind::MissingHeader, format!("no {header} header"))
    }
    pub fn malformed(header: &str, why: &str) -> Self {
        Self::new(ErrorKind::MalformedHeader, format!("{header}: {why}"))
    }
    pub fn mismatch() -> Self {
        Self::new(ErrorKind::InvalidSignature, "no signature matches any secret")
    }
}

/// One inbound request as the verifier sees it: headers, the raw body bytes, the URL the
/// provider called (for families that sign it) and the method.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub url: Option<&'a str>,
    pub method: &'a str,
}

impl<'a> Request<'a> {
    /// The first non-empty value of the first of `names` present, trimmed.
    pub fn header(&self, names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|name| {
            self.headers
                .get_all(*name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::trim)
                .find(|v| !v.is_empty())
        })
    }

    fn required(&self, names: &[&str]) -> Result<&'a str, VerifyError> {
        self.header(names).ok_or_else(|| VerifyError::missing(names[0]))
    }

    fn url(&self) -> Result<&'a str, VerifyError> {
        self.url.ok_or_else(|| {
            VerifyError::new(
                ErrorKind::InvalidSignature,
                "no public URL configured to verify against",
            )
        })
    }
}

/// Checks that a request was signed by the holder of one of a source's secrets.
pub trait Verifier: Send + Sync {
    /// `now` is unix seconds; schemes that sign a timestamp check it against their window
    /// after the signature, so a forged request reads `invalid_signature` and a genuine
    /// old one `timestamp_too_old`.
    fn verify(&self, request: &Request<'_>, now: i64) -> Result<(), VerifyError>;
}

/// What `sign` needs besides the secret: the body, the signing time, an id for families
/// that send one in a header, the URL for those that sign it, and the other headers the
/// request will carry (a template may sign one of them).
pub struct SignInput<'a> {
    pub body: &'a [u8],
    pub at: i64,
    pub id: &'a str,
    pub url: Option<&'a str>,
    pub headers: &'a [(String, String)],
}

/// Builds the verifier for `family` with every secret of the source (any one may match),
/// behind one check: a signature header over [`MAX_SIGNATURE_HEADER`] is refused before
/// anything parses it.
pub fn verifier(family: &Family, secrets: &[Secret], options: Options) -> Result<Box<dyn Verifier>, KeyError> {
    Ok(Box::new(Bounded {
        headers: family.signature_headers(),
        inner: family::verifier(family, secrets, options)?,
    }))
}

struct Bounded {
    headers: Vec<String>,
    inner: Box<dyn Verifier>,
}

impl Verifier for Bounded {
    fn verify(&self, request: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        for name in &self.headers {
            let size: usize = request.headers.get_all(name.as_str()).iter().map(|v| v.len()).sum();
            if size > MAX_SIGNATURE_HEADER {
                return Err(VerifyError::malformed(name, "longer than 8 KiB"));
            }
        }
        self.inner.verify(request, now)
    }
}

/// The public key that verifies what an Ed25519 family signs with a private seed.
pub fn public_key_of(family: &Family, seed: &str) -> Result<String, KeyError> {
    if let Family::Ed25519(p) = family {
        ed25519::public_key(p, seed)
    } else {
        Err(KeyError::Key {
            scheme: "ed25519",
            why: "only Ed25519 providers have a public key of a seed".into(),
        })
    }
}

/// Checks that `secret` can sign deliveries with Standard Webhooks: a `whsec_` HMAC key or
/// a `whsk_` Ed25519 secret key (a `whpk_` public key verifies but cannot sign).
pub fn check_signing_secret(secret: &Secret) -> Result<(), KeyError> {
    match standard::Key::parse(secret.expose())? {
        standard::Key::Public(_) => Err(KeyError::PublicKeyCannotSign),
        standard::Key::Hmac(_) | standard::Key::Private(_) => Ok(()),
    }
}

/// Checks a signed timestamp against a symmetric window of `window` seconds.
pub fn check_window(ts: i64, now: i64, window: i64) -> Result<(), VerifyError> {
    let age = now.saturating_sub(ts);
    if age > window {
        Err(VerifyError::new(
            ErrorKind::TimestampTooOld,
            format!("signed {age}s ago"),
        ))
    } else if age < window.saturating_neg() {
        Err(VerifyError::new(
            ErrorKind::TimestampTooNew,
            format!("signed {}s in the future", ts.saturating_sub(now)),
        ))
    } else {
        Ok(())
    }
}

fn parse_timestamp(value: &str) -> Result<i64, VerifyError> {
    value
        .parse::<i64>()
        .map_err(|_| VerifyError::new(ErrorKind::InvalidTimestamp, "timestamp is not unix seconds"))
}
