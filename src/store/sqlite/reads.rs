//! Read queries on a read-only connection: an event with its deliveries and attempts, and
//! the destinations' delivery counts.

use rusqlite::{Connection, OptionalExtension};

use super::queue::event_record;
use crate::domain::{AttemptRecord, DeliveryView, DestinationStats, StoredEvent};

pub fn event(c: &Connection, id: &str) -> rusqlite::Result<Option<StoredEvent>> {
    let seq: Option<i64> = c
        .prepare_cached("SELECT seq FROM events WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(seq) = seq else { return Ok(None) };
    let Some(event) = event_record(c, seq)? else {
        return Ok(None);
    };
    let mut deliveries: Vec<DeliveryView> = c
        .prepare_cached(
            "SELECT destination, state, attempts, next_attempt_at, last_error FROM deliveries
             WHERE event_seq = ?1 ORDER BY destination",
        )?
        .query_map([seq], |r| {
            Ok(DeliveryView {
                destination: r.get(0)?,
                state: r.get(1)?,
                steps_used: r.get(2)?,
                next_attempt_at: r.get(3)?,
                last_error: r.get(4)?,
                attempts: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT at, status_code, latency_ms, error, response_excerpt FROM attempts
         WHERE event_seq = ?1 AND destination = ?2 ORDER BY id",
    )?;
    for d in &mut deliveries {
        d.attempts = stmt
            .query_map(rusqlite::params![seq, d.destination], |r| {
                Ok(AttemptRecord {
                    at: r.get(0)?,
                    status_code: r.get(1)?,
                    latency_ms: r.get(2)?,
                    error: r.get(3)?,
                    response_excerpt: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(Some(StoredEvent { event, deliveries }))
}

pub fn destination_stats(c: &Connection) -> rusqlite::Result<Vec<DestinationStats>> {
    let counts = c
        .prepare_cached("SELECT destination, state, COUNT(*) FROM deliveries GROUP BY destination, state")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64)))?
        .collect::<rusqlite::Result<_>>()?;
    let oldest = c
        .prepare_cached(
            "SELECT d.destination, MIN(e.received_at) FROM deliveries d JOIN events e ON e.seq = d.event_seq
             WHERE d.state = 'pending' GROUP BY d.destination",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(DestinationStats::tally(counts, oldest))
}
