//! An alert's notifications are events of inlet's own (`via = alert`, source
//! `inlet.alerts`), each with one pending delivery per `notify` destination, so they are
//! delivered with every destination's retries, circuit and dead letters, and shown and
//! replayed like any other event. Their dedupe key is the alert id and the state
//! (`alr_….open`, `alr_….resolved`, `alr_….reminder.N`): a node that queues one twice (a
//! crash between queueing and marking it queued, two nodes at once) stores it once. An
//! alert about a destination is not sent through that destination while another can carry
//! it.

use bytes::Bytes;

use super::AlertLoop;
use crate::domain::{Alert, AlertState, NewEvent, PendingDelivery, Via, new_event_id};

/// The source name of alert notifications; no configured source can have it (names have
/// no dots).
pub const SOURCE: &str = "inlet.alerts";

/// What to send for `alert` now, if anything: its dedupe key and event type.
fn due(alert: &Alert, repeat_ms: Option<i64>, now: i64) -> Option<(String, &'static str)> {
    match (alert.state, alert.notified) {
        (AlertState::Open, None) => Some((format!("{}.open", alert.id), "alert.open")),
        (AlertState::Resolved, None | Some(AlertState::Open)) => {
            Some((format!("{}.resolved", alert.id), "alert.resolved"))
        }
        (AlertState::Resolved, Some(AlertState::Resolved)) => None,
        (AlertState::Open, Some(_)) => {
            let repeat = repeat_ms?;
            let last = alert.reminded_at.unwrap_or(alert.opened_at);
            // The same number on every node, so two nodes' reminders are one event.
            let n = (now - alert.opened_at) / repeat;
            (now - last >= repeat && n > 0).then(|| (format!("{}.reminder.{n}", alert.id), "alert.reminder"))
        }
    }
}

/// Queues every notification that is due, then marks each queued.
pub(super) async fn queue(l: &AlertLoop, now: i64) {
    let repeat_ms = l.settings.alerts.repeat.map(|d| d.as_millis() as i64);
    let todo = match l.store.alerts_to_notify(repeat_ms.map(|r| now - r)).await {
        Ok(t) => t,
        Err(e) => return tracing::debug!(error = %e, "cannot read the alerts to notify"),
    };
    let mut queued = false;
    for alert in todo {
        let Some((key, event_type)) = due(&alert, repeat_ms, now) else {
            continue;
        };
        let about = alert.kind.about_destination().then_some(alert.subject.as_str());
        let recipients = l.settings.alerts.recipients(about);
        if !recipients.is_empty() {
            let event = NewEvent {
                id: new_event_id(),
                source: SOURCE.to_string(),
                dedupe_group: SOURCE.to_string(),
                dedupe_key: key,
                event_type: Some(event_type.to_string()),
                via: Via::Alert,
                received_at: now,
                occurred_at: Some(alert.resolved_at.unwrap_or(alert.opened_at)),
                content_type: Some("application/json".to_string()),
                headers: Vec::new(),
                body: Bytes::from(alert.to_json().to_string()),
                destinations: recipients
                    .into_iter()
                    .map(|destination| PendingDelivery {
                        destination,
                        due_at: now,
                        order: None,
                    })
                    .collect(),
                traceparent: None,
            };
            if let Err(e) = l.store.ingest(event).await {
                tracing::warn!(error = %e, alert = %alert.id, "cannot queue an alert's notification; trying again");
                continue;
            }
            queued = true;
        }
        if let Err(e) = l.store.mark_notified(&alert.id, alert.state, now).await {
            tracing::debug!(error = %e, alert = %alert.id, "cannot mark an alert notified; its event is deduped");
        }
    }
    if queued {
        l.wakeup.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AlertKind;

    #[test]
    fn an_alert_is_announced_once_per_state_and_reminded_only_when_repeat_says() {
        let mut a = Alert::open(AlertKind::Silent, "stripe", "quiet".into(), 1_000);
        assert_eq!(due(&a, None, 2_000).map(|d| d.1), Some("alert.open"));
        a.notified = Some(AlertState::Open);
        a.reminded_at = Some(2_000);
        assert_eq!(due(&a, None, 99_000), None, "no repeat: no reminder");
        assert_eq!(due(&a, Some(60_000), 30_000), None, "too soon");
        let (key, kind) = due(&a, Some(60_000), 62_000).expect("a reminder");
        assert_eq!(
            (key.as_str(), kind),
            (format!("{}.reminder.1", a.id).as_str(), "alert.reminder")
        );
        a.state = AlertState::Resolved;
        assert_eq!(due(&a, Some(60_000), 70_000).map(|d| d.1), Some("alert.resolved"));
        a.notified = Some(AlertState::Resolved);
        assert_eq!(due(&a, Some(60_000), 70_000), None);
    }
}
