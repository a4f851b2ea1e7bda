//! The operating features on PostgreSQL, shared by every node: paused destinations (every
//! node's claim reads them), alerts (a partial unique index lets one node open an alert;
//! `UPDATE … WHERE state = 'open' RETURNING` lets one resolve it), sources' last event
//! times (each node raises them), rejected counts and kept requests.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, unavailable};
use crate::domain::{Alert, AlertFilter, AlertKind, AlertState, Kept, KeptRequest, RejectedFilter};
use crate::store::{Operating, StoreError};

const ALERT_COLUMNS: &str = "id, kind, subject, state, opened_at, resolved_at, detail, notified, reminded_at";

fn alert(r: &PgRow) -> sqlx::Result<Alert> {
    let kind: String = r.try_get(1)?;
    let state: String = r.try_get(3)?;
    let notified: Option<String> = r.try_get(7)?;
    Ok(Alert {
        id: r.try_get(0)?,
        // Only inlet writes these columns; an unknown name is a newer version's kind.
        kind: AlertKind::parse(&kind).unwrap_or(AlertKind::DestinationFailing),
        subject: r.try_get(2)?,
        state: AlertState::parse(&state).unwrap_or(AlertState::Resolved),
        opened_at: r.try_get(4)?,
        resolved_at: r.try_get(5)?,
        detail: r.try_get(6)?,
        notified: notified.as_deref().and_then(AlertState::parse),
        reminded_at: r.try_get(8)?,
    })
}

fn alerts_of(rows: Vec<PgRow>) -> Result<Vec<Alert>, StoreError> {
    rows.iter().map(alert).collect::<sqlx::Result<_>>().map_err(unavailable)
}

#[async_trait]
impl Operating for PgStore {
    async fn set_paused(&self, destination: &str, paused: bool, now: i64) -> Result<(), StoreError> {
        let q = if paused {
            sqlx::query(
                "INSERT INTO paused_destinations (destination, paused_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(destination)
            .bind(now)
        } else {
            sqlx::query("DELETE FROM paused_destinations WHERE destination = $1").bind(destination)
        };
        q.execute(&self.pool).await.map_err(unavailable)?;
        Ok(())
    }

    async fn paused(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT destination FROM paused_destinations ORDER BY destination")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn open_alert(&self, a: &Alert) -> Result<bool, StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES ($1, $2, $3, 'open', $4, NULL, $5, NULL, NULL)
             ON CONFLICT DO NOTHING"
        )))
        .bind(&a.id)
        .bind(a.kind.as_str())
        .bind(&a.subject)
        .bind(a.opened_at)
        .bind(&a.detail)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn resolve_alert(&self, kind: AlertKind, subject: &str, now: i64) -> Result<Option<Alert>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE alerts SET state = 'resolved', resolved_at = $3
             WHERE kind = $1 AND subject = $2 AND state = 'open' RETURNING {ALERT_COLUMNS}"
        )))
        .bind(kind.as_str())
        .bind(subject)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(alert).transpose().map_err(unavailable)
    }

    async fn alerts(&self, f: AlertFilter) -> Result<Vec<Alert>, StoreError> {
        let (before_at, before_id) = match f.before {
            Some((at, id)) => (Some(at), Some(id)),
            None => (None, None),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts
             WHERE ($1::text IS NULL OR state = $1)
               AND ($2::bigint IS NULL OR (opened_at, id) < ($2, $3::text))
             ORDER BY opened_at DESC, id DESC LIMIT $4"
        )))
        .bind(f.state.map(AlertState::as_str))
        .bind(before_at)
        .bind(before_id)
        .bind(f.limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        alerts_of(rows)
    }

    async fn alerts_to_notify(&self, remind_before: Option<i64>) -> Result<Vec<Alert>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts
             WHERE notified IS NULL OR notified <> state
                OR (state = 'open' AND $1::bigint IS NOT NULL AND reminded_at < $1)
             ORDER BY opened_at"
        )))
        .bind(remind_before)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        alerts_of(rows)
    }

    async fn mark_notified(&self, id: &str, state: AlertState, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE alerts SET notified = $2, reminded_at = $3 WHERE id = $1")
            .bind(id)
            .bind(state.as_str())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn touch_sources(&self, seen: Vec<(String, i64)>) -> Result<(), StoreError> {
        let (sources, times): (Vec<String>, Vec<i64>) = seen.into_iter().unzip();
        sqlx::query(
            "INSERT INTO source_activity (source, last_event_at) SELECT * FROM UNNEST($1::text[], $2::bigint[])
             ON CONFLICT (source) DO UPDATE
             SET last_event_at = GREATEST(source_activity.last_event_at, excluded.last_event_at)",
        )
        .bind(sources)
        .bind(times)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn source_activity(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as("SELECT source, last_event_at FROM source_activity")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn rejected_counts(&self, since: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT source, COUNT(*) FROM rejected WHERE at >= $1 AND error <> 'handshake_secret' GROUP BY source",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows.into_iter().map(|(s, n)| (s, n.max(0) as u64)).collect())
    }

    async fn oldest_pending(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(
            "SELECT d.destination, MIN(e.received_at) FROM deliveries d JOIN events e ON e.seq = d.event_seq
             WHERE d.state = 'pending' GROUP BY d.destination",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)
    }

    async fn count_kept(&self, f: RejectedFilter) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM rejected WHERE body IS NOT NULL AND raw_headers IS NOT NULL
               AND ($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR error = $2)
               AND ($3::bigint IS NULL OR at >= $3) AND ($4::bigint IS NULL OR at < $4)",
        )
        .bind(f.source)
        .bind(f.error)
        .bind(f.since)
        .bind(f.until)
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(n.max(0) as u64)
    }

    async fn kept_requests(&self, f: RejectedFilter, after: i64, limit: usize) -> Result<Vec<KeptRequest>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, source, error, at, raw_headers, body, url FROM rejected
             WHERE id > $1 AND body IS NOT NULL AND raw_headers IS NOT NULL
               AND ($2::text IS NULL OR source = $2) AND ($3::text IS NULL OR error = $3)
               AND ($4::bigint IS NULL OR at >= $4) AND ($5::bigint IS NULL OR at < $5)
             ORDER BY id LIMIT $6",
        )
        .bind(after)
        .bind(f.source)
        .bind(f.error)
        .bind(f.since)
        .bind(f.until)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|r| {
                Ok(KeptRequest {
                    id: r.try_get(0)?,
                    source: r.try_get(1)?,
                    error: r.try_get(2)?,
                    at: r.try_get(3)?,
                    kept: Kept {
                        headers: serde_json::from_str(&r.try_get::<String, _>(4)?).unwrap_or_default(),
                        body: r.try_get(5)?,
                        url: r.try_get(6)?,
                    },
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(unavailable)
    }
}
