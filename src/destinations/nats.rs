//! The NATS JetStream destination: publish the envelope to the rendered subject with
//! `Nats-Msg-Id` = the event id (the stream drops a redelivery within its duplicate
//! window), `Inlet-Source` and `Inlet-Type`, and count it delivered only on the stream's
//! ack. At start-up `check` refuses a subject that no stream covers.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::{AttemptResult, Delivery, Destination, envelope_bytes};
use crate::config::NatsDestination as Settings;
use crate::domain::Outcome;

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
                Ok(async_nats::jetstream::new(client))
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

fn failed(error: String) -> AttemptResult {
    AttemptResult {
        outcome: Outcome::Failed {
            status: None,
            error,
            retry_after: None,
        },
        response_excerpt: None,
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
            Err(e) => return failed(e),
        };
        let subject = self.subject(&event.source, event.event_type.as_deref());
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.id.as_str());
        headers.insert("Inlet-Source", event.source.as_str());
        headers.insert("Inlet-Type", event.event_type.as_deref().unwrap_or(""));
        let payload = envelope_bytes(event, delivery.state).into();
        let sent = tokio::time::timeout(self.timeout, async {
            js.publish_with_headers(subject.clone(), headers, payload)
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        })
        .await;
        match sent {
            Ok(Ok(ack)) => AttemptResult {
                outcome: Outcome::Delivered { status: None },
                response_excerpt: Some(format!(
                    "stream {} seq {}{}",
                    ack.stream,
                    ack.sequence,
                    if ack.duplicate {
                        " (duplicate: already stored)"
                    } else {
                        ""
                    }
                )),
            },
            Ok(Err(e)) if e.contains("no responders") => {
                failed(format!("no JetStream stream covers subject {subject:?}: {e}"))
            }
            Ok(Err(e)) => failed(format!("publish failed: {e}")),
            Err(_) => failed(format!("no ack within {}s", self.timeout.as_secs_f64())),
        }
    }
}
