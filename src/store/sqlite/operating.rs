//! The operating features on SQLite: paused destinations, alerts (one open per kind and
//! subject by a partial unique index), sources' last event times, rejected counts and kept
//! requests. Writes run in the writer's transaction; reads on the read connections.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::SqliteStore;
use crate::domain::{Alert, AlertFilter, AlertKind, AlertState, Kept, KeptRequest, RejectedFilter};
use crate::store::{Operating, StoreError};

const ALERT_COLUMNS: &str = "id, kind, subject, state, opened_at, resolved_at, detail, notified, reminded_at";

fn alert(r: &Row<'_>) -> rusqlite::Result<Alert> {
    let kind: String = r.get(1)?;
    let state: String = r.get(3)?;
    let notified: Option<String> = r.get(7)?;
    Ok(Alert {
        id: r.get(0)?,
        // Only inlet writes these columns; an unknown name is a newer version's kind.
        kind: AlertKind::parse(&kind).unwrap_or(AlertKind::DestinationFailing),
        subject: r.get(2)?,
        state: AlertState::parse(&state).unwrap_or(AlertState::Resolved),
        opened_at: r.get(4)?,
        resolved_at: r.get(5)?,
        detail: r.get(6)?,
        notified: notified.as_deref().and_then(AlertState::parse),
        reminded_at: r.get(8)?,
    })
}

fn open_alert(tx: &Transaction<'_>, a: &Alert) -> rusqlite::Result<bool> {
    let n = tx
        .prepare_cached(&format!(
            "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?1, ?2, ?3, 'open', ?4, NULL, ?5, NULL, NULL)
             ON CONFLICT DO NOTHING"
        ))?
        .execute(params![a.id, a.kind.as_str(), a.subject, a.opened_at, a.detail])?;
    Ok(n == 1)
}

fn resolve_alert(tx: &Transaction<'_>, kind: AlertKind, subject: &str, now: i64) -> rusqlite::Result<Option<Alert>> {
    tx.prepare_cached(&format!(
        "UPDATE alerts SET state = 'resolved', resolved_at = ?3
         WHERE kind = ?1 AND subject = ?2 AND state = 'open' RETURNING {ALERT_COLUMNS}"
    ))?
    .query_row(params![kind.as_str(), subject, now], alert)
    .optional()
}

fn alerts(c: &Connection, f: &AlertFilter) -> rusqlite::Result<Vec<Alert>> {
    let (before_at, before_id) = match &f.before {
        Some((at, id)) => (Some(*at), Some(id.clone())),
        None => (None, None),
    };
    c.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR opened_at < ?2 OR (opened_at = ?2 AND id < ?3))
         ORDER BY opened_at DESC, id DESC LIMIT ?4"
    ))?
    .query_map(
        params![f.state.map(AlertState::as_str), before_at, before_id, f.limit as i64],
        alert,
    )?
    .collect()
}

fn to_notify(c: &Connection, remind_before: Option<i64>) -> rusqlite::Result<Vec<Alert>> {
    c.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts
         WHERE notified IS NULL OR notified <> state
            OR (state = 'open' AND ?1 IS NOT NULL AND reminded_at < ?1)
         ORDER BY opened_at"
    ))?
    .query_map(params![remind_before], alert)?
    .collect()
}

fn kept_requests(c: &Connection, f: &RejectedFilter, after: i64, limit: usize) -> rusqlite::Result<Vec<KeptRequest>> {
    c.prepare_cached(
        "SELECT id, source, error, at, raw_headers, body, url FROM rejected
         WHERE id > ?1 AND body IS NOT NULL AND raw_headers IS NOT NULL
           AND (?2 IS NULL OR source = ?2) AND (?3 IS NULL OR error = ?3)
           AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)
         ORDER BY id LIMIT ?6",
    )?
    .query_map(params![after, f.source, f.error, f.since, f.until, limit as i64], |r| {
        Ok(KeptRequest {
            id: r.get(0)?,
            source: r.get(1)?,
            error: r.get(2)?,
            at: r.get(3)?,
            kept: Kept {
                headers: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                body: r.get(5)?,
                url: r.get(6)?,
            },
        })
    })?
    .collect()
}

#[async_trait]
impl Operating for SqliteStore {
    async fn set_paused(&self, destination: &str, paused: bool, now: i64) -> Result<(), StoreError> {
        let destination = destination.to_string();
        self.task_with(true, move |tx, _| {
            if paused {
                tx.execute(
                    "INSERT INTO paused_destinations (destination, paused_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![destination, now],
                )?;
            } else {
                tx.execute("DELETE FROM paused_destinations WHERE destination = ?1", [destination])?;
            }
            Ok(())
        })
        .await
    }

    async fn paused(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT destination FROM paused_destinations ORDER BY destination")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
        .await
    }

    async fn open_alert(&self, alert: &Alert) -> Result<bool, StoreError> {
        let alert = alert.clone();
        self.task_with(true, move |tx, _| open_alert(tx, &alert)).await
    }

    async fn resolve_alert(&self, kind: AlertKind, subject: &str, now: i64) -> Result<Option<Alert>, StoreError> {
        let subject = subject.to_string();
        self.task_with(true, move |tx, _| resolve_alert(tx, kind, &subject, now))
            .await
    }

    async fn alerts(&self, filter: AlertFilter) -> Result<Vec<Alert>, StoreError> {
        self.read(move |c| alerts(c, &filter)).await
    }

    async fn alerts_to_notify(&self, remind_before: Option<i64>) -> Result<Vec<Alert>, StoreError> {
        self.read(move |c| to_notify(c, remind_before)).await
    }

    async fn mark_notified(&self, id: &str, state: AlertState, at: i64) -> Result<(), StoreError> {
        let id = id.to_string();
        self.task(move |tx| {
            tx.execute(
                "UPDATE alerts SET notified = ?2, reminded_at = ?3 WHERE id = ?1",
                params![id, state.as_str(), at],
            )?;
            Ok(())
        })
        .await
    }

    async fn touch_sources(&self, seen: Vec<(String, i64)>) -> Result<(), StoreError> {
        self.task(move |tx| {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO source_activity (source, last_event_at) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET last_event_at = MAX(last_event_at, excluded.last_event_at)",
            )?;
            for (source, at) in &seen {
                upsert.execute(params![source, at])?;
            }
            Ok(())
        })
        .await
    }

    async fn source_activity(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT source, last_event_at FROM source_activity")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .await
    }

    async fn rejected_counts(&self, since: i64) -> Result<Vec<(String, u64)>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT source, COUNT(*) FROM rejected WHERE at >= ?1 AND error <> 'handshake_secret' GROUP BY source",
            )?
            .query_map([since], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?
            .collect()
        })
        .await
    }

    async fn oldest_pending(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT d.destination, MIN(e.received_at) FROM deliveries d JOIN events e ON e.seq = d.event_seq
                 WHERE d.state = 'pending' GROUP BY d.destination",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
        })
        .await
    }

    async fn count_kept(&self, f: RejectedFilter) -> Result<u64, StoreError> {
        self.read(move |c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT COUNT(*) FROM rejected WHERE body IS NOT NULL AND raw_headers IS NOT NULL
                       AND (?1 IS NULL OR source = ?1) AND (?2 IS NULL OR error = ?2)
                       AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)",
                )?
                .query_row(params![f.source, f.error, f.since, f.until], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn kept_requests(
        &self,
        filter: RejectedFilter,
        after: i64,
        limit: usize,
    ) -> Result<Vec<KeptRequest>, StoreError> {
        self.read(move |c| kept_requests(c, &filter, after, limit)).await
    }
}
