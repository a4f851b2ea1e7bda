//! `[destinations.NAME]`: the settings every kind shares (`kind`, `timeout`, `concurrency`,
//! `rate_limit`, `retry`, `circuit`), and the one `match` that hands the rest of the table
//! to the kind (through the table of kinds in `mod.rs`), which owns its own keys: a key the kind does not know is refused by serde
//! with the keys it does know. `config` calls [`parse`] for each table.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::DestinationKind;
use crate::domain::settings::{ConfigError, typed};
use crate::domain::values::{Dur, Rate, RateField};

#[derive(Debug, Clone)]
pub struct DestinationSettings {
    pub name: String,
    pub kind: DestinationKind,
    pub timeout: Duration,
    pub concurrency: u32,
    pub rate_limit: Option<Rate>,
    pub retry: Vec<Duration>,
    pub circuit: CircuitSettings,
}

#[derive(Debug, Clone, Copy)]
pub struct CircuitSettings {
    pub failures: u32,
    pub probe: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCircuit {
    failures: Option<u32>,
    probe: Option<Dur>,
}

/// The keys every kind shares.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    kind: String,
    timeout: Option<Dur>,
    concurrency: Option<u32>,
    rate_limit: Option<RateField>,
    retry: Option<Vec<Dur>>,
    circuit: Option<RawCircuit>,
}

/// The keys every kind shares (the docs test reads them: no serde list names them).
pub const COMMON_KEYS: [&str; 6] = ["kind", "timeout", "concurrency", "rate_limit", "retry", "circuit"];

const DEFAULT_RETRY: [u64; 12] = [0, 5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 57600, 86400];

/// Parses one `[destinations.NAME]` table; relative paths are under `base_dir`.
pub fn parse(name: &str, value: toml::Value, base_dir: &Path) -> Result<DestinationSettings, ConfigError> {
    let prefix = format!("destinations.{name}");
    let at = |key: &str| format!("{prefix}.{key}");
    let toml::Value::Table(mut own) = value else {
        return Err(ConfigError::at(&prefix, "must be a table"));
    };
    let mut shared = toml::Table::new();
    for key in COMMON_KEYS {
        if let Some(v) = own.remove(key) {
            shared.insert(key.to_string(), v);
        }
    }
    let common: Common = typed(toml::Value::Table(shared), &prefix)?;
    let kind = DestinationKind::parse(&common.kind, toml::Value::Table(own), &prefix, base_dir)?;
    let timeout = match (kind.default_timeout(), common.timeout) {
        (None, Some(_)) => {
            return Err(ConfigError::at(
                at("timeout"),
                format!("has no effect on a {:?} destination", kind.name()),
            ));
        }
        (default, given) => given.map_or(default.unwrap_or_default(), |d| d.0),
    };
    let retry: Vec<Duration> = match common.retry {
        Some(r) if r.is_empty() => {
            return Err(ConfigError::at(
                at("retry"),
                "needs at least one step (\"0s\" = at once)",
            ));
        }
        Some(r) => r.into_iter().map(|d| d.0).collect(),
        None => DEFAULT_RETRY.iter().map(|s| Duration::from_secs(*s)).collect(),
    };
    let concurrency = common.concurrency.unwrap_or(16);
    if concurrency == 0 {
        return Err(ConfigError::at(at("concurrency"), "must be at least 1"));
    }
    let circuit = common.circuit.map_or(
        CircuitSettings {
            failures: 5,
            probe: Duration::from_secs(30),
        },
        |c| CircuitSettings {
            failures: c.failures.unwrap_or(5).max(1),
            probe: c.probe.map_or(Duration::from_secs(30), |d| d.0),
        },
    );
    Ok(DestinationSettings {
        name: name.to_string(),
        kind,
        timeout,
        concurrency,
        rate_limit: common.rate_limit.map(|r| r.0),
        retry,
        circuit,
    })
}

/// A broker's `url` key: it must start with `scheme://`; the TLS form (`{scheme}s://`) is
/// refused with a message saying so, since no TLS stack is built in for brokers.
pub(super) fn broker_url(url: String, scheme: &str, at: &str) -> Result<crate::signature::Secret, ConfigError> {
    if url.starts_with(&format!("{scheme}s://")) {
        return Err(ConfigError::at(
            at,
            format!(
                "{scheme}s:// (TLS) is not built in: connect over {scheme}:// (a local TLS tunnel, or a private network)"
            ),
        ));
    }
    if !url.starts_with(&format!("{scheme}://")) {
        return Err(ConfigError::at(
            at,
            format!("must be a URL that starts with {scheme}://"),
        ));
    }
    Ok(crate::signature::Secret::new(url))
}
