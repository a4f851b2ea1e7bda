//! What inlet tells its operators: logs (set up here: JSON lines when stderr is not a
//! terminal, a human format when it is; `RUST_LOG` overrides the default `info` level),
//! Prometheus metrics (`metrics`), and the live feed of events and delivery outcomes
//! (`feed`). Nothing logged anywhere carries a secret, a signature or, at info level, a
//! payload.

pub mod activity;
pub mod feed;
pub mod metrics;
pub mod series;

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

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    };
}
