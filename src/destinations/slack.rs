//! The Slack destination: POST `{"text": …}` to an incoming-webhook URL, the text rendered
//! from the event (`{/pointer}`, `{id}`, `{source}`, `{type}`). Slack's answer is classified
//! like any HTTP destination's (2xx, 410, 429 + Retry-After, else a failure).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::http::send;
use super::{AttemptResult, Delivery, Destination};
use crate::config::SlackDestination as Settings;
use crate::domain::template::Fields;

pub struct SlackDestination {
    settings: Settings,
    client: reqwest::Client,
    timeout: Duration,
}

impl SlackDestination {
    pub fn new(settings: Settings, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("inlet/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(SlackDestination {
            settings,
            client,
            timeout,
        })
    }
}

#[async_trait]
impl Destination for SlackDestination {
    async fn deliver(&self, delivery: &Delivery<'_>, now: i64) -> AttemptResult {
        let event = delivery.event;
        let payload: Option<Value> = serde_json::from_slice(&event.body).ok();
        let text = self.settings.text.render(&Fields {
            id: &event.id,
            source: &event.source,
            event_type: event.event_type.as_deref(),
            payload: payload.as_ref(),
        });
        let body = serde_json::json!({ "text": text }).to_string();
        let request = self
            .client
            .post(self.settings.url.expose())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        send(request, self.timeout, now).await
    }
}
