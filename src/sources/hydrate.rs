//! Hydration: before each delivery attempt of a hydrating source's event, GET the object's
//! current state from the provider (URL from the payload), within the source's own rate
//! limit. A 404 is a state too (the object is gone); a 429/503 with `Retry-After` pauses
//! this source's hydration (capped at 1 h) without using a step of anyone's schedule; any
//! other failure fails the attempt with the reason `hydrate`, and so does a URL whose
//! placeholder renders missing, empty, `.` or `..` (no request is made: it would ask the
//! parent or the collection with the source's credentials). Never on the ingest path.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::config::HydrateSettings;
use crate::domain::template::Fields;
use crate::domain::{EventRecord, Hydrated, MAX_RETRY_AFTER, parse_retry_after};
use crate::pace::rate::TokenBucket;
use crate::telemetry::traces::Span;

/// The most a state answer may weigh.
const MAX_STATE: usize = 4 << 20;

/// Why there is no state for this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HydrateError {
    /// The provider asked to wait (429/503 with `Retry-After`): no step is used.
    Paused { until: i64, status: u16 },
    /// Anything else: the attempt fails and uses a step.
    Failed { status: Option<u16>, error: String },
}

pub struct Hydrator {
    settings: HydrateSettings,
    client: reqwest::Client,
    limiter: Option<TokenBucket>,
    paused_until: AtomicI64,
}

impl Hydrator {
    pub fn new(settings: HydrateSettings, client: reqwest::Client) -> Hydrator {
        Hydrator {
            limiter: settings.rate_limit.map(TokenBucket::new),
            settings,
            client,
            paused_until: AtomicI64::new(0),
        }
    }

    /// The state of `event`'s object at `now` (unix ms).
    pub async fn fetch(&self, event: &EventRecord, now: i64, span: &Span) -> Result<Hydrated, HydrateError> {
        let until = self.paused_until.load(Ordering::Relaxed);
        if until > now {
            return Err(HydrateError::Paused { until, status: 429 });
        }
        let payload: Option<Value> = serde_json::from_slice(&event.body).ok();
        // Checked before any request: a placeholder rendering empty, `.` or `..` would ask
        // the parent or the collection with the source's credentials.
        let url = self
            .settings
            .url
            .render_url(&Fields {
                id: &event.id,
                source: &event.source,
                event_type: event.event_type.as_deref(),
                payload: payload.as_ref(),
            })
            .map_err(|e| HydrateError::Failed {
                status: None,
                error: format!("hydrate: {e}"),
            })?;
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let mut request = self
            .client
            .get(&url)
            .timeout(self.settings.timeout)
            .header(http::header::ACCEPT, "application/json");
        if let Some(tp) = span.traceparent() {
            request = request.header("traceparent", tp);
        }
        for (name, value) in &self.settings.headers {
            request = request.header(name.as_str(), value.expose());
        }
        let failed = |status: Option<u16>, error: String| HydrateError::Failed {
            status,
            error: format!("hydrate: {error}"),
        };
        let mut response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                failed(
                    None,
                    format!("no answer within {}s", self.settings.timeout.as_secs_f64()),
                )
            } else {
                failed(None, e.without_url().to_string())
            }
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        match (status, retry_after) {
            (200..=299, _) => {}
            (404, _) => return Ok(Hydrated::Gone { status }),
            (429 | 503, Some(wait)) => {
                let until = now + wait.min(MAX_RETRY_AFTER).max(Duration::from_millis(1)).as_millis() as i64;
                self.paused_until.fetch_max(until, Ordering::Relaxed);
                return Err(HydrateError::Paused { until, status });
            }
            (s, _) => return Err(failed(Some(s), format!("HTTP {s}"))),
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > MAX_STATE => {
                    return Err(failed(
                        Some(status),
                        format!("the answer is larger than {} MiB", MAX_STATE >> 20),
                    ));
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(failed(Some(status), e.without_url().to_string())),
            }
        }
        if serde_json::from_slice::<&RawValue>(&body).is_err() {
            return Err(failed(Some(status), "the answer is not JSON".into()));
        }
        Ok(Hydrated::State(body))
    }
}
