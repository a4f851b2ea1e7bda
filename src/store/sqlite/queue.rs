//! The delivery queue's SQL, run inside the writer's transactions: claim due deliveries
//! with a lease, record an attempt and its consequence, release leases, prune.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::domain::{Claim, Completion, DeliveryKey, DeliveryState, EventRecord, NextStep, Via};

/// Leases up to `limit` pending deliveries of `destination` due at `now` whose lease is
/// free or expired, oldest due first.
pub fn claim(
    tx: &Transaction<'_>,
    destination: &str,
    now: i64,
    limit: usize,
    lease_until: i64,
) -> rusqlite::Result<Vec<Claim>> {
    let due: Vec<(i64, u32)> = tx
        .prepare_cached(
            "SELECT event_seq, attempts FROM deliveries
             WHERE destination = ?1 AND state = 'pending' AND next_attempt_at <= ?2
               AND (lease_until IS NULL OR lease_until < ?2)
             ORDER BY next_attempt_at LIMIT ?3",
        )?
        .query_map(params![destination, now, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut lease =
        tx.prepare_cached("UPDATE deliveries SET lease_until = ?3 WHERE event_seq = ?1 AND destination = ?2")?;
    let mut claims = Vec::with_capacity(due.len());
    for (seq, steps_used) in due {
        lease.execute(params![seq, destination, lease_until])?;
        if let Some(event) = event_record(tx, seq)? {
            claims.push(Claim {
                key: DeliveryKey {
                    event_seq: seq,
                    destination: destination.to_string(),
                },
                steps_used,
                event,
            });
        }
    }
    Ok(claims)
}

/// The stored fields of the event with sequence `seq`.
pub fn event_record(conn: &rusqlite::Connection, seq: i64) -> rusqlite::Result<Option<EventRecord>> {
    conn.prepare_cached(
        "SELECT id, source, type, dedupe_key, via, received_at, occurred_at, content_type, headers, body
         FROM events WHERE seq = ?1",
    )?
    .query_row([seq], |r| {
        Ok(EventRecord {
            id: r.get(0)?,
            source: r.get(1)?,
            event_type: r.get(2)?,
            dedupe_key: r.get(3)?,
            via: Via::parse(&r.get::<_, String>(4)?),
            received_at: r.get(5)?,
            occurred_at: r.get(6)?,
            content_type: r.get(7)?,
            headers: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
            body: r.get(9)?,
        })
    })
    .optional()
}

/// Records the attempt and applies what it leads to.
pub fn complete(tx: &Transaction<'_>, c: &Completion) -> rusqlite::Result<()> {
    let (key, steps_used, attempt, next) = (&c.key, c.steps_used, &c.attempt, &c.next);
    tx.prepare_cached(
        "INSERT INTO attempts (event_seq, destination, at, status_code, latency_ms, error, response_excerpt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key.event_seq,
        key.destination,
        attempt.at,
        attempt.status_code,
        attempt.latency_ms,
        attempt.error,
        attempt.response_excerpt
    ])?;
    let (state, next_at, error) = match next {
        NextStep::Delivered => (DeliveryState::Delivered, None, None),
        NextStep::RetryAt { at, .. } => (DeliveryState::Pending, Some(*at), attempt.error.clone()),
        NextStep::Dead { reason } => (DeliveryState::Dead, None, Some(reason.clone())),
    };
    tx.prepare_cached(
        "UPDATE deliveries SET state = ?3, attempts = ?4, next_attempt_at = COALESCE(?5, next_attempt_at),
                last_error = COALESCE(?6, last_error), lease_until = NULL, updated_at = ?7
         WHERE event_seq = ?1 AND destination = ?2",
    )?
    .execute(params![
        key.event_seq,
        key.destination,
        state.as_str(),
        steps_used,
        next_at,
        error,
        attempt.at
    ])?;
    Ok(())
}

/// Frees leases without recording anything (shutdown with attempts not started).
pub fn release(tx: &Transaction<'_>, keys: &[DeliveryKey]) -> rusqlite::Result<()> {
    let mut stmt =
        tx.prepare_cached("UPDATE deliveries SET lease_until = NULL WHERE event_seq = ?1 AND destination = ?2")?;
    for k in keys {
        stmt.execute(params![k.event_seq, k.destination])?;
    }
    Ok(())
}

/// Deletes up to `limit` events received before `before` whose deliveries are all finished,
/// with their deliveries and attempts, and rejected records older than `before`.
pub fn prune(tx: &Transaction<'_>, before: i64, limit: usize) -> rusqlite::Result<usize> {
    let seqs: Vec<i64> = tx
        .prepare_cached(
            "SELECT seq FROM events e WHERE received_at < ?1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending')
             ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![before, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for seq in &seqs {
        tx.prepare_cached("DELETE FROM attempts WHERE event_seq = ?1")?
            .execute([seq])?;
        tx.prepare_cached("DELETE FROM deliveries WHERE event_seq = ?1")?
            .execute([seq])?;
        tx.prepare_cached("DELETE FROM events WHERE seq = ?1")?.execute([seq])?;
    }
    tx.prepare_cached("DELETE FROM rejected WHERE at < ?1")?
        .execute([before])?;
    Ok(seqs.len())
}
