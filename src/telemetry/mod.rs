//! What inlet tells its operators: logs (set up here: JSON lines when stderr is not a
//! terminal, a human format when it is; `RUST_LOG` overrides the default `info` level),
//! Prometheus metrics (`metrics`), and the live feed of events and delivery outcomes
//! (`feed`). Nothing logged anywhere carries a secret, a signature or, at info level, a
//! payload.

pub mod activity;
pub mod feed;
pub mod metrics;
pub mod series;
pub mod traces;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use feed::{Feed, FeedItem};

/// A new event (not a duplicate) was committed, from a webhook or a poll: it counts in the
/// dashboard's ingest chart and goes to whoever follows the feed (`item` is built only
/// while someone does).
pub fn event_committed(feed: Option<&Feed>, source: &str, received_at: i64, item: Option<FeedItem>) {
    series::record("ingest", source, received_at);
    activity::record(source, received_at);
    if let (Some(feed), Some(item)) = (feed, item) {
        feed.publish(item);
    }
}

/// Sets up logs and, when an OTLP endpoint is configured, trace export; the returned
/// handle flushes the last spans on [`traces::Traces::shutdown`].
/// `otlp`: the collector's base URL (`[telemetry] otlp`); `service`: the service name.
pub fn init(otlp: Option<&str>, service: &str) -> Option<traces::Traces> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = if std::io::stderr().is_terminal() {
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .boxed()
    };
    let _ = tracing_subscriber::registry().with(logs.with_filter(filter)).try_init();
    traces::build(otlp, service)
}
