//! Webhook signature schemes: verifying what providers send and signing like they do.
//!
//! Owns the closed set of schemes ([`SchemeSpec`]), the verification error KINDs of the
//! contract ([`ErrorKind`]), and one [`Verifier`] per scheme built by [`verifier`], the one
//! `match` from configuration to behaviour. Everything here is pure: it reads the raw body
//! bytes and headers it is given and the clock value passed in, and does no I/O. Extracting
//! ids and types from a verified request belongs to `sources::webhook`, not here.

mod discord;
mod github;
mod hmac_generic;
mod intercom;
mod keys;
mod linear;
mod mac;
mod mailgun;
mod paddle;
mod sendgrid;
mod shopify;
mod slack;
mod square;
mod standard;
mod stripe;
mod twilio;
pub mod zoom;

use std::time::Duration;

use ::http::HeaderMap;

pub use hmac_generic::{Algorithm, Encoding, HmacField, HmacSpec};
pub use keys::{KeyError, Secret};
pub use mac::sha256_hex as body_sha256_hex;

/// A signature header listing more candidate signatures than this is `malformed_header`.
pub const MAX_CANDIDATES: usize = 16;
/// A signature header (all its lines together) longer than this is `malformed_header`.
pub const MAX_SIGNATURE_HEADER: usize = 8 * 1024;

/// The schemes a webhook source can verify, by their config name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Stripe,
    Standard,
    Github,
    Shopify,
    Slack,
    Twilio,
    Paddle,
    Square,
    Sendgrid,
    Mailgun,
    Discord,
    Zoom,
    Linear,
    Intercom,
    Hmac,
    None,
}

impl Scheme {
    pub const ALL: [Scheme; 16] = [
        Scheme::Stripe,
        Scheme::Standard,
        Scheme::Github,
        Scheme::Shopify,
        Scheme::Slack,
        Scheme::Twilio,
        Scheme::Paddle,
        Scheme::Square,
        Scheme::Sendgrid,
        Scheme::Mailgun,
        Scheme::Discord,
        Scheme::Zoom,
        Scheme::Linear,
        Scheme::Intercom,
        Scheme::Hmac,
        Scheme::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Stripe => "stripe",
            Scheme::Standard => "standard",
            Scheme::Github => "github",
            Scheme::Shopify => "shopify",
            Scheme::Slack => "slack",
            Scheme::Twilio => "twilio",
            Scheme::Paddle => "paddle",
            Scheme::Square => "square",
            Scheme::Sendgrid => "sendgrid",
            Scheme::Mailgun => "mailgun",
            Scheme::Discord => "discord",
            Scheme::Zoom => "zoom",
            Scheme::Linear => "linear",
            Scheme::Intercom => "intercom",
            Scheme::Hmac => "hmac",
            Scheme::None => "none",
        }
    }

    pub fn parse(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The default replay window of schemes that sign a timestamp; `None` for the others.
    pub fn default_tolerance(self) -> Option<Duration> {
        match self {
            Scheme::Stripe
            | Scheme::Standard
            | Scheme::Slack
            | Scheme::Sendgrid
            | Scheme::Mailgun
            | Scheme::Discord
            | Scheme::Zoom => Some(Duration::from_secs(300)),
            Scheme::Linear => Some(Duration::from_secs(60)),
            Scheme::Paddle => Some(Duration::from_secs(5)),
            _ => None,
        }
    }

    /// This scheme with its settings; `hmac` is called only for the `hmac` scheme.
    pub fn spec<E>(self, allow_sha1: bool, hmac: impl FnOnce() -> Result<HmacSpec, E>) -> Result<SchemeSpec, E> {
        Ok(match self {
            Scheme::Stripe => SchemeSpec::Stripe,
            Scheme::Standard => SchemeSpec::Standard,
            Scheme::Github => SchemeSpec::Github { allow_sha1 },
            Scheme::Shopify => SchemeSpec::Shopify,
            Scheme::Slack => SchemeSpec::Slack,
            Scheme::Twilio => SchemeSpec::Twilio,
            Scheme::Paddle => SchemeSpec::Paddle,
            Scheme::Square => SchemeSpec::Square,
            Scheme::Sendgrid => SchemeSpec::Sendgrid,
            Scheme::Mailgun => SchemeSpec::Mailgun,
            Scheme::Discord => SchemeSpec::Discord,
            Scheme::Zoom => SchemeSpec::Zoom,
            Scheme::Linear => SchemeSpec::Linear,
            Scheme::Intercom => SchemeSpec::Intercom,
            Scheme::Hmac => SchemeSpec::Hmac(hmac()?),
            Scheme::None => SchemeSpec::None,
        })
    }

    /// Whether the signed string includes the URL the provider called.
    pub fn needs_url(self) -> bool {
        matches!(self, Scheme::Twilio | Scheme::Square)
    }

    /// Header names (lowercase) that carry signatures and never leave the verifier:
    /// they are dropped from stored events and redacted from rejected-request records.
    pub fn signature_headers(self) -> &'static [&'static str] {
        match self {
            Scheme::Stripe => &["stripe-signature"],
            Scheme::Standard => &["webhook-signature", "svix-signature"],
            Scheme::Github => &["x-hub-signature-256", "x-hub-signature"],
            Scheme::Shopify => &["x-shopify-hmac-sha256", "shopify-hmac-sha256"],
            Scheme::Slack => &["x-slack-signature"],
            Scheme::Twilio => &["x-twilio-signature"],
            Scheme::Paddle => &["paddle-signature"],
            Scheme::Square => &["x-square-hmacsha256-signature", "x-square-signature"],
            Scheme::Sendgrid => &["x-twilio-email-event-webhook-signature"],
            Scheme::Discord => &["x-signature-ed25519"],
            Scheme::Zoom => &["x-zm-signature"],
            Scheme::Linear => &["linear-signature"],
            Scheme::Intercom => &["x-hub-signature"],
            // Mailgun's signature is in the body; it signs a timestamp and a token, not a secret.
            Scheme::Mailgun | Scheme::Hmac | Scheme::None => &[],
        }
    }
}

/// A scheme together with its scheme-specific settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemeSpec {
    Stripe,
    Standard,
    Github { allow_sha1: bool },
    Shopify,
    Slack,
    Twilio,
    Paddle,
    Square,
    Sendgrid,
    Mailgun,
    Discord,
    Zoom,
    Linear,
    Intercom,
    Hmac(HmacSpec),
    None,
}

impl SchemeSpec {
    pub fn scheme(&self) -> Scheme {
        match self {
            SchemeSpec::Stripe => Scheme::Stripe,
            SchemeSpec::Standard => Scheme::Standard,
            SchemeSpec::Github { .. } => Scheme::Github,
            SchemeSpec::Shopify => Scheme::Shopify,
            SchemeSpec::Slack => Scheme::Slack,
            SchemeSpec::Twilio => Scheme::Twilio,
            SchemeSpec::Paddle => Scheme::Paddle,
            SchemeSpec::Square => Scheme::Square,
            SchemeSpec::Sendgrid => Scheme::Sendgrid,
            SchemeSpec::Mailgun => Scheme::Mailgun,
            SchemeSpec::Discord => Scheme::Discord,
            SchemeSpec::Zoom => Scheme::Zoom,
            SchemeSpec::Linear => Scheme::Linear,
            SchemeSpec::Intercom => Scheme::Intercom,
            SchemeSpec::Hmac(_) => Scheme::Hmac,
            SchemeSpec::None => Scheme::None,
        }
    }

    /// The headers this spec treats as signatures: the scheme's, and the `hmac` header.
    pub fn signature_header_names(&self) -> impl Iterator<Item = &str> {
        let hmac_header = match self {
            SchemeSpec::Hmac(h) => Some(h.header.as_str()),
            _ => None,
        };
        hmac_header
            .into_iter()
            .chain(self.scheme().signature_headers().iter().copied())
    }

    /// True when `name` (any case) is a header this spec treats as a signature.
    pub fn is_signature_header(&self, name: &str) -> bool {
        self.signature_header_names().any(|h| h.eq_ignore_ascii_case(name))
    }
}

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

/// One inbound request as the verifier sees it: headers, the raw body bytes, and the URL
/// the provider called (needed by `twilio` and `square`).
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub url: Option<&'a str>,
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

/// What `sign` needs besides the secret: the body, the signing time, an id for schemes that
/// send one in a header, and the URL for schemes that sign it.
pub struct SignInput<'a> {
    pub body: &'a [u8],
    pub at: i64,
    pub id: &'a str,
    pub url: Option<&'a str>,
}

/// Builds the verifier for `spec` with every secret of the source (any one may match).
pub fn verifier(
    spec: &SchemeSpec,
    secrets: &[Secret],
    tolerance: Option<Duration>,
) -> Result<Box<dyn Verifier>, KeyError> {
    let window = tolerance
        .or(spec.scheme().default_tolerance())
        .unwrap_or_default()
        .as_secs() as i64;
    let raw = || {
        secrets
            .iter()
            .map(|s| s.expose().as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    let inner: Box<dyn Verifier> = match spec {
        SchemeSpec::Stripe => Box::new(stripe::StripeVerifier { keys: raw(), window }),
        SchemeSpec::Standard => Box::new(standard::StandardVerifier::new(secrets, window)?),
        SchemeSpec::Github { allow_sha1 } => Box::new(github::GithubVerifier {
            keys: raw(),
            allow_sha1: *allow_sha1,
        }),
        SchemeSpec::Shopify => Box::new(shopify::ShopifyVerifier { keys: raw() }),
        SchemeSpec::Slack => Box::new(slack::SlackVerifier { keys: raw(), window }),
        SchemeSpec::Twilio => Box::new(twilio::TwilioVerifier { keys: raw() }),
        SchemeSpec::Paddle => Box::new(paddle::PaddleVerifier { keys: raw(), window }),
        SchemeSpec::Square => Box::new(square::SquareVerifier { keys: raw() }),
        SchemeSpec::Sendgrid => Box::new(sendgrid::SendgridVerifier::new(secrets, window)?),
        SchemeSpec::Mailgun => Box::new(mailgun::MailgunVerifier::new(raw(), window)),
        SchemeSpec::Discord => Box::new(discord::DiscordVerifier::new(secrets, window)?),
        SchemeSpec::Zoom => Box::new(zoom::ZoomVerifier { keys: raw(), window }),
        SchemeSpec::Linear => Box::new(linear::LinearVerifier { keys: raw(), window }),
        SchemeSpec::Intercom => Box::new(intercom::IntercomVerifier { keys: raw() }),
        SchemeSpec::Hmac(h) => Box::new(hmac_generic::HmacVerifier {
            spec: h.clone(),
            keys: raw(),
        }),
        SchemeSpec::None => Box::new(AcceptAll),
    };
    Ok(Box::new(Bounded {
        spec: spec.clone(),
        inner,
    }))
}

/// Every scheme's verifier behind one check: a signature header over
/// [`MAX_SIGNATURE_HEADER`] is refused before anything parses it.
struct Bounded {
    spec: SchemeSpec,
    inner: Box<dyn Verifier>,
}

impl Verifier for Bounded {
    fn verify(&self, request: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        for name in self.spec.signature_header_names() {
            let size: usize = request.headers.get_all(name).iter().map(|v| v.len()).sum();
            if size > MAX_SIGNATURE_HEADER {
                return Err(VerifyError::malformed(name, "longer than 8 KiB"));
            }
        }
        self.inner.verify(request, now)
    }
}

/// The headers a provider using `spec` would send for `input`, as `(name, value)` pairs.
pub fn sign(spec: &SchemeSpec, secret: &Secret, input: &SignInput<'_>) -> Result<Vec<(String, String)>, KeyError> {
    let key = secret.expose().as_bytes();
    let needs_url = || input.url.ok_or(KeyError::UrlRequired(spec.scheme().as_str()));
    Ok(match spec {
        SchemeSpec::Stripe => stripe::sign(key, input),
        SchemeSpec::Standard => standard::sign(secret, input)?,
        SchemeSpec::Github { .. } => github::sign(key, input),
        SchemeSpec::Shopify => shopify::sign(key, input),
        SchemeSpec::Slack => slack::sign(key, input),
        SchemeSpec::Twilio => twilio::sign(key, needs_url()?, input.body),
        SchemeSpec::Paddle => paddle::sign(key, input),
        SchemeSpec::Square => square::sign(key, needs_url()?, input.body),
        SchemeSpec::Sendgrid => sendgrid::sign(secret, input)?,
        // The signature goes into the body: see `sign_body`.
        SchemeSpec::Mailgun => Vec::new(),
        SchemeSpec::Discord => discord::sign(secret, input)?,
        SchemeSpec::Zoom => zoom::sign(key, input),
        SchemeSpec::Linear => linear::sign(key, input),
        SchemeSpec::Intercom => intercom::sign(key, input),
        SchemeSpec::Hmac(h) => hmac_generic::sign(h, key, input),
        SchemeSpec::None => Vec::new(),
    })
}

/// For schemes that sign inside the body (mailgun): the body as the provider would send
/// it, signed. `None` for every other scheme: the body goes as it is.
pub fn sign_body(spec: &SchemeSpec, secret: &Secret, input: &SignInput<'_>) -> Option<Vec<u8>> {
    match spec {
        SchemeSpec::Mailgun => Some(mailgun::sign_body(secret.expose().as_bytes(), input)),
        _ => None,
    }
}

/// The Discord public key (hex) that verifies what `sign` makes with a private seed (hex).
pub fn discord_public_key(seed_hex: &str) -> Result<String, KeyError> {
    discord::public_key_hex(seed_hex)
}

/// Checks that `secret` can sign deliveries with Standard Webhooks: a `whsec_` HMAC key or
/// a `whsk_` Ed25519 secret key (a `whpk_` public key verifies but cannot sign).
pub fn check_signing_secret(secret: &Secret) -> Result<(), KeyError> {
    match standard::Key::parse(secret.expose())? {
        standard::Key::Public(_) => Err(KeyError::PublicKeyCannotSign),
        standard::Key::Hmac(_) | standard::Key::Private(_) => Ok(()),
    }
}

struct AcceptAll;

impl Verifier for AcceptAll {
    fn verify(&self, _: &Request<'_>, _: i64) -> Result<(), VerifyError> {
        Ok(())
    }
}

/// Checks a signed timestamp against a symmetric window of `window` seconds.
fn check_window(ts: i64, now: i64, window: i64) -> Result<(), VerifyError> {
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

#[cfg(test)]
mod tests;
