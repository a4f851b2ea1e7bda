//! Webhook intake: verify a request with its source's scheme, then read the dedupe key,
//! type and occurred time the scheme (or the source's pointer overrides) say where to find.
//! Answers handshakes (Slack's `url_verification`, Discord's PING, Zoom's URL validation)
//! only after the signature checks out.

use ::http::HeaderMap;
use serde_json::Value;

use super::fields::{instant_ms, scalar_text};
use super::headers;
use crate::config::WebhookSource;
use crate::signature::{self, KeyError, Request, Scheme, Verifier, VerifyError};

/// A webhook source ready to take requests: its settings and its built verifier.
pub struct WebhookIntake {
    pub source: WebhookSource,
    verifier: Box<dyn Verifier>,
}

/// What a verified request turned out to be.
#[derive(Debug)]
pub enum Accepted {
    Event(EventDraft),
    /// A provider handshake, answered with this JSON and neither stored nor delivered.
    Handshake(Value),
}

/// The parts of an event read from a verified request.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub dedupe_key: String,
    pub event_type: Option<String>,
    pub occurred_at: Option<i64>,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Unverified(#[from] VerifyError),
    #[error("malformed_body: {0}")]
    MalformedBody(String),
}

impl Refusal {
    /// The `error` code of the 4xx answer and of the rejected-request record.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unverified(e) => e.kind.as_str(),
            Refusal::MalformedBody(_) => "malformed_body",
        }
    }
}

impl WebhookIntake {
    pub fn new(source: WebhookSource) -> Result<Self, KeyError> {
        let verifier = signature::verifier(&source.spec, &source.secrets, source.tolerance)?;
        Ok(WebhookIntake { source, verifier })
    }

    /// The URL the provider signed, for schemes that sign it: the source's own public URL,
    /// else the server's public URL + the request's path and query.
    pub fn signed_url(&self, server_public_url: Option<&str>, path_and_query: &str) -> Option<String> {
        if !self.source.spec.scheme().needs_url() {
            return None;
        }
        self.source
            .public_url
            .clone()
            .or_else(|| server_public_url.map(|base| format!("{base}{path_and_query}")))
    }

    /// The answer to a provider's handshake, for a request already verified: Slack's
    /// `url_verification`, Discord's PING, Zoom's `endpoint.url_validation`.
    fn handshake(&self, json: Option<&Value>, request: &Request<'_>) -> Option<Value> {
        let j = json?;
        match self.source.spec.scheme() {
            Scheme::Slack if j.get("type").and_then(Value::as_str) == Some("url_verification") => {
                let challenge = j.get("challenge").cloned().unwrap_or(Value::Null);
                Some(serde_json::json!({ "challenge": challenge }))
            }
            Scheme::Discord if j.get("type").and_then(Value::as_i64) == Some(1) => {
                Some(serde_json::json!({ "type": 1 }))
            }
            Scheme::Zoom if j.get("event").and_then(Value::as_str) == Some("endpoint.url_validation") => {
                let plain = j.pointer("/payload/plainToken").and_then(Value::as_str)?;
                let encrypted = signature::zoom::encrypted_token(&self.source.secrets, request, plain)?;
                Some(serde_json::json!({ "plainToken": plain, "encryptedToken": encrypted }))
            }
            _ => None,
        }
    }

    /// Verifies `body` and `headers` at `now` (unix seconds) and reads the event's parts.
    pub fn accept(&self, headers: &HeaderMap, body: &[u8], url: Option<&str>, now: i64) -> Result<Accepted, Refusal> {
        self.verifier.verify(&Request { headers, body, url }, now)?;
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let scheme = self.source.spec.scheme();
        if let Some(answer) = self.handshake(json.as_ref(), &Request { headers, body, url }) {
            return Ok(Accepted::Handshake(answer));
        }
        let h = |names: &[&str]| Request { headers, body, url }.header(names).map(str::to_string);
        let body_field = |p: &str| json.as_ref().and_then(|j| j.pointer(p)).and_then(scalar_text);
        let need_json = |what: &str| -> Result<&Value, Refusal> {
            json.as_ref()
                .ok_or_else(|| Refusal::MalformedBody(format!("the body is not JSON, and {what} is read from it")))
        };

        let id = match (&self.source.id, &self.source.id_header) {
            (Some(p), _) => Some(required_field(need_json("the id")?, p)?),
            (None, Some(name)) => h(&[name.as_str()]),
            (None, None) => match scheme {
                Scheme::Stripe => Some(required_field(need_json("the id")?, "/id")?),
                Scheme::Paddle | Scheme::Square => Some(required_field(need_json("the id")?, "/event_id")?),
                Scheme::Standard => h(&["webhook-id", "svix-id"]),
                Scheme::Github => h(&["x-github-delivery"]),
                Scheme::Shopify => h(&["x-shopify-event-id", "shopify-event-id"])
                    .or_else(|| h(&["x-shopify-webhook-id", "shopify-webhook-id"])),
                Scheme::Slack => body_field("/event_id"),
                Scheme::Twilio => h(&["i-twilio-idempotency-token"]),
                Scheme::Mailgun => body_field("/event-data/id"),
                Scheme::Discord | Scheme::Intercom => body_field("/id"),
                Scheme::Linear => h(&["linear-delivery"]),
                // SendGrid posts an array of events; Zoom sends no event id: the body hash.
                Scheme::Sendgrid | Scheme::Zoom | Scheme::Hmac | Scheme::None => None,
            },
        };
        let id = id.unwrap_or_else(|| format!("sha256:{}", crate::signature::body_sha256_hex(body)));
        let dedupe_key = match &self.source.version {
            Some(p) => format!("{id}@{}", required_field(need_json("the version")?, p)?),
            None => id,
        };

        let event_type = match (&self.source.event_type, &self.source.type_header) {
            (Some(p), _) => body_field(p),
            (None, Some(name)) => h(&[name.as_str()]),
            (None, None) => match scheme {
                Scheme::Stripe | Scheme::Standard | Scheme::Square => body_field("/type"),
                Scheme::Paddle => body_field("/event_type"),
                Scheme::Github => h(&["x-github-event"]).map(|e| match body_field("/action") {
                    Some(action) => format!("{e}.{action}"),
                    None => e,
                }),
                Scheme::Shopify => h(&["x-shopify-topic", "shopify-topic"]),
                Scheme::Slack => body_field("/event/type").or_else(|| body_field("/type")),
                Scheme::Twilio => form_status(body),
                Scheme::Mailgun => body_field("/event-data/event"),
                Scheme::Discord => body_field("/type"),
                Scheme::Zoom => body_field("/event"),
                Scheme::Linear => body_field("/type").map(|t| match body_field("/action") {
                    Some(action) => format!("{t}.{action}"),
                    None => t,
                }),
                Scheme::Intercom => body_field("/topic"),
                Scheme::Sendgrid | Scheme::Hmac | Scheme::None => None,
            },
        };

        let occurred_at = match &self.source.occurred_at {
            Some(p) => json.as_ref().and_then(|j| j.pointer(p)).and_then(instant_ms),
            None => {
                let ptr = match scheme {
                    Scheme::Stripe => Some("/created"),
                    Scheme::Paddle => Some("/occurred_at"),
                    Scheme::Square => Some("/created_at"),
                    Scheme::Slack => Some("/event_time"),
                    Scheme::Mailgun => Some("/event-data/timestamp"),
                    Scheme::Linear => Some("/createdAt"),
                    Scheme::Intercom => Some("/created_at"),
                    _ => None,
                };
                ptr.and_then(|p| json.as_ref()?.pointer(p))
                    .and_then(instant_ms)
                    .or_else(|| {
                        (scheme == Scheme::Shopify)
                            .then(|| h(&["x-shopify-triggered-at", "shopify-triggered-at"]))
                            .flatten()
                            .and_then(|t| instant_ms(&Value::String(t)))
                    })
            }
        };

        Ok(Accepted::Event(EventDraft {
            dedupe_key,
            event_type,
            occurred_at,
            content_type: headers
                .get(::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            headers: headers::kept(&self.source.spec, headers),
        }))
    }
}

fn required_field(json: &Value, pointer: &str) -> Result<String, Refusal> {
    json.pointer(pointer)
        .and_then(scalar_text)
        .ok_or_else(|| Refusal::MalformedBody(format!("the body has no usable value at {pointer}")))
}

fn form_status(body: &[u8]) -> Option<String> {
    let mut found = None;
    for (k, v) in form_urlencoded::parse(body) {
        if matches!(k.as_ref(), "MessageStatus" | "CallStatus" | "SmsStatus") && found.is_none() {
            found = Some(v.into_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests;
