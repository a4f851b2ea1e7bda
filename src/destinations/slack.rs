//! The Slack destination: POST `{"text": …}` to an incoming-webhook URL, the text rendered
//! from the event (`{/pointer}`, `{id}`, `{source}`, `{type}`). Slack's answer is classified
//! like any HTTP destination's (2xx, 410, 429 + Retry-After, else a failure).

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

use super::http::send;
use super::{AttemptResult, Delivery, Destination};
use crate::domain::settings::{ConfigError, check_url, typed};
use crate::domain::template::Fields;
use crate::domain::template::Template;
use crate::domain::{Alert, Via};
use crate::signature::Secret;

/// A Slack incoming webhook: `{"text": …}` rendered from the event.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The webhook URL holds its credential: never printed.
    pub url: Secret,
    pub text: Template,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    text: Option<String>,
}

impl Settings {
    pub fn parse(table: toml::Value, prefix: &str) -> Result<Settings, ConfigError> {
        let at = |key: &str| format!("{prefix}.{key}");
        let raw: Raw = typed(table, prefix)?;
        let text = raw.text.as_deref().unwrap_or("{source}: {type} {id}");
        Ok(Settings {
            url: Secret::new(check_url(&raw.url, &at("url"))?),
            text: Template::parse(text).map_err(|e| ConfigError::at(at("text"), e))?,
        })
    }
}

impl Settings {
    /// One line for `inlet check`: the URL is the credential, so only what it is.
    pub fn describe(&self) -> String {
        "(incoming webhook)".to_string()
    }
}

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
        let alert = match event.via {
            Via::Alert => payload.as_ref().and_then(Alert::from_json),
            Via::Webhook | Via::Poll => None,
        };
        let text = match alert {
            // An alert's notification names the kind, the subject, the state and since when.
            Some(alert) => format!("inlet alert {}", alert.summary()),
            None => self.settings.text.render(&Fields {
                id: &event.id,
                source: &event.source,
                event_type: event.event_type.as_deref(),
                payload: payload.as_ref(),
            }),
        };
        let body = serde_json::json!({ "text": text }).to_string();
        let request = self
            .client
            .post(self.settings.url.expose())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        send(request, self.timeout, now).await
    }
}
