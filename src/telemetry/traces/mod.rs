//! OpenTelemetry traces, exported only when `[telemetry] otlp` (or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) is set. inlet makes its spans itself ([`Span`]: a few
//! fields, ended on drop) and sends them in batches over OTLP/HTTP protobuf from a thread of
//! its own, so a request pays for two clock reads and a queue push per span; with no
//! endpoint a span is an empty `Option` and costs nothing. W3C `traceparent` in and out
//! through [`SpanContext`].
//!
//! (The first version was a `tracing-opentelemetry` layer over the OpenTelemetry SDK; its
//! per-span bookkeeping and the SDK's export cost ingest a quarter of its throughput. The
//! wire format is the same protocol, encoded with `opentelemetry-proto`'s types.)
//!
//! Not here: where spans begin and end (ingest, delivery, hydration, polling own theirs).

mod export;
mod span;
mod wire;

use std::time::Duration;

pub use span::{Span, SpanContext, Value};

/// The spans inlet makes; a name fixes the span's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    Ingest,
    Verify,
    Commit,
    Delivery,
    Hydrate,
    PollRun,
    PollPage,
}

/// OTLP's span kinds, as its protobuf numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Internal = 1,
    Server = 2,
    Client = 3,
}

impl Name {
    pub fn as_str(self) -> &'static str {
        match self {
            Name::Ingest => "ingest",
            Name::Verify => "verify",
            Name::Commit => "commit",
            Name::Delivery => "delivery",
            Name::Hydrate => "hydrate",
            Name::PollRun => "poll.run",
            Name::PollPage => "poll.page",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Name::Ingest => Kind::Server,
            Name::Delivery | Name::Hydrate | Name::PollPage => Kind::Client,
            Name::Verify | Name::Commit | Name::PollRun => Kind::Internal,
        }
    }
}

/// The running exporter; [`Traces::shutdown`] sends what is queued.
pub struct Traces {
    thread: std::thread::JoinHandle<()>,
}

impl Traces {
    /// Sends the queued spans, then stops the exporter's thread.
    pub fn shutdown(self) {
        export::stop();
        let _ = self.thread.join();
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs, comma-separated, values percent-encoded.
fn env_headers() -> Vec<(String, String)> {
    let Ok(all) = std::env::var("OTEL_EXPORTER_OTLP_HEADERS") else {
        return Vec::new();
    };
    all.split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let v = percent_encoding::percent_decode_str(v.trim()).decode_utf8().ok()?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_string(), v.into_owned()))
        })
        .collect()
}

/// Starts exporting to the collector at `otlp` (a base URL, or its `/v1/traces`), as the
/// service `service`; `None` when no endpoint is configured.
pub fn build(otlp: Option<&str>, service: &str) -> Option<Traces> {
    let base = otlp?.trim_end_matches('/');
    let endpoint = if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    };
    let thread = export::start(export::Exporter {
        endpoint,
        service: service.to_string(),
        headers: env_headers(),
        timeout: Duration::from_millis(env_number("OTEL_EXPORTER_OTLP_TIMEOUT", 10_000)),
        batch: env_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512) as usize,
        queue: env_number("OTEL_BSP_MAX_QUEUE_SIZE", 8192) as usize,
        delay: Duration::from_millis(env_number("OTEL_BSP_SCHEDULE_DELAY", 5000)),
    })?;
    Some(Traces { thread })
}
