//! Where events go. Each kind makes exactly one attempt when asked and reports an
//! [`Outcome`]; it never sleeps and never retries: the delivery worker owns the schedule.
//! Each kind's file owns its settings (parsed from its part of `[destinations.NAME]`), how
//! `inlet check` shows them and its delivery code; `settings.rs` the keys every kind
//! shares. This file is the one table of kinds: [`DestinationKind`], and the `match`es from
//! a kind's name to its settings and from its settings to its behaviour.

mod amqp;
mod command;
mod envelope;
mod file;
mod http;
pub mod nats;
mod postgres;
mod redis;
mod settings;
mod slack;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::settings::ConfigError;
use crate::domain::template::{Fields, Template};
use crate::domain::{EventRecord, Hydrated, Outcome};

pub use envelope::{envelope_bytes, rfc3339_ms};
pub use http::Format;
pub use settings::{COMMON_KEYS, CircuitSettings, DestinationSettings, parse};

/// One attempt's result: the outcome and, where there was a response, its first KiB.
#[derive(Clone, Debug)]
pub struct AttemptResult {
    pub outcome: Outcome,
    pub response_excerpt: Option<String>,
}

impl AttemptResult {
    /// An attempt that failed without an HTTP status (no connection, a timeout, a process
    /// or stream error), retried on the schedule.
    pub fn failed(error: String) -> AttemptResult {
        AttemptResult {
            outcome: Outcome::Failed {
                status: None,
                error,
                retry_after: None,
            },
            response_excerpt: None,
        }
    }

    /// An attempt the destination accepted, with what it answered (a stream sequence, a row).
    pub fn delivered(excerpt: String) -> AttemptResult {
        AttemptResult {
            outcome: Outcome::Delivered { status: None },
            response_excerpt: Some(excerpt),
        }
    }
}

/// What one attempt delivers: the stored event and, for a hydrating source, its state.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    pub event: &'a EventRecord,
    pub state: Option<&'a Hydrated>,
    /// The W3C `traceparent` of this attempt's span, when traces are exported: HTTP
    /// destinations send it.
    pub traceparent: Option<&'a str>,
}

/// A broker name (routing key, stream) for `event`: `{source}`, `{type}` (`none` without
/// one), `{id}`, `{/pointer}`, rendered raw; the body is parsed only for a pointer.
fn render_name(template: &Template, event: &EventRecord) -> String {
    let payload: Option<serde_json::Value> = if template.reads_payload() {
        serde_json::from_slice(&event.body).ok()
    } else {
        None
    };
    template.render_name(&Fields {
        id: &event.id,
        source: &event.source,
        event_type: event.event_type.as_deref(),
        payload: payload.as_ref(),
    })
}

#[async_trait]
pub trait Destination: Send + Sync {
    /// Makes one attempt at `now` (unix ms, the signature timestamp).
    async fn deliver(&self, delivery: &Delivery<'_>, now: i64) -> AttemptResult;

    /// Checked once at start-up with the sources routed here; an error stops the gateway.
    async fn check(&self, _sources: &[String]) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The closed set of destination kinds, each with its own settings.
#[derive(Debug, Clone)]
pub enum DestinationKind {
    Http(http::Settings),
    /// JSON Lines of envelopes; `None` is stdout (`path = "-"`).
    File(Option<PathBuf>),
    Slack(slack::Settings),
    Command(command::Settings),
    Nats(nats::Settings),
    Amqp(amqp::Settings),
    Redis(redis::Settings),
    Postgres(postgres::Settings),
}

/// Every `kind = "…"` a config may name, as the error for an unknown one lists them.
const KINDS: &str = "http, file, slack, command, nats, amqp, redis or postgres";

impl DestinationKind {
    /// The kind named `kind`, from the rest of its table (`prefix` is `destinations.NAME`).
    pub fn parse(kind: &str, own: toml::Value, prefix: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        Ok(match kind {
            "http" => DestinationKind::Http(http::Settings::parse(own, prefix)?),
            "file" => DestinationKind::File(file::parse(own, prefix, base_dir)?),
            "slack" => DestinationKind::Slack(slack::Settings::parse(own, prefix)?),
            "command" => DestinationKind::Command(command::Settings::parse(own, prefix, base_dir)?),
            "nats" => DestinationKind::Nats(nats::Settings::parse(own, prefix)?),
            "amqp" => DestinationKind::Amqp(amqp::Settings::parse(own, prefix)?),
            "redis" => DestinationKind::Redis(redis::Settings::parse(own, prefix)?),
            "postgres" => DestinationKind::Postgres(postgres::Settings::parse(own, prefix)?),
            other => {
                return Err(ConfigError::at(
                    format!("{prefix}.kind"),
                    format!("unknown kind {other:?}: use {KINDS}"),
                ));
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            DestinationKind::Http(_) => "http",
            DestinationKind::File(_) => "file",
            DestinationKind::Slack(_) => "slack",
            DestinationKind::Command(_) => "command",
            DestinationKind::Nats(_) => "nats",
            DestinationKind::Amqp(_) => "amqp",
            DestinationKind::Redis(_) => "redis",
            DestinationKind::Postgres(_) => "postgres",
        }
    }

    /// How long one attempt may take by default; `None` for a kind that has no timeout.
    fn default_timeout(&self) -> Option<Duration> {
        match self {
            DestinationKind::Command(_) => Some(Duration::from_secs(30)),
            DestinationKind::Http(_)
            | DestinationKind::Slack(_)
            | DestinationKind::Nats(_)
            | DestinationKind::Amqp(_)
            | DestinationKind::Redis(_)
            | DestinationKind::Postgres(_) => Some(Duration::from_secs(10)),
            DestinationKind::File(_) => None,
        }
    }

    /// Where it delivers, fit to print (the admin API, the dashboard): credentials masked.
    pub fn target(&self) -> String {
        match self {
            DestinationKind::Http(h) => h.describe(),
            DestinationKind::File(Some(p)) => p.display().to_string(),
            DestinationKind::File(None) => "stdout".to_string(),
            DestinationKind::Slack(s) => s.describe(),
            DestinationKind::Command(c) => c.describe(),
            DestinationKind::Nats(n) => n.describe(),
            DestinationKind::Amqp(a) => a.describe(),
            DestinationKind::Redis(r) => r.describe(),
            DestinationKind::Postgres(p) => p.describe(),
        }
    }

    /// The kind and its target, as `inlet check` prints it.
    pub fn describe(&self) -> String {
        format!("{}  {}", self.name(), self.target())
    }
}

/// Builds the destination a config entry describes.
pub fn build(settings: &DestinationSettings) -> anyhow::Result<Box<dyn Destination>> {
    let timeout = settings.timeout;
    Ok(match &settings.kind {
        DestinationKind::Http(h) => Box::new(http::HttpDestination::new(h.clone(), timeout, settings.concurrency)?),
        DestinationKind::File(path) => Box::new(file::FileDestination::open(path.as_deref())?),
        DestinationKind::Slack(s) => Box::new(slack::SlackDestination::new(s.clone(), timeout)?),
        DestinationKind::Command(c) => Box::new(command::CommandDestination::new(c.clone(), timeout)),
        DestinationKind::Nats(n) => Box::new(nats::NatsDestination::new(n.clone(), timeout)),
        DestinationKind::Amqp(a) => Box::new(amqp::AmqpDestination::new(a.clone(), timeout)),
        DestinationKind::Redis(r) => Box::new(redis::RedisDestination::new(r.clone(), timeout)),
        DestinationKind::Postgres(p) => Box::new(postgres::PostgresDestination::new(
            p.clone(),
            timeout,
            settings.concurrency,
        )?),
    })
}
