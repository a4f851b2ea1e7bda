//! The delivery queue's SQL, run inside the writer's transactions: claim due deliveries
//! with a lease, record an attempt and its consequence, release leases, prune.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::domain::compare::newer_version;
use crate::domain::{Claim, Completion, DeliveryKey, DeliveryState, EventRecord, Via, stale_reason};

/// Leases up to `limit` pending deliveries of `destination` due at `now` whose lease is
/// free or expired, oldest due first. An ordered delivery is claimed only at the head of
/// its key (no earlier pending delivery of the key, leased or not), so one key has at most
/// one attempt in flight; a head whose version is not newer than the key's last delivered
/// one ends as `skipped_stale` here instead of being claimed.
pub fn claim(
    tx: &Transaction<'_>,
    destination: &str,
    now: i64,
    limit: usize,
    lease_until: i64,
) -> rusqlite::Result<Vec<Claim>> {
    type Due = (i64, u32, Option<String>, Option<String>);
    let due: Vec<Due> = tx
        .prepare_cached(
            "SELECT d.event_seq, d.attempts, d.order_key, d.order_version FROM deliveries d
             WHERE d.destination = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2
               AND (d.lease_until IS NULL OR d.lease_until < ?2)
               AND NOT EXISTS (SELECT 1 FROM paused_destinations p WHERE p.destination = ?1)
               AND (d.order_key IS NULL OR NOT EXISTS (
                    SELECT 1 FROM deliveries o
                    WHERE o.destination = d.destination AND o.order_key = d.order_key AND o.state = 'pending'
                      AND (o.order_at < d.order_at OR (o.order_at = d.order_at AND o.event_seq < d.event_seq))))
             ORDER BY d.next_attempt_at LIMIT ?3",
        )?
        .query_map(params![destination, now, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut lease =
        tx.prepare_cached("UPDATE deliveries SET lease_until = ?3 WHERE event_seq = ?1 AND destination = ?2")?;
    let mut claims = Vec::with_capacity(due.len());
    for (seq, steps_used, order_key, version) in due {
        if let (Some(key), Some(version)) = (&order_key, &version)
            && let Some(last) = stale_against(tx, destination, key, version)?
        {
            tx.prepare_cached(
                "UPDATE deliveries SET state = 'skipped_stale', last_error = ?3, updated_at = ?4
                 WHERE event_seq = ?1 AND destination = ?2",
            )?
            .execute(params![seq, destination, stale_reason(version, &last), now])?;
            continue;
        }
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

/// The key's last delivered version when `version` is not newer than it.
fn stale_against(
    tx: &Transaction<'_>,
    destination: &str,
    key: &str,
    version: &str,
) -> rusqlite::Result<Option<String>> {
    let last: Option<String> = tx
        .prepare_cached("SELECT version FROM order_versions WHERE destination = ?1 AND order_key = ?2")?
        .query_row(params![destination, key], |r| r.get(0))
        .optional()?;
    Ok(last.filter(|last| !newer_version(version, last)))
}

/// After a delivery of an ordered key: remember its version if it is the newest.
fn record_version(tx: &Transaction<'_>, key: &DeliveryKey) -> rusqlite::Result<()> {
    let row: Option<(Option<String>, Option<String>)> = tx
        .prepare_cached("SELECT order_key, order_version FROM deliveries WHERE event_seq = ?1 AND destination = ?2")?
        .query_row(params![key.event_seq, key.destination], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((Some(order_key), Some(version))) = row else {
        return Ok(());
    };
    if stale_against(tx, &key.destination, &order_key, &version)?.is_some() {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO order_versions (destination, order_key, version) VALUES (?1, ?2, ?3)
         ON CONFLICT (destination, order_key) DO UPDATE SET version = excluded.version",
    )?
    .execute(params![key.destination, order_key, version])?;
    Ok(())
}

/// The stored fields of the event with sequence `seq`.
pub fn event_record(conn: &rusqlite::Connection, seq: i64) -> rusqlite::Result<Option<EventRecord>> {
    conn.prepare_cached(
        "SELECT id, source, type, dedupe_key, via, received_at, occurred_at, content_type, headers, body, traceparent
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
            traceparent: r.get(10)?,
        })
    })
    .optional()
}

/// Records the attempt and applies what it leads to.
pub fn complete(tx: &Transaction<'_>, c: &Completion) -> rusqlite::Result<()> {
    let (key, steps_used, attempt) = (&c.key, c.steps_used, &c.attempt);
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
    let (state, next_at, error) = c.written();
    if state == DeliveryState::Delivered {
        record_version(tx, key)?;
    }
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

/// Extends the leases of `keys` that are still leased and pending.
pub fn renew(tx: &Transaction<'_>, keys: &[DeliveryKey], lease_until: i64) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE deliveries SET lease_until = ?3 WHERE event_seq = ?1 AND destination = ?2
           AND state = 'pending' AND lease_until IS NOT NULL",
    )?;
    for k in keys {
        stmt.execute(params![k.event_seq, k.destination, lease_until])?;
    }
    Ok(())
}

/// Deletes up to `limit` events received before `before` whose deliveries are all finished,
/// with their deliveries and attempts, and rejected records older than `before`.
pub fn prune(tx: &Transaction<'_>, before: i64, limit: usize) -> rusqlite::Result<usize> {
    let events: Vec<(i64, String, String)> = tx
        .prepare_cached(
            "SELECT seq, dedupe_group, dedupe_key FROM events e WHERE received_at < ?1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending')
             ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![before, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (seq, group, key) in &events {
        tx.prepare_cached("DELETE FROM attempts WHERE event_seq = ?1")?
            .execute([seq])?;
        tx.prepare_cached("DELETE FROM deliveries WHERE event_seq = ?1")?
            .execute([seq])?;
        tx.prepare_cached("DELETE FROM events WHERE seq = ?1")?.execute([seq])?;
        // A key still in the writer's memory is forgotten there when it finds no event.
        tx.prepare_cached("DELETE FROM dedupe_keys WHERE dedupe_group = ?1 AND dedupe_key = ?2 AND seq = ?3")?
            .execute(params![group, key, seq])?;
    }
    tx.prepare_cached("DELETE FROM rejected WHERE at < ?1")?
        .execute([before])?;
    give_back_free_pages(tx)?;
    Ok(events.len())
}

/// Gives free pages back to the file system (the database was created with
/// `auto_vacuum = INCREMENTAL`) once they are over a quarter of the file, at most 16 MiB a
/// call; fewer stay for the next writes to reuse.
fn give_back_free_pages(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let free: i64 = tx.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let pages: i64 = tx.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    if free > 256 && free * 4 > pages {
        tx.execute_batch("PRAGMA incremental_vacuum(4096)")?;
    }
    Ok(())
}
