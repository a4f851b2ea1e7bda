//! Alerts: the closed set of kinds, their two states, and an alert as the store keeps it,
//! the API lists it and a notification carries it. When an alert opens or resolves is the
//! alert loop's (`workers::alerts`); how it is stored is the store's.

use serde_json::{Value, json};

use super::time::rfc3339_ms;

/// What went wrong, and what the alert's subject is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A destination's circuit opened, or one of its deliveries went dead.
    DestinationFailing,
    /// A destination's oldest pending delivery is older than `alerts.backlog`.
    Backlog,
    /// A poll source failed three runs in a row, or was answered 401/403.
    PollFailing,
    /// A webhook source rejected more than `alerts.rejected` requests in 5 minutes.
    RejectedSpike,
    /// A webhook source with `silence` brought no event for that long.
    Silent,
}

impl AlertKind {
    pub const ALL: [AlertKind; 5] = [
        AlertKind::DestinationFailing,
        AlertKind::Backlog,
        AlertKind::PollFailing,
        AlertKind::RejectedSpike,
        AlertKind::Silent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::DestinationFailing => "destination_failing",
            AlertKind::Backlog => "backlog",
            AlertKind::PollFailing => "poll_failing",
            AlertKind::RejectedSpike => "rejected_spike",
            AlertKind::Silent => "silent",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the subject is a destination (else a source).
    pub fn about_destination(self) -> bool {
        match self {
            AlertKind::DestinationFailing | AlertKind::Backlog => true,
            AlertKind::PollFailing | AlertKind::RejectedSpike | AlertKind::Silent => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    Open,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        match s {
            "open" => Some(AlertState::Open),
            "resolved" => Some(AlertState::Resolved),
            _ => None,
        }
    }
}

/// One alert: opened once per (kind, subject) while its condition holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// `alr_` + a UUIDv7.
    pub id: String,
    pub kind: AlertKind,
    pub subject: String,
    pub state: AlertState,
    /// Unix ms.
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
    /// What was seen when it opened ("circuit open after 5 failures: HTTP 500").
    pub detail: String,
    /// The state whose notification is queued, if any.
    pub notified: Option<AlertState>,
    /// When the last reminder was queued.
    pub reminded_at: Option<i64>,
}

impl Alert {
    pub fn open(kind: AlertKind, subject: &str, detail: String, now: i64) -> Alert {
        Alert {
            id: super::time_ordered_id("alr_"),
            kind,
            subject: subject.to_string(),
            state: AlertState::Open,
            opened_at: now,
            resolved_at: None,
            detail,
            notified: None,
            reminded_at: None,
        }
    }

    /// The JSON the API lists and http and command notifications carry.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "kind": self.kind.as_str(),
            "subject": self.subject,
            "state": self.state.as_str(),
            "opened_at": rfc3339_ms(self.opened_at),
            "resolved_at": self.resolved_at.map(rfc3339_ms),
            "detail": self.detail,
        })
    }

    /// An alert back from [`Alert::to_json`] (a notification's body).
    pub fn from_json(v: &Value) -> Option<Alert> {
        let instant = |key: &str| {
            v[key]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
        };
        Some(Alert {
            id: v["id"].as_str()?.to_string(),
            kind: AlertKind::parse(v["kind"].as_str()?)?,
            subject: v["subject"].as_str()?.to_string(),
            state: AlertState::parse(v["state"].as_str()?)?,
            opened_at: instant("opened_at")?,
            resolved_at: instant("resolved_at"),
            detail: v["detail"].as_str().unwrap_or("").to_string(),
            notified: None,
            reminded_at: None,
        })
    }

    /// One line for Slack and logs: kind, subject, state and since when.
    pub fn summary(&self) -> String {
        let what = if self.kind.about_destination() {
            "destination"
        } else {
            "source"
        };
        match (self.state, self.resolved_at) {
            (AlertState::Resolved, Some(at)) => format!(
                "resolved: {} on {what} `{}` (open since {}, resolved {}): {}",
                self.kind.as_str(),
                self.subject,
                rfc3339_ms(self.opened_at),
                rfc3339_ms(at),
                self.detail
            ),
            (AlertState::Open, _) | (AlertState::Resolved, None) => format!(
                "open: {} on {what} `{}` since {}: {}",
                self.kind.as_str(),
                self.subject,
                rfc3339_ms(self.opened_at),
                self.detail
            ),
        }
    }
}

/// Which alerts a list asks for: a state or all, newest first, before a cursor.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    /// Only alerts opened before this (unix ms; the previous page's last).
    pub before: Option<(i64, String)>,
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AlertKind::parse("nope"), None);
    }

    #[test]
    fn a_summary_names_the_kind_the_subject_the_state_and_since_when() {
        let mut alert = Alert::open(AlertKind::Backlog, "ops", "oldest pending 20m".into(), 0);
        assert_eq!(
            alert.summary(),
            "open: backlog on destination `ops` since 1970-01-01T00:00:00.000Z: oldest pending 20m"
        );
        alert.state = AlertState::Resolved;
        alert.resolved_at = Some(60_000);
        assert!(alert.summary().starts_with("resolved: backlog on destination `ops`"));
        assert!(alert.summary().contains("resolved 1970-01-01T00:01:00.000Z"));
        assert_eq!(alert.to_json()["state"], "resolved");
        assert_eq!(Alert::from_json(&alert.to_json()), Some(alert));
    }
}
