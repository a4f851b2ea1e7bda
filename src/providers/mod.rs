//! Providers as data. Each provider is one file under `providers/` (built into the binary
//! by `build.rs`): which signature family verifies it and with what parameters, where its
//! event id, type and occurred time are, its handshakes, its sample events for `inlet
//! trigger` and its published test vectors. This module owns their shape ([`Provider`]),
//! loading them ([`registry`]), and [`SchemeSpec`]: a provider as a source uses it. It
//! verifies nothing itself (that is `signature`'s) and reads no request (that is
//! `sources::webhook`'s).

mod fields;
mod registry;
mod sample;
mod scheme;
mod table;

use serde::Deserialize;

use crate::signature::Family;

pub use fields::{Fields, Locator};
pub use registry::{Registry, find, registry};
pub use sample::{Rendered, Sample, SampleError, render};
pub use scheme::{SchemeSpec, example_keys};
pub use table::{markdown, verifies};

/// One provider, as its file says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// The `scheme` name a source uses; the file's stem.
    pub name: String,
    /// The provider's own name, as people write it.
    pub title: String,
    /// Where the provider documents how it signs.
    pub docs: String,
    /// What is confirmed and what is not, in a sentence or two.
    #[serde(default)]
    pub notes: Option<String>,
    /// The source's `header`, `algorithm`, `encoding` and `prefix` give the parameters
    /// (the generic `hmac` scheme).
    #[serde(default)]
    pub configurable: bool,
    /// Handshakes the provider sends, answered and neither stored nor delivered.
    #[serde(default)]
    pub handshakes: Vec<Handshake>,
    pub verify: Family,
    #[serde(default)]
    pub event: Fields,
    #[serde(default)]
    pub samples: Vec<Sample>,
    #[serde(default)]
    pub vectors: Vec<Vector>,
}

/// The handshakes providers send, each answered as that provider requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handshake {
    /// Slack: a signed `{"type":"url_verification","challenge":…}` → `{"challenge":…}`.
    SlackUrlVerification,
    /// Discord: a signed PING (`{"type":1}`) → `{"type":1}`.
    DiscordPing,
    /// Zoom: a signed `endpoint.url_validation` → the plain and the HMAC'd token.
    ZoomUrlValidation,
    /// Twitch EventSub: a signed `webhook_callback_verification` → the challenge as text.
    TwitchCallbackVerification,
    /// Xero's intent to receive: a signed request with no events → 200, empty.
    XeroIntentToReceive,
    /// Asana: an unsigned POST with `X-Hook-Secret` → 200 with the same header; the
    /// secret is kept as a `handshake_secret` record for the operator to configure.
    AsanaHookSecret,
    /// Notion: an unsigned POST `{"verification_token": …}` → 200; the token is kept as
    /// a `handshake_secret` record for the operator to paste into Notion and configure.
    NotionVerificationToken,
    /// Meta: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` → the challenge
    /// when the token is the source's `verify_token`.
    MetaVerifyToken,
    /// X: `GET ?crc_token=…` → `{"response_token":"sha256=<base64 HMAC>"}`.
    XCrc,
    /// Dropbox, Nylas: `GET ?challenge=…` → the challenge as text.
    ChallengeEcho,
}

impl Handshake {
    pub fn as_str(self) -> &'static str {
        match self {
            Handshake::SlackUrlVerification => "slack_url_verification",
            Handshake::DiscordPing => "discord_ping",
            Handshake::ZoomUrlValidation => "zoom_url_validation",
            Handshake::TwitchCallbackVerification => "twitch_callback_verification",
            Handshake::XeroIntentToReceive => "xero_intent_to_receive",
            Handshake::AsanaHookSecret => "asana_hook_secret",
            Handshake::NotionVerificationToken => "notion_verification_token",
            Handshake::MetaVerifyToken => "meta_verify_token",
            Handshake::XCrc => "x_crc",
            Handshake::ChallengeEcho => "challenge_echo",
        }
    }
}

/// A test vector: a request as the provider (or its SDK's test suite) gives it, and what
/// verifying it must say. `cargo test` runs every vector of every file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    pub name: String,
    /// Where the vector comes from: a docs page or an SDK test, with its commit.
    pub source: String,
    pub secret: String,
    pub now: i64,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
    /// `valid`, or the KIND it must be refused with.
    pub expect: String,
}

/// Signs as `spec`'s provider would: [`SchemeSpec::sign`].
pub fn sign(
    spec: &SchemeSpec,
    secret: &crate::signature::Secret,
    input: &crate::signature::SignInput<'_>,
) -> Result<Vec<(String, String)>, crate::signature::KeyError> {
    spec.sign(secret, input)
}

/// The body as `spec`'s provider would send it: [`SchemeSpec::sign_body`].
pub fn sign_body(
    spec: &SchemeSpec,
    secret: &crate::signature::Secret,
    input: &crate::signature::SignInput<'_>,
) -> Option<Vec<u8>> {
    spec.sign_body(secret, input)
}

/// The Discord public key (hex) that verifies what a private seed (hex) signs.
pub fn discord_public_key(seed_hex: &str) -> Result<String, crate::signature::KeyError> {
    let discord = find("discord").ok_or_else(|| crate::signature::KeyError::Key {
        scheme: "discord",
        why: "the discord provider file is not built in".into(),
    })?;
    crate::signature::public_key_of(&discord.verify, seed_hex)
}

#[cfg(test)]
mod tests;
