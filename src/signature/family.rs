//! The closed set of signature families ([`Family`]), each with the parameters a provider
//! file gives it, and the one `match` from a family to its verifier ([`verifier`]) and its
//! signer ([`sign`]). Code exists per family, never per provider: a provider is a file
//! under `providers/` naming one of these with its parameters.

use std::time::Duration;

use serde::Deserialize;

use super::ed25519::{self, Ed25519Params};
use super::hmac::{self, HmacParams};
use super::token::{self, TokenParams};
use super::{KeyError, Request, Secret, SignInput, Verifier, VerifyError, mailgun, sendgrid, standard, twilio};

/// Which `webhook-*` header spelling a Standard Webhooks provider sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StandardHeaders {
    #[default]
    Webhook,
    Svix,
}

/// The signature header of a URL-and-form provider.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlFormParams {
    #[serde(default = "twilio_header")]
    pub header: String,
}

fn twilio_header() -> String {
    "X-Twilio-Signature".into()
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardParams {
    /// The spelling signed requests use (both are always verified).
    #[serde(default)]
    pub headers: StandardHeaders,
}

/// A signature family with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Family {
    /// HMAC over a template of the body, a timestamp, the URL, headers.
    Hmac(HmacParams),
    /// Standard Webhooks: `webhook-id/-timestamp/-signature`, `v1` HMAC and `v1a` Ed25519.
    Standard(StandardParams),
    /// Ed25519 over the timestamp and the body.
    Ed25519(Ed25519Params),
    /// ECDSA P-256 over the timestamp and the body (SendGrid).
    Ecdsa,
    /// HMAC-SHA1 over the URL and the sorted form parameters (Twilio, Mandrill).
    UrlForm(UrlFormParams),
    /// HMAC of a timestamp and a token carried in the body (Mailgun).
    BodyFields,
    /// The secret itself in a header.
    Token(TokenParams),
    /// HTTP basic credentials.
    Basic,
    /// Nothing is checked (only with `allow_unsigned = true`).
    None,
}

/// What a source adds to its provider's family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The source's `tolerance`, overriding the provider's window.
    pub tolerance: Option<Duration>,
    /// Accept the family's retired header (`allow_sha1` for GitHub).
    pub allow_legacy: bool,
}

impl Family {
    /// The family's name, as a provider file's `family` key spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Family::Hmac(_) => "hmac",
            Family::Standard(_) => "standard",
            Family::Ed25519(_) => "ed25519",
            Family::Ecdsa => "ecdsa",
            Family::UrlForm(_) => "url_form",
            Family::BodyFields => "body_fields",
            Family::Token(_) => "token",
            Family::Basic => "basic",
            Family::None => "none",
        }
    }

    /// The default replay window, for families that sign a timestamp.
    pub fn default_tolerance(&self) -> Option<Duration> {
        let secs = match self {
            Family::Hmac(p) => p.timestamp.as_ref().map(|t| t.tolerance),
            Family::Ed25519(p) => Some(p.tolerance),
            Family::Standard(_) | Family::Ecdsa | Family::BodyFields => Some(300),
            Family::UrlForm(_) | Family::Token(_) | Family::Basic | Family::None => None,
        };
        secs.map(Duration::from_secs)
    }

    /// Whether the signed message includes the URL the provider called.
    pub fn needs_url(&self) -> bool {
        match self {
            Family::Hmac(p) => p.needs_url(),
            Family::UrlForm(_) => true,
            Family::Standard(_)
            | Family::Ed25519(_)
            | Family::Ecdsa
            | Family::BodyFields
            | Family::Token(_)
            | Family::Basic
            | Family::None => false,
        }
    }

    /// Whether the family has a retired header a source may allow (`allow_sha1`).
    pub fn has_legacy(&self) -> bool {
        matches!(self, Family::Hmac(p) if p.legacy.is_some())
    }

    /// Header names (lowercase) that carry signatures or credentials and never leave the
    /// verifier: dropped from stored events, redacted in rejected-request records.
    pub fn signature_headers(&self) -> Vec<String> {
        let fixed: &[&str] = match self {
            Family::Hmac(p) => return p.signature_headers(),
            Family::Ed25519(p) => return vec![p.header.to_ascii_lowercase()],
            Family::Token(p) => return vec![p.header.to_ascii_lowercase()],
            Family::Standard(_) => &["webhook-signature", "svix-signature"],
            Family::Ecdsa => &["x-twilio-email-event-webhook-signature"],
            Family::UrlForm(p) => return vec![p.header.to_ascii_lowercase()],
            Family::Basic => &["authorization"],
            // Mailgun's signature is in the body; it signs a timestamp and a token.
            Family::BodyFields | Family::None => &[],
        };
        fixed.iter().map(|s| s.to_string()).collect()
    }
}

/// Builds the verifier for `family` with every secret of the source (any one may match).
pub fn verifier(family: &Family, secrets: &[Secret], options: Options) -> Result<Box<dyn Verifier>, KeyError> {
    let window = options
        .tolerance
        .or(family.default_tolerance())
        .unwrap_or_default()
        .as_secs() as i64;
    let raw = || {
        secrets
            .iter()
            .map(|s| s.expose().as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    Ok(match family {
        Family::Hmac(p) => Box::new(hmac::HmacVerifier::new(p, secrets, window, options.allow_legacy)?),
        Family::Standard(_) => Box::new(standard::StandardVerifier::new(secrets, window)?),
        Family::Ed25519(p) => Box::new(ed25519::Ed25519Verifier::new(p, secrets, window)?),
        Family::Ecdsa => Box::new(sendgrid::SendgridVerifier::new(secrets, window)?),
        Family::UrlForm(p) => Box::new(twilio::TwilioVerifier {
            header: p.header.clone(),
            keys: raw(),
        }),
        Family::BodyFields => Box::new(mailgun::MailgunVerifier::new(raw(), window)),
        Family::Token(p) => Box::new(token::TokenVerifier::new(p, secrets)),
        Family::Basic => Box::new(token::BasicVerifier::new(secrets)),
        Family::None => Box::new(AcceptAll),
    })
}

/// The headers a provider of `family` would send for `input`, as `(name, value)` pairs.
pub fn sign(family: &Family, secret: &Secret, input: &SignInput<'_>) -> Result<Vec<(String, String)>, KeyError> {
    let key = secret.expose().as_bytes();
    let url = || input.url.ok_or(KeyError::UrlRequired("url_form"));
    Ok(match family {
        Family::Hmac(p) => hmac::sign(p, secret, input)?,
        Family::Standard(p) => standard::sign(secret, input, p.headers)?,
        Family::Ed25519(p) => ed25519::sign(p, secret, input)?,
        Family::Ecdsa => sendgrid::sign(secret, input)?,
        Family::UrlForm(p) => twilio::sign(&p.header, key, url()?, input.body),
        // The signature goes into the body: see `sign_body`.
        Family::BodyFields => Vec::new(),
        Family::Token(p) => token::sign(p, secret, input),
        Family::Basic => token::sign_basic(secret),
        Family::None => Vec::new(),
    })
}

/// For families that sign inside the body (Mailgun): the body as the provider would send
/// it, signed. `None` for every other family: the body goes as it is.
pub fn sign_body(family: &Family, secret: &Secret, input: &SignInput<'_>) -> Option<Vec<u8>> {
    match family {
        Family::BodyFields => Some(mailgun::sign_body(secret.expose().as_bytes(), input)),
        Family::Hmac(_)
        | Family::Standard(_)
        | Family::Ed25519(_)
        | Family::Ecdsa
        | Family::UrlForm(_)
        | Family::Token(_)
        | Family::Basic
        | Family::None => None,
    }
}

struct AcceptAll;

impl Verifier for AcceptAll {
    fn verify(&self, _: &Request<'_>, _: i64) -> Result<(), VerifyError> {
        Ok(())
    }
}
