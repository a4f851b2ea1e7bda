//! What inlet tells its operators: logs (set up here: JSON lines when stderr is not a
//! terminal, a human format when it is; `RUST_LOG` overrides the default `info` level),
//! Prometheus metrics (`metrics`), and the live feed of events and delivery outcomes
//! (`feed`). Nothing logged anywhere carries a secret, a signature or, at info level, a
//! payload.

pub mod feed;
pub mod metrics;
pub mod series;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

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
