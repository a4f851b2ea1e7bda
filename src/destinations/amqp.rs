//! The AMQP 0-9-1 destination (RabbitMQ): publish the envelope to an exchange with the
//! rendered routing key, persistent, `mandatory`, on a channel with publisher confirms, and
//! count it delivered only when the broker confirms it. A nack, or a message the broker
//! returns because no queue is bound to its key, is a failed attempt. One connection and
//! one channel per destination, shared by its concurrent attempts and opened again after
//! the broker went away. `check` refuses to start when the exchange does not exist.

use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::settings::broker_url;
use super::{AttemptResult, Delivery, Destination, envelope_bytes, render_name};
use crate::domain::EventRecord;
use crate::domain::mask::mask_url;
use crate::domain::settings::{ConfigError, typed};
use crate::domain::template::Template;
use crate::signature::Secret;

/// The longest routing key AMQP carries (a short string).
const MAX_KEY: usize = 255;

/// An `amqp` destination's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `amqp://user:pass@host:port/vhost`: holds a credential, never printed as is.
    pub url: Secret,
    /// Must exist on the broker; `""` is the default exchange (routing key = queue name).
    pub exchange: String,
    pub routing_key: Template,
    routing_key_text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    exchange: String,
    routing_key: Option<String>,
}

impl Settings {
    pub fn parse(table: toml::Value, prefix: &str) -> Result<Settings, ConfigError> {
        let at = |key: &str| format!("{prefix}.{key}");
        let raw: Raw = typed(table, prefix)?;
        let url = broker_url(raw.url, "amqp", &at("url"))?;
        if raw.exchange.len() > MAX_KEY {
            return Err(ConfigError::at(at("exchange"), "is longer than 255 bytes"));
        }
        let routing_key_text = raw.routing_key.unwrap_or_else(|| "{source}.{type}".to_string());
        let routing_key = Template::parse(&routing_key_text).map_err(|e| ConfigError::at(at("routing_key"), e))?;
        Ok(Settings {
            url,
            exchange: raw.exchange,
            routing_key,
            routing_key_text,
        })
    }

    /// One line for `inlet check`: the URL with its credentials masked, exchange and key.
    pub fn describe(&self) -> String {
        let exchange = if self.exchange.is_empty() {
            "(default)"
        } else {
            &self.exchange
        };
        format!(
            "{} exchange {exchange} routing key {}",
            mask_url(self.url.expose()),
            self.routing_key_text
        )
    }
}

/// The connection and its confirming channel, replaced together when either is lost.
struct Link {
    connection: Connection,
    channel: Channel,
}

pub struct AmqpDestination {
    settings: Settings,
    timeout: Duration,
    link: Mutex<Option<Link>>,
}

impl AmqpDestination {
    pub fn new(settings: Settings, timeout: Duration) -> Self {
        AmqpDestination {
            settings,
            timeout,
            link: Mutex::new(None),
        }
    }

    /// The open channel, or a new connection and channel when there is none or it was lost.
    /// Concurrent attempts wait for one reconnect rather than each opening their own.
    async fn channel(&self) -> Result<Channel, String> {
        let mut link = self.link.lock().await;
        if let Some(open) = link.as_ref()
            && open.connection.status().connected()
            && open.channel.status().connected()
        {
            return Ok(open.channel.clone());
        }
        if let Some(lost) = link.take() {
            tokio::spawn(async move {
                let _ = lost.connection.close(200, "reconnecting".into()).await;
            });
        }
        let open = tokio::time::timeout(self.timeout, self.connect())
            .await
            .map_err(|_| format!("no connection to the broker within {}s", self.timeout.as_secs_f64()))??;
        let channel = open.channel.clone();
        *link = Some(open);
        Ok(channel)
    }

    async fn connect(&self) -> Result<Link, String> {
        let properties = ConnectionProperties::default().with_connection_name("inlet".into());
        let connection = Connection::connect(self.settings.url.expose(), properties)
            .await
            .map_err(|e| format!("cannot connect to the broker: {e}"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("cannot open a channel: {e}"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| format!("the broker refused publisher confirms: {e}"))?;
        Ok(Link { connection, channel })
    }

    fn properties(event: &EventRecord) -> BasicProperties {
        let event_type = event.event_type.as_deref().unwrap_or("");
        let mut headers = FieldTable::default();
        headers.insert(
            "inlet-source".into(),
            AMQPValue::LongString(event.source.as_str().into()),
        );
        headers.insert("inlet-type".into(), AMQPValue::LongString(event_type.into()));
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_message_id(short(&event.id))
            .with_timestamp(u64::try_from(event.received_at / 1000).unwrap_or(0))
            .with_headers(headers);
        if !event_type.is_empty() {
            properties = properties.with_type(short(event_type));
        }
        properties
    }

    async fn publish(&self, key: &str, payload: &[u8], properties: BasicProperties) -> Result<Confirmation, String> {
        let channel = self.channel().await?;
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let confirm = channel
            .basic_publish(
                self.settings.exchange.as_str().into(),
                key.into(),
                options,
                payload,
                properties,
            )
            .await
            .map_err(|e| format!("publish failed: {e}"))?;
        confirm.await.map_err(|e| format!("no confirm from the broker: {e}"))
    }
}

/// A short string property: the broker's limit is 255 bytes, cut on a character boundary.
fn short(text: &str) -> ShortString {
    let mut end = text.len().min(MAX_KEY);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].into()
}

#[async_trait]
impl Destination for AmqpDestination {
    async fn check(&self, _sources: &[String]) -> anyhow::Result<()> {
        if self.settings.exchange.is_empty() {
            return Ok(());
        }
        let open = match tokio::time::timeout(self.timeout, self.connect()).await {
            Ok(Ok(open)) => open,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot check the exchange now; deliveries wait for the broker");
                return Ok(());
            }
            Err(_) => {
                tracing::warn!("cannot check the exchange now (no answer); deliveries wait for the broker");
                return Ok(());
            }
        };
        let options = ExchangeDeclareOptions {
            passive: true,
            ..ExchangeDeclareOptions::default()
        };
        let exchange = &self.settings.exchange;
        let declared = open
            .channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Direct,
                options,
                FieldTable::default(),
            )
            .await;
        let _ = open.connection.close(200, "checked".into()).await;
        declared
            .map_err(|e| anyhow::anyhow!("exchange {exchange:?} does not exist on the broker ({e}): declare it first"))
    }

    async fn deliver(&self, delivery: &Delivery<'_>, _now: i64) -> AttemptResult {
        let event = delivery.event;
        let key = render_name(&self.settings.routing_key, event);
        if key.len() > MAX_KEY {
            return AttemptResult::failed(format!("routing key {} bytes long: AMQP allows 255", key.len()));
        }
        let payload = envelope_bytes(event, delivery.state);
        let sent = tokio::time::timeout(self.timeout, self.publish(&key, &payload, Self::properties(event))).await;
        match sent {
            Err(_) => AttemptResult::failed(format!("no confirm within {}s", self.timeout.as_secs_f64())),
            Ok(Err(error)) => AttemptResult::failed(error),
            Ok(Ok(Confirmation::Ack(None))) => AttemptResult::delivered(format!("confirmed, routing key {key}")),
            Ok(Ok(Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_)))) => {
                AttemptResult::failed(format!("unroutable: {key}"))
            }
            Ok(Ok(Confirmation::Nack(None))) => AttemptResult::failed("the broker nacked the message".to_string()),
            Ok(Ok(Confirmation::NotRequested)) => AttemptResult::failed("the channel did not confirm".to_string()),
        }
    }
}
