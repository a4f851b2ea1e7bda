//! The HTTP destination: POST the envelope (or the provider's raw body and headers) to the
//! user's endpoint, signed with Standard Webhooks when a secret is set. One pooled client
//! per destination; redirects are not followed; the response's status, `Retry-After` and
//! first KiB decide the outcome.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde::Deserialize;

use super::{AttemptResult, Delivery, Destination, envelope_bytes};
use crate::domain::mask::mask_url;
use crate::domain::settings::{ConfigError, check_url, typed};
use crate::domain::{EventRecord, Via};
use crate::domain::{Outcome, parse_retry_after};
use crate::signature::Secret;
use crate::signature::{Family, SignInput, StandardParams, sign};

const EXCERPT: usize = 1024;

/// An `http` destination's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub format: Format,
    pub secret: Option<Secret>,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Envelope,
    Raw,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    format: Option<String>,
    secret: Option<String>,
    headers: Option<std::collections::BTreeMap<String, String>>,
}

impl Settings {
    /// Reads the kind's own keys (`prefix` is `destinations.NAME`); any other key is refused.
    pub fn parse(table: toml::Value, prefix: &str) -> Result<Settings, ConfigError> {
        let at = |key: &str| format!("{prefix}.{key}");
        let raw: Raw = typed(table, prefix)?;
        let format = match raw.format.as_deref() {
            None | Some("envelope") => Format::Envelope,
            Some("raw") => Format::Raw,
            Some(f) => {
                return Err(ConfigError::at(
                    at("format"),
                    format!("{f:?}: use \"envelope\" or \"raw\""),
                ));
            }
        };
        let secret = match raw.secret {
            None => None,
            Some(s) if s.trim().is_empty() => return Err(ConfigError::at(at("secret"), "must not be empty")),
            Some(s) => {
                let secret = Secret::new(s);
                crate::signature::check_signing_secret(&secret)
                    .map_err(|e| ConfigError::at(at("secret"), e.to_string()))?;
                Some(secret)
            }
        };
        Ok(Settings {
            url: check_url(&raw.url, &at("url"))?,
            format,
            secret,
            headers: raw.headers.unwrap_or_default().into_iter().collect(),
        })
    }
}

impl Settings {
    /// One line for `inlet check`: the URL with its credentials masked.
    pub fn describe(&self) -> String {
        mask_url(&self.url)
    }
}

pub struct HttpDestination {
    settings: Settings,
    /// `settings.url`, parsed once rather than per attempt.
    url: reqwest::Url,
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpDestination {
    pub fn new(settings: Settings, timeout: Duration, concurrency: u32) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(concurrency as usize)
            .user_agent(concat!("inlet/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpDestination {
            url: reqwest::Url::parse(&settings.url)?,
            settings,
            client,
            timeout,
        })
    }

    fn headers(&self, event: &EventRecord, traceparent: Option<&str>, body: &[u8], now: i64) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut put = |name: &str, value: &str| {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                map.insert(n, v);
            }
        };
        match (event.via, self.settings.format) {
            (Via::Alert, _) | (_, Format::Envelope) => put("content-type", "application/json"),
            (_, Format::Raw) => {
                for (name, value) in &event.headers {
                    put(name, value);
                }
            }
        }
        for (name, value) in &self.settings.headers {
            put(name, value);
        }
        if let Some(tp) = traceparent {
            put("traceparent", tp);
        }
        if let Some(secret) = &self.settings.secret {
            let input = SignInput {
                body,
                at: now.div_euclid(1000),
                // An alert's notification: `alr_….open` / `.resolved`, the same on every try.
                id: if event.via == Via::Alert {
                    &event.dedupe_key
                } else {
                    &event.id
                },
                url: None,
                headers: &[],
            };
            // The secret was checked at start-up, so signing cannot fail here.
            let standard = Family::Standard(StandardParams::default());
            for (name, value) in sign(&standard, secret, &input).unwrap_or_default() {
                put(&name, &value);
            }
        }
        map
    }
}

#[async_trait]
impl Destination for HttpDestination {
    async fn deliver(&self, delivery: &Delivery<'_>, now: i64) -> AttemptResult {
        let event = delivery.event;
        // An alert's notification is its JSON as it is, whatever the format.
        let body = match (event.via, self.settings.format) {
            (Via::Alert, _) | (_, Format::Raw) => event.body.clone(),
            (_, Format::Envelope) => envelope_bytes(event, delivery.state),
        };
        let headers = self.headers(event, delivery.traceparent, &body, now);
        let request = self.client.post(self.url.clone()).headers(headers).body(body);
        send(request, self.timeout, now).await
    }
}

/// Sends one attempt's request and classifies the answer: 2xx delivered, 410 gone, 429/503
/// with `Retry-After` throttled, anything else (or no answer) failed.
pub(super) async fn send(request: reqwest::RequestBuilder, timeout: Duration, now: i64) -> AttemptResult {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let error = if e.is_timeout() {
                format!("timeout after {}s", timeout.as_secs_f64())
            } else if e.is_connect() {
                format!("connection failed: {}", root_cause(&e))
            } else {
                format!("request failed: {}", root_cause(&e))
            };
            return AttemptResult::failed(error);
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    let excerpt = excerpt(response).await;
    let outcome = match status {
        200..=299 => Outcome::Delivered { status: Some(status) },
        410 => Outcome::Gone { status },
        429 | 503 if retry_after.is_some() => Outcome::Throttled {
            status,
            retry_after: retry_after.unwrap_or_default(),
        },
        _ => Outcome::Failed {
            status: Some(status),
            error: format!("HTTP {status}"),
            retry_after,
        },
    };
    AttemptResult {
        outcome,
        response_excerpt: Some(excerpt),
    }
}

/// The first KiB of the response body, read no further.
pub(super) async fn excerpt(mut response: reqwest::Response) -> String {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        out.extend_from_slice(&chunk[..chunk.len().min(EXCERPT - out.len())]);
        if out.len() >= EXCERPT {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
