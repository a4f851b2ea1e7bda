//! The Redis Streams destination: one `XADD` per attempt to the rendered stream, with the
//! fields `id`, `source`, `type` (empty without one) and `envelope`, trimmed with
//! `MAXLEN ~ N` when `maxlen` is set; delivered when Redis answers with the entry's id.
//! One multiplexed connection per destination, shared by its concurrent attempts, that
//! reconnects by itself after Redis dropped it. A repeated attempt can add a second entry
//! with the same `id`: consumers dedupe on that field.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::settings::broker_url;
use super::{AttemptResult, Delivery, Destination, envelope_bytes, render_name};
use crate::domain::mask::mask_url;
use crate::domain::settings::{ConfigError, typed};
use crate::domain::template::Template;
use crate::signature::Secret;

/// A `redis` destination's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `redis://[user:pass@]host:port/db`: may hold a credential, never printed as is.
    pub url: Secret,
    pub stream: Template,
    stream_text: String,
    /// `XADD … MAXLEN ~ N`: Redis trims the stream to about this many entries.
    pub maxlen: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    stream: Option<String>,
    maxlen: Option<u64>,
}

impl Settings {
    pub fn parse(table: toml::Value, prefix: &str) -> Result<Settings, ConfigError> {
        let at = |key: &str| format!("{prefix}.{key}");
        let raw: Raw = typed(table, prefix)?;
        let url = broker_url(raw.url, "redis", &at("url"))?;
        if redis::Client::open(url.expose()).is_err() {
            return Err(ConfigError::at(at("url"), "must be a redis://host:port/db URL"));
        }
        if raw.maxlen == Some(0) {
            return Err(ConfigError::at(
                at("maxlen"),
                "must be at least 1 (leave it out to keep every entry)",
            ));
        }
        let stream_text = raw.stream.unwrap_or_else(|| "inlet:{source}".to_string());
        let stream = Template::parse(&stream_text).map_err(|e| ConfigError::at(at("stream"), e))?;
        Ok(Settings {
            url,
            stream,
            stream_text,
            maxlen: raw.maxlen,
        })
    }

    /// One line for `inlet check`: the URL with its credentials masked, stream and trim.
    pub fn describe(&self) -> String {
        let mut shown = format!("{} stream {}", mask_url(self.url.expose()), self.stream_text);
        if let Some(n) = self.maxlen {
            shown.push_str(&format!(" (MAXLEN ~ {n})"));
        }
        shown
    }
}

pub struct RedisDestination {
    settings: Settings,
    timeout: Duration,
    connection: OnceCell<ConnectionManager>,
}

impl RedisDestination {
    pub fn new(settings: Settings, timeout: Duration) -> Self {
        RedisDestination {
            settings,
            timeout,
            connection: OnceCell::new(),
        }
    }

    /// The shared connection; made on first use, after which it reconnects by itself.
    async fn connection(&self) -> Result<ConnectionManager, String> {
        self.connection
            .get_or_try_init(|| async {
                let client =
                    redis::Client::open(self.settings.url.expose()).map_err(|e| format!("bad Redis URL: {e}"))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_secs(1));
                ConnectionManager::new_lazy_with_config(client, config)
                    .map_err(|e| format!("cannot connect to Redis: {e}"))
            })
            .await
            .cloned()
    }
}

#[async_trait]
impl Destination for RedisDestination {
    async fn deliver(&self, delivery: &Delivery<'_>, _now: i64) -> AttemptResult {
        let event = delivery.event;
        let mut connection = match self.connection().await {
            Ok(c) => c,
            Err(e) => return AttemptResult::failed(e),
        };
        let stream = render_name(&self.settings.stream, event);
        let mut command = redis::cmd("XADD");
        command.arg(&stream);
        if let Some(n) = self.settings.maxlen {
            command.arg("MAXLEN").arg("~").arg(n);
        }
        command
            .arg("*")
            .arg("id")
            .arg(&event.id)
            .arg("source")
            .arg(&event.source)
            .arg("type")
            .arg(event.event_type.as_deref().unwrap_or(""))
            .arg("envelope")
            .arg(envelope_bytes(event, delivery.state));
        let added = tokio::time::timeout(self.timeout, command.query_async::<String>(&mut connection)).await;
        match added {
            Ok(Ok(entry)) => AttemptResult::delivered(format!("stream {stream} entry {entry}")),
            Ok(Err(e)) => AttemptResult::failed(format!("XADD to {stream} failed: {e}")),
            Err(_) => AttemptResult::failed(format!("no answer from Redis within {}s", self.timeout.as_secs_f64())),
        }
    }
}
