//! `[alerts]`: who is notified (`notify`: slack, http or command destinations), the backlog
//! age and the rejected-request count that open an alert, and how often an open alert is
//! repeated. A webhook source's `silence` is read with the source (`sources.rs`). What the
//! alerts do is `workers::alerts`'s.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::values::Dur;
use super::{ConfigError, DestinationKind, DestinationSettings};

#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Destinations that get each opening and each resolution, in config order.
    pub notify: Vec<String>,
    /// A destination whose oldest pending delivery is older than this has a backlog.
    pub backlog: Duration,
    /// More rejected requests than this of one source within 5 minutes is a spike.
    pub rejected: u64,
    /// Remind while open, at most this often; `None`: never.
    pub repeat: Option<Duration>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            notify: Vec::new(),
            backlog: Duration::from_secs(15 * 60),
            rejected: 20,
            repeat: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    notify: Option<Vec<String>>,
    backlog: Option<Dur>,
    rejected: Option<u64>,
    repeat: Option<Dur>,
}

/// Whether a destination of this kind can carry an alert's notification.
fn notifies(kind: &DestinationKind) -> bool {
    match kind {
        DestinationKind::Http(_) | DestinationKind::Slack(_) | DestinationKind::Command(_) => true,
        DestinationKind::File(_)
        | DestinationKind::Nats(_)
        | DestinationKind::Amqp(_)
        | DestinationKind::Redis(_)
        | DestinationKind::Postgres(_) => false,
    }
}

pub(super) fn parse(
    raw: RawAlerts,
    destinations: &BTreeMap<String, DestinationSettings>,
) -> Result<AlertSettings, ConfigError> {
    let defaults = AlertSettings::default();
    let notify = raw.notify.unwrap_or_default();
    for (i, name) in notify.iter().enumerate() {
        let at = format!("alerts.notify[{i}]");
        let Some(d) = destinations.get(name) else {
            return Err(ConfigError::at(at, format!("no destination named {name:?}")));
        };
        if !notifies(&d.kind) {
            return Err(ConfigError::at(
                at,
                format!(
                    "{name:?} is a {} destination; alerts go to slack, http or command destinations",
                    d.kind.name()
                ),
            ));
        }
    }
    let backlog = raw.backlog.map_or(defaults.backlog, |d| d.0);
    if backlog.is_zero() {
        return Err(ConfigError::at("alerts.backlog", "must be more than 0s"));
    }
    if raw.rejected == Some(0) {
        return Err(ConfigError::at("alerts.rejected", "must be at least 1"));
    }
    let repeat = raw.repeat.map(|d| d.0);
    if repeat.is_some_and(|d| d < Duration::from_secs(1)) {
        return Err(ConfigError::at("alerts.repeat", "must be at least 1s"));
    }
    Ok(AlertSettings {
        notify,
        backlog,
        rejected: raw.rejected.unwrap_or(defaults.rejected),
        repeat,
    })
}

impl AlertSettings {
    /// Who gets the notifications of an alert about `subject` (when it is a destination):
    /// never only that destination itself while another can carry it.
    pub fn recipients(&self, about_destination: Option<&str>) -> Vec<String> {
        let others: Vec<String> = self
            .notify
            .iter()
            .filter(|n| Some(n.as_str()) != about_destination)
            .cloned()
            .collect();
        if others.is_empty() { self.notify.clone() } else { others }
    }

    /// The notify destinations whose own alerts could only go through themselves: what
    /// `inlet check` warns about.
    pub fn self_notified(&self) -> Vec<&str> {
        match self.notify.as_slice() {
            [only] => vec![only.as_str()],
            _ => Vec::new(),
        }
    }
}
