//! One event to the developer's app: its body read back byte for byte, headers made afresh
//! for each try (`raw`: the source's own scheme, as its provider signs, with the listen
//! secret; `envelope`: inlet's envelope, Standard Webhooks signed), POSTed up to three
//! times a second apart, one printed line per try.
//!
//! Not here: which events, in which order (`follow.rs`); the printed layout (`screen.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::api::{Api, Failure};
use super::screen::{Screen, Try};
use crate::domain::{EventRecord, Via};
use crate::providers::SchemeSpec;
use crate::signature::{Family, Secret, SignInput, StandardParams};

/// How many times the local app is tried, a second apart.
const TRIES: u32 = 3;

/// What the app receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The provider's body and content type, with its signature headers made with the secret.
    Raw,
    /// inlet's JSON envelope, signed as Standard Webhooks.
    Envelope,
}

/// How one source's events are signed in `raw` format.
pub enum Signer {
    /// As its provider signs.
    Scheme(Box<SchemeSpec>),
    /// Standard Webhooks (a poll source: its provider signs nothing).
    Standard,
}

/// Headers never copied from the stored request: they describe the old connection.
const HOP: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
];

pub struct Forwarder {
    pub http: reqwest::Client,
    pub to: String,
    pub format: Format,
    pub secret: Secret,
    pub signers: HashMap<String, Signer>,
}

impl Forwarder {
    /// Forwards `summary`'s event; `Err` only when inlet could not be asked for it (the
    /// event stays unforwarded, to be tried after the reconnect).
    pub async fn forward(&self, api: &Api, summary: &Value, screen: &Screen) -> Result<(), Failure> {
        let id = summary["id"].as_str().unwrap_or_default();
        let (body, content_type) = match api.bytes(&format!("/api/v1/events/{id}/body")).await {
            Ok(got) => got,
            // Gone between the list and now (retention): nothing to forward.
            Err(Failure::Answered(404, _)) => {
                screen.event(summary, &Try::NotSent("no longer stored".into()));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let kept: Vec<(String, String)> = match self.format {
            Format::Envelope => Vec::new(),
            Format::Raw => {
                let detail = api.json(&format!("/api/v1/events/{id}")).await?;
                detail["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| !HOP.contains(&k.to_ascii_lowercase().as_str()))
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            }
        };
        let record = record(summary, body.to_vec(), content_type);
        for attempt in 1..=TRIES {
            let started = Instant::now();
            let outcome = match self.request(&record, &kept) {
                Ok(request) => match request.send().await {
                    Ok(r) => Ok(r.status().as_u16()),
                    Err(e) => Err(if e.is_timeout() {
                        "timed out".to_string()
                    } else if e.is_connect() {
                        "unreachable: connection refused".to_string()
                    } else {
                        format!("failed: {}", e.without_url())
                    }),
                },
                Err(e) => {
                    screen.event(summary, &Try::NotSent(e));
                    return Ok(());
                }
            };
            let took = started.elapsed();
            let done = matches!(outcome, Ok(200..=299));
            screen.event(
                summary,
                &Try::Answered {
                    outcome,
                    took,
                    attempt,
                    of: TRIES,
                },
            );
            if done {
                return Ok(());
            }
            if attempt < TRIES {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        screen.skipped(summary, TRIES);
        Ok(())
    }

    /// The request for one try, signed now.
    fn request(&self, event: &EventRecord, kept: &[(String, String)]) -> Result<reqwest::RequestBuilder, String> {
        let now = chrono::Utc::now().timestamp();
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut body = event.body.clone();
        let standard = |body: &[u8], id: &str| {
            let input = SignInput {
                body,
                at: now,
                id,
                url: None,
                headers: &[],
            };
            crate::signature::sign(&Family::Standard(StandardParams::default()), &self.secret, &input)
                .map_err(|e| format!("the secret cannot sign Standard Webhooks: {e}"))
        };
        match (self.format, self.signers.get(&event.source)) {
            (Format::Envelope, _) => {
                body = crate::destinations::envelope_bytes(event, None);
                headers.push(("Content-Type".into(), "application/json".into()));
                headers.extend(standard(&body, &event.id)?);
            }
            (Format::Raw, Some(Signer::Scheme(spec))) => {
                let input = SignInput {
                    body: &event.body,
                    at: now,
                    id: &event.dedupe_key,
                    url: Some(&self.to),
                    headers: kept,
                };
                let signed = spec
                    .sign(&self.secret, &input)
                    .map_err(|e| format!("{} cannot be signed with this secret: {e}", spec.name()))?;
                if let Some(b) = spec.sign_body(&self.secret, &input) {
                    body = b;
                }
                headers.extend(
                    kept.iter()
                        .filter(|(k, _)| !signed.iter().any(|(s, _)| s.eq_ignore_ascii_case(k)))
                        .cloned(),
                );
                headers.extend(signed);
                if let Some(ct) = &event.content_type {
                    headers.push(("Content-Type".into(), ct.clone()));
                }
            }
            (Format::Raw, Some(Signer::Standard) | None) => {
                headers.extend(kept.iter().cloned());
                headers.extend(standard(&body, &event.id)?);
                if let Some(ct) = &event.content_type {
                    headers.push(("Content-Type".into(), ct.clone()));
                }
            }
        }
        let mut request = self.http.post(&self.to).timeout(Duration::from_secs(30)).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        Ok(request)
    }
}

/// The stored event as the envelope and the signers read it.
fn record(summary: &Value, body: Vec<u8>, content_type: Option<String>) -> EventRecord {
    let text = |k: &str| summary[k].as_str().map(str::to_string);
    let ms = |k: &str| {
        summary[k]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    };
    EventRecord {
        id: text("id").unwrap_or_default(),
        source: text("source").unwrap_or_default(),
        event_type: text("type"),
        dedupe_key: text("dedupe_key").unwrap_or_default(),
        via: Via::parse(summary["via"].as_str().unwrap_or("webhook")),
        received_at: ms("received_at").unwrap_or(0),
        occurred_at: ms("occurred_at"),
        content_type,
        headers: Vec::new(),
        body,
        traceparent: None,
    }
}
