//! The one writer thread. It owns the only write connection and group-commits: it takes
//! the first queued operation, then whatever else has arrived (up to [`MAX_BATCH`]), runs
//! them all in one `BEGIN IMMEDIATE` transaction, and answers each caller only after the
//! `synchronous=FULL` commit. One fsync per batch instead of one per event; no
//! `database is locked`, by construction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::domain::{Ingested, NewEvent, RejectedRequest};
use crate::store::StoreError;

pub const MAX_BATCH: usize = 512;
/// Rejected-request rows kept; older ones are trimmed.
pub const REJECTED_KEEP: i64 = 10_000;

pub enum Op {
    Ingest(Box<NewEvent>, oneshot::Sender<Result<Ingested, StoreError>>),
    Reject(RejectedRequest),
    /// Answered with whether the last commit succeeded.
    Ping(oneshot::Sender<Result<(), StoreError>>),
    /// Finish what is queued before this, then exit.
    Shutdown,
}

#[derive(Default)]
pub struct Counters {
    pub commits: AtomicU64,
    pub ops: AtomicU64,
}

pub fn run(mut conn: Connection, mut rx: mpsc::Receiver<Op>, counters: Arc<Counters>) {
    let mut batch: Vec<Op> = Vec::with_capacity(MAX_BATCH);
    let mut rejected_since_trim = 0u32;
    loop {
        let Some(first) = rx.blocking_recv() else {
            return;
        };
        batch.push(first);
        drain(&mut rx, &mut batch);
        let stop = batch.iter().any(|op| matches!(op, Op::Shutdown));
        let started = std::time::Instant::now();
        let results = commit(&mut conn, &batch, &mut rejected_since_trim);
        tracing::trace!(
            ops = batch.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "group commit"
        );
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters
            .ops
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        match results {
            Ok(answers) => {
                let mut answers = answers.into_iter();
                for op in batch.drain(..) {
                    match op {
                        Op::Ingest(_, reply) => {
                            let answer = answers.next().unwrap_or_else(|| {
                                Err(StoreError::Unavailable("no answer".into()))
                            });
                            let _ = reply.send(answer);
                        }
                        Op::Ping(reply) => {
                            let _ = reply.send(Ok(()));
                        }
                        Op::Reject(_) | Op::Shutdown => {}
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, ops = batch.len(), "commit failed; answering 503 to this batch");
                let err = StoreError::Unavailable(e.to_string());
                for op in batch.drain(..) {
                    match op {
                        Op::Ingest(_, reply) => {
                            let _ = reply.send(Err(err.clone()));
                        }
                        Op::Ping(reply) => {
                            let _ = reply.send(Err(err.clone()));
                        }
                        Op::Reject(_) | Op::Shutdown => {}
                    }
                }
            }
        }
        if stop {
            // Anything queued after the shutdown marker is answered by dropping its reply
            // sender: the caller sees 503, never a 2xx for an uncommitted event.
            rx.close();
            return;
        }
    }
}

fn drain(rx: &mut mpsc::Receiver<Op>, batch: &mut Vec<Op>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(op) => batch.push(op),
            Err(_) => break,
        }
    }
}

/// Runs the batch in one transaction; the answers of its ingests, in order.
fn commit(
    conn: &mut Connection,
    batch: &[Op],
    rejected_since_trim: &mut u32,
) -> rusqlite::Result<Vec<Result<Ingested, StoreError>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut answers = Vec::with_capacity(batch.len());
    for op in batch {
        match op {
            Op::Ingest(event, _) => answers.push(Ok(insert_event(&tx, event)?)),
            Op::Reject(r) => {
                insert_rejected(&tx, r)?;
                *rejected_since_trim += 1;
                if *rejected_since_trim >= 256 {
                    *rejected_since_trim = 0;
                    tx.prepare_cached(
                        "DELETE FROM rejected WHERE id <= (SELECT MAX(id) FROM rejected) - ?1",
                    )?
                    .execute([REJECTED_KEEP])?;
                }
            }
            Op::Ping(_) | Op::Shutdown => {}
        }
    }
    tx.commit()?;
    Ok(answers)
}

fn insert_event(tx: &rusqlite::Transaction<'_>, e: &NewEvent) -> rusqlite::Result<Ingested> {
    let headers = serde_json::to_string(&e.headers).unwrap_or_else(|_| "[]".into());
    let inserted = tx
        .prepare_cached(
            "INSERT INTO events (id, source, dedupe_group, dedupe_key, type, via, received_at, occurred_at, content_type, headers, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (dedupe_group, dedupe_key) DO NOTHING",
        )?
        .execute(params![
            e.id,
            e.source,
            e.dedupe_group,
            e.dedupe_key,
            e.event_type,
            e.via.as_str(),
            e.received_at,
            e.occurred_at,
            e.content_type,
            headers,
            &e.body[..]
        ])?;
    if inserted == 0 {
        let first: String = tx
            .prepare_cached("SELECT id FROM events WHERE dedupe_group = ?1 AND dedupe_key = ?2")?
            .query_row(params![e.dedupe_group, e.dedupe_key], |r| r.get(0))?;
        return Ok(Ingested {
            id: first,
            duplicate: true,
        });
    }
    let seq = tx.last_insert_rowid();
    let mut insert = tx.prepare_cached(
        "INSERT INTO deliveries (event_seq, destination, state, attempts, next_attempt_at, updated_at)
         VALUES (?1, ?2, 'pending', 0, ?3, ?3) ON CONFLICT (event_seq, destination) DO NOTHING",
    )?;
    for d in &e.destinations {
        insert.execute(params![seq, d, e.received_at])?;
    }
    Ok(Ingested {
        id: e.id.clone(),
        duplicate: false,
    })
}

fn insert_rejected(tx: &rusqlite::Transaction<'_>, r: &RejectedRequest) -> rusqlite::Result<()> {
    let headers = serde_json::to_string(&r.headers).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO rejected (source, error, at, headers, body_size) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        r.source,
        r.error,
        r.at,
        headers,
        r.body_size as i64
    ])?;
    Ok(())
}
