//! The NATS JetStream destination: publish the envelope to the rendered subject with
//! `Nats-Msg-Id` = the event id (the stream drops a redelivery within its duplicate
//! window), `Inlet-Source` and `Inlet-Type`, and count it delivered only on the stream's
//! ack. At start-up `check` refuses a subject that no stream covers.

use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_trait::async_trait;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::{AttemptResult, Delivery, Destination, envelope_bytes};
use crate::domain::mask::mask_url;
use crate::domain::settings::{ConfigError, typed};
use crate::signature::Secret;

/// NATS JetStream: publish the envelope to `subject` (`{source}`, `{type}`; `none` when there
/// is no type) and wait for the stream's ack.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `nats://host:port`; may carry credentials, so never printed.
    pub url: Secret,
    pub subject: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    subject: String,
}

impl Settings {
    pub fn parse(table: toml::Value, prefix: &str) -> Result<Settings, ConfigError> {
        let at = |key: &str| format!("{prefix}.{key}");
        let raw: Raw = typed(table, prefix)?;
        if !raw.url.starts_with("nats://") && !raw.url.starts_with("tls://") {
            return Err(ConfigError::at(at("url"), "must be a nats:// or tls:// URL"));
        }
        let rest = raw.subject.replace("{source}", "s").replace("{type}", "t");
        if rest.contains(['{', '}', ' ', '*', '>']) || rest.is_empty() || rest.split('.').any(str::is_empty) {
            return Err(ConfigError::at(
                at("subject"),
                "a subject of dot-separated tokens; placeholders {source} and {type} only, no wildcards",
            ));
        }
        Ok(Settings {
            url: Secret::new(raw.url),
            subject: raw.subject,
        })
    }
}

impl Settings {
    /// One line for `inlet check`: the URL with its credentials masked, and the subject.
    pub fn describe(&self) -> String {
        format!("{} subject {}", mask_url(self.url.expose()), self.subject)
    }
}

pub struct NatsDestination {
    settings: Settings,
    timeout: Duration,
    jetstream: OnceCell<async_nats::jetstream::Context>,
}

impl NatsDestination {
    pub fn new(settings: Settings, timeout: Duration) -> Self {
        NatsDestination {
            settings,
            timeout,
            jetstream: OnceCell::new(),
        }
    }

    /// `{source}` and `{type}` filled in; `none` for no type; a type's dots make deeper subjects.
    pub fn subject(&self, source: &str, event_type: Option<&str>) -> String {
        self.settings
            .subject
            .replace("{source}", source)
            .replace("{type}", event_type.filter(|t| !t.is_empty()).unwrap_or("none"))
    }

    async fn context(&self) -> Result<&async_nats::jetstream::Context, String> {
        self.jetstream
            .get_or_try_init(|| async {
                let options = async_nats::ConnectOptions::new().connection_timeout(self.timeout);
                let client = options
                    .connect(self.settings.url.expose())
                    .await
                    .map_err(|e| format!("cannot connect to NATS: {e}"))?;
                let mut js = async_nats::jetstream::new(client);
                // The context's own ack wait (5 s by default) is the destination's timeout.
                js.set_timeout(self.timeout);
                Ok(js)
            })
            .await
    }

    /// Refuses to start when no JetStream stream covers the subject of `sources`' events.
    async fn covered(&self, sources: &[String]) -> anyhow::Result<()> {
        let js = self.context().await.map_err(anyhow::Error::msg)?;
        for source in sources {
            let subject = self.subject(source, None);
            if js.stream_by_subject(subject.clone()).await.is_err() {
                anyhow::bail!("no JetStream stream covers subject {subject:?}: create one (nats stream add) first");
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Destination for NatsDestination {
    async fn check(&self, sources: &[String]) -> anyhow::Result<()> {
        self.covered(sources).await
    }

    async fn deliver(&self, delivery: &Delivery<'_>, _now: i64) -> AttemptResult {
        let event = delivery.event;
        let js = match self.context().await {
            Ok(js) => js,
            Err(e) => return AttemptResult::failed(e),
        };
        let subject = self.subject(&event.source, event.event_type.as_deref());
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.id.as_str());
        headers.insert("Inlet-Source", event.source.as_str());
        headers.insert("Inlet-Type", event.event_type.as_deref().unwrap_or(""));
        let payload = envelope_bytes(event, delivery.state).into();
        // Published, then acknowledged by the stream within the context's timeout.
        let sent = match js.publish_with_headers(subject.clone(), headers, payload).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(ack) => AttemptResult::delivered(format!(
                "stream {} seq {}{}",
                ack.stream,
                ack.sequence,
                if ack.duplicate {
                    " (duplicate: already stored)"
                } else {
                    ""
                }
            )),
            Err(e) => AttemptResult::failed(match e.kind() {
                PublishErrorKind::StreamNotFound => format!("no JetStream stream covers subject {subject:?}"),
                PublishErrorKind::TimedOut => format!("no ack within {}s", self.timeout.as_secs_f64()),
                _ => format!("publish failed: {e}"),
            }),
        }
    }
}
