//! Provider handshakes: requests that prove the endpoint to the provider and are answered
//! as that provider requires, neither stored nor delivered. POST handshakes are answered
//! only after the request verified (Slack, Discord, Zoom, Twitch, Xero), except the setup
//! handshakes that hand over the secret itself (Asana, Notion); GET handshakes
//! (Meta's `hub.challenge`, X's CRC, Dropbox's and Nylas's `challenge`) after the check each allows.
//! Which provider sends which is its file's; the answers are here.

use serde_json::Value;

use crate::config::WebhookSource;
use crate::providers::Handshake;
use crate::signature::{self, Request};

/// The longest challenge echoed back; a longer one is refused, so an unauthenticated GET
/// costs a bounded answer.
pub const MAX_CHALLENGE: usize = 512;

/// A handshake's answer: status, content type and body, and headers to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
    /// A secret the provider handed over that the operator must configure (Asana's hook
    /// secret, Notion's verification token): kept as a `handshake_secret` record.
    pub reveal: Option<(&'static str, String)>,
}

impl Answer {
    fn json(value: Value) -> Answer {
        Answer {
            status: 200,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            headers: Vec::new(),
            reveal: None,
        }
    }

    fn text(text: &str) -> Answer {
        Answer {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
            headers: vec![("x-content-type-options", "nosniff".into())],
            reveal: None,
        }
    }

    fn status(status: u16) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Vec::new(),
            headers: Vec::new(),
            reveal: None,
        }
    }
}

/// The answer to an unsigned POST that is the provider's setup handshake (Asana's
/// `X-Hook-Secret`, Notion's `verification_token`): these arrive before any secret exists,
/// so they cannot be verified. Answering costs nothing and stores no event; the secret is
/// revealed to the operator, who must check it came from the webhook they just created.
pub fn before_verify(source: &WebhookSource, req: &Request<'_>) -> Option<Answer> {
    source.spec.provider.handshakes.iter().find_map(|h| match h {
        Handshake::AsanaHookSecret => {
            let secret = req.header(&["x-hook-secret"]).filter(|s| s.len() <= MAX_CHALLENGE)?;
            if req.header(&["x-hook-signature"]).is_some() {
                return None;
            }
            let mut answer = Answer::status(200);
            answer.headers.push(("x-hook-secret", secret.to_string()));
            answer.reveal = Some(("x-hook-secret", secret.to_string()));
            Some(answer)
        }
        Handshake::NotionVerificationToken => {
            if req.header(&["x-notion-signature"]).is_some() || req.body.len() > MAX_CHALLENGE {
                return None;
            }
            let json: Value = serde_json::from_slice(req.body).ok()?;
            let token = json.get("verification_token")?.as_str()?.to_string();
            let mut answer = Answer::json(serde_json::json!({}));
            answer.reveal = Some(("verification_token", token));
            Some(answer)
        }
        Handshake::SlackUrlVerification
        | Handshake::DiscordPing
        | Handshake::ZoomUrlValidation
        | Handshake::TwitchCallbackVerification
        | Handshake::XeroIntentToReceive
        | Handshake::MetaVerifyToken
        | Handshake::XCrc
        | Handshake::ChallengeEcho => None,
    })
}

/// The answer to a verified POST that is one of the source's provider's handshakes.
pub fn after_verify(source: &WebhookSource, json: Option<&Value>, req: &Request<'_>, now: i64) -> Option<Answer> {
    source.spec.provider.handshakes.iter().find_map(|h| match h {
        Handshake::SlackUrlVerification => {
            let j = json?;
            (j.get("type")?.as_str()? == "url_verification").then(|| {
                let challenge = j.get("challenge").cloned().unwrap_or(Value::Null);
                Answer::json(serde_json::json!({ "challenge": challenge }))
            })
        }
        Handshake::DiscordPing => {
            (json?.get("type")?.as_i64()? == 1).then(|| Answer::json(serde_json::json!({ "type": 1 })))
        }
        Handshake::ZoomUrlValidation => {
            let j = json?;
            if j.get("event")?.as_str()? != "endpoint.url_validation" {
                return None;
            }
            let plain = j.pointer("/payload/plainToken")?.as_str()?;
            // Keyed with the secret that signed this request.
            let secret = source.secrets.iter().find(|s| {
                source
                    .spec
                    .verifier(std::slice::from_ref(*s), source.tolerance)
                    .is_ok_and(|v| v.verify(req, now).is_ok())
            })?;
            let token = hex::encode(signature::hmac_sha256(secret.expose().as_bytes(), &[plain.as_bytes()]));
            Some(Answer::json(
                serde_json::json!({ "plainToken": plain, "encryptedToken": token }),
            ))
        }
        Handshake::TwitchCallbackVerification => {
            let kind = req.header(&["twitch-eventsub-message-type"])?;
            if kind != "webhook_callback_verification" {
                return None;
            }
            let challenge = json?.get("challenge")?.as_str()?;
            Some(Answer::text(challenge))
        }
        Handshake::XeroIntentToReceive => {
            let events = json?.get("events")?.as_array()?;
            events.is_empty().then(|| Answer::status(200))
        }
        Handshake::MetaVerifyToken
        | Handshake::XCrc
        | Handshake::ChallengeEcho
        | Handshake::AsanaHookSecret
        | Handshake::NotionVerificationToken => None,
    })
}

/// The answer to `GET /webhooks/{source}?query`: `None` when the provider has no GET
/// handshake (the caller answers 405).
pub fn on_get(source: &WebhookSource, query: &str) -> Option<Answer> {
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let bounded = |v: Option<String>| v.filter(|c| !c.is_empty() && c.len() <= MAX_CHALLENGE);
    source.spec.provider.handshakes.iter().find_map(|h| match h {
        Handshake::MetaVerifyToken => Some(match (bounded(param("hub.challenge")), param("hub.verify_token")) {
            (Some(challenge), Some(token))
                if param("hub.mode").as_deref() == Some("subscribe")
                    && source
                        .verify_token
                        .as_ref()
                        .is_some_and(|t| signature::constant_time_eq(t.expose().as_bytes(), token.as_bytes())) =>
            {
                Answer::text(&challenge)
            }
            (Some(_), Some(_)) => Answer::status(403),
            _ => Answer::status(400),
        }),
        Handshake::XCrc => Some(match (bounded(param("crc_token")), source.secrets.first()) {
            (Some(token), Some(secret)) => {
                let mac = signature::hmac_sha256(secret.expose().as_bytes(), &[token.as_bytes()]);
                Answer::json(serde_json::json!({
                    "response_token": format!("sha256={}", signature::b64::encode(&mac))
                }))
            }
            _ => Answer::status(400),
        }),
        Handshake::ChallengeEcho => Some(match bounded(param("challenge")) {
            Some(challenge) => Answer::text(&challenge),
            None => Answer::status(400),
        }),
        Handshake::SlackUrlVerification
        | Handshake::DiscordPing
        | Handshake::ZoomUrlValidation
        | Handshake::TwitchCallbackVerification
        | Handshake::XeroIntentToReceive
        | Handshake::AsanaHookSecret
        | Handshake::NotionVerificationToken => None,
    })
}
