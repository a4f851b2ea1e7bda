//! Where events go. Each kind makes exactly one attempt when asked and reports an
//! [`Outcome`]; it never sleeps and never retries: the delivery worker owns the schedule.
//! Each kind's file owns its settings (parsed from its part of `[destinations.NAME]`) and
//! its delivery code; `settings.rs` the shared keys and the dispatch on `kind`; `build` is
//! the one `match` from configured kind to behaviour.

mod command;
mod envelope;
mod file;
mod http;
pub mod nats;
mod settings;
mod slack;

use async_trait::async_trait;

use crate::domain::{EventRecord, Hydrated, Outcome};

pub use envelope::{envelope_bytes, rfc3339_ms};
pub use http::Format;
pub use settings::{CircuitSettings, DestinationKind, DestinationSettings, parse};

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
}

/// What one attempt delivers: the stored event and, for a hydrating source, its state.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    pub event: &'a EventRecord,
    pub state: Option<&'a Hydrated>,
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

/// Builds the destination a config entry describes.
pub fn build(settings: &DestinationSettings) -> anyhow::Result<Box<dyn Destination>> {
    Ok(match &settings.kind {
        DestinationKind::Http(h) => Box::new(http::HttpDestination::new(
            h.clone(),
            settings.timeout,
            settings.concurrency,
        )?),
        DestinationKind::File(path) => Box::new(file::FileDestination::open(path.as_deref())?),
        DestinationKind::Slack(s) => Box::new(slack::SlackDestination::new(s.clone(), settings.timeout)?),
        DestinationKind::Command(c) => Box::new(command::CommandDestination::new(c.clone(), settings.timeout)),
        DestinationKind::Nats(n) => Box::new(nats::NatsDestination::new(n.clone(), settings.timeout)),
    })
}
