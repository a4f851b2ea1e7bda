//! Webhook intake: verify a request with its source's provider, answer the provider's
//! handshakes, then read the dedupe key, type and occurred time where the provider's file
//! (or the source's pointer overrides) say they are.

use ::http::HeaderMap;
use serde_json::Value;

use super::fields::{instant_ms, scalar_text};
use super::handshake::{self, Answer};
use super::headers;
use crate::config::WebhookSource;
use crate::providers::Locator;
use crate::signature::{KeyError, Request, Verifier, VerifyError};

/// A webhook source ready to take requests: its settings and its built verifier.
pub struct WebhookIntake {
    pub source: WebhookSource,
    verifier: Box<dyn Verifier>,
}

/// What a verified request turned out to be.
#[derive(Debug)]
pub enum Accepted {
    Event(EventDraft),
    /// A provider handshake, answered so and neither stored nor delivered.
    Handshake(Answer),
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
        let verifier = source.spec.verifier(&source.secrets, source.tolerance)?;
        Ok(WebhookIntake { source, verifier })
    }

    /// The URL the provider signed, for schemes that sign it: the source's own public URL,
    /// else the server's public URL + the request's path and query.
    pub fn signed_url(&self, server_public_url: Option<&str>, path_and_query: &str) -> Option<String> {
        if !self.source.spec.needs_url() {
            return None;
        }
        self.source
            .public_url
            .clone()
            .or_else(|| server_public_url.map(|base| format!("{base}{path_and_query}")))
    }

    /// The answer to `GET /webhooks/{source}`: the provider's GET handshake, if it has one.
    pub fn on_get(&self, query: &str) -> Option<Answer> {
        handshake::on_get(&self.source, query)
    }

    /// Verifies `body` and `headers` at `now` (unix seconds) and reads the event's parts.
    pub fn accept(&self, headers: &HeaderMap, body: &[u8], url: Option<&str>, now: i64) -> Result<Accepted, Refusal> {
        let request = Request {
            headers,
            body,
            url,
            method: "POST",
        };
        if let Some(answer) = handshake::before_verify(&self.source, &request) {
            return Ok(Accepted::Handshake(answer));
        }
        self.verifier.verify(&request, now)?;
        let json: Option<Value> = serde_json::from_slice(body).ok();
        if let Some(answer) = handshake::after_verify(&self.source, json.as_ref(), &request, now) {
            return Ok(Accepted::Handshake(answer));
        }
        let fields = &self.source.spec.provider.event;
        let h = |name: &str| request.header(&[name]).map(str::to_string);
        let body_field = |p: &str| json.as_ref().and_then(|j| j.pointer(p)).and_then(scalar_text);
        let need_json = |what: &str| -> Result<&Value, Refusal> {
            json.as_ref()
                .ok_or_else(|| Refusal::MalformedBody(format!("the body is not JSON, and {what} is read from it")))
        };
        let text_at = |l: &Locator| match l {
            Locator::Header(name) => h(name),
            Locator::Body(p) => body_field(p),
            Locator::Form(name) => form_field(body, name),
        };
        let first = |ls: &[Locator]| ls.iter().find_map(text_at);

        let id = match (&self.source.id, &self.source.id_header) {
            (Some(p), _) => Some(required_field(need_json("the id")?, p)?),
            (None, Some(name)) => h(name),
            (None, None) if fields.id_required => match first(&fields.id) {
                Some(id) => Some(id),
                None => {
                    let wanted = match fields.id.first() {
                        Some(Locator::Body(p)) => p.clone(),
                        Some(other) => other.to_string(),
                        None => "the provider's id field".into(),
                    };
                    need_json("the id")?;
                    return Err(Refusal::MalformedBody(format!(
                        "the body has no usable value at {wanted}"
                    )));
                }
            },
            (None, None) => first(&fields.id),
        };
        let id = id.unwrap_or_else(|| format!("sha256:{}", crate::signature::body_sha256_hex(body)));
        let dedupe_key = match &self.source.version {
            Some(p) => format!("{id}@{}", required_field(need_json("the version")?, p)?),
            None => id,
        };

        let event_type = match (&self.source.event_type, &self.source.type_header) {
            (Some(p), _) => body_field(p),
            (None, Some(name)) => h(name),
            (None, None) => first(&fields.event_type).map(|t| match fields.type_suffix.as_ref().and_then(text_at) {
                Some(suffix) => format!("{t}.{suffix}"),
                None => t,
            }),
        };

        let instant_at = |l: &Locator| match l {
            Locator::Body(p) => json.as_ref().and_then(|j| j.pointer(p)).and_then(instant_ms),
            Locator::Header(_) | Locator::Form(_) => text_at(l).and_then(|t| instant_ms(&Value::String(t))),
        };
        let occurred_at = match &self.source.occurred_at {
            Some(p) => json.as_ref().and_then(|j| j.pointer(p)).and_then(instant_ms),
            None => fields.occurred.iter().find_map(instant_at),
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

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;
