//! The one writer thread. It owns the only write connection and group-commits: it takes
//! the first queued operation, then whatever else has arrived (up to [`MAX_BATCH`]), runs
//! them all in one `BEGIN IMMEDIATE` transaction, and answers each caller only after the
//! `synchronous=FULL` commit. One flush per batch instead of one per event; no
//! `database is locked`, by construction.
//!
//! A batch without an ingest (only delivery bookkeeping: claims, attempts, releases,
//! pruning, rejected records) commits with `synchronous=NORMAL`: no flush of its own. A
//! process crash loses none of it (WAL); power loss can forget the latest attempts, which
//! are then made again with the same `webhook-id`: at least once still holds. The next
//! ingest commit flushes them anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::domain::{Ingested, NewEvent, RejectedRequest};
use crate::store::StoreError;
use crate::telemetry::metrics;

pub const MAX_BATCH: usize = 512;
/// Commits slower than this are logged: acknowledgements wait for them.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(20);
/// Rejected-request rows kept; older ones are trimmed.
pub const REJECTED_KEEP: i64 = 10_000;

pub enum Op {
    Ingest(Box<NewEvent>, oneshot::Sender<Result<Ingested, StoreError>>),
    Reject(RejectedRequest),
    /// Any other write, isolated in a savepoint so its failure fails only itself.
    Task(Box<dyn WriteTask>),
    /// Answered with whether the commit it rode in succeeded.
    Ping(oneshot::Sender<Result<(), StoreError>>),
    /// Finish what is queued before this, then exit.
    Shutdown,
}

/// A write that runs inside the writer's transaction and answers after the commit.
pub trait WriteTask: Send {
    /// Commit with `synchronous=FULL`: the task stores events.
    fn durable(&self) -> bool;
    fn apply(&mut self, tx: &Transaction<'_>);
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

/// A [`WriteTask`] from a closure; its caller awaits the closure's result.
pub struct Task<T, F> {
    durable: bool,
    work: Option<F>,
    out: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Task<T, F> {
    pub fn new(durable: bool, work: F) -> (Box<Self>, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        (
            Box::new(Task {
                durable,
                work: Some(work),
                out: None,
                reply,
            }),
            answer,
        )
    }
}

impl<T: Send, F: FnOnce(&Transaction<'_>) -> rusqlite::Result<T> + Send> WriteTask for Task<T, F> {
    fn durable(&self) -> bool {
        self.durable
    }

    fn apply(&mut self, tx: &Transaction<'_>) {
        let Some(work) = self.work.take() else { return };
        let result = tx.execute_batch("SAVEPOINT task").and_then(|()| match work(tx) {
            Ok(v) => tx.execute_batch("RELEASE task").map(|()| v),
            Err(e) => {
                let _ = tx.execute_batch("ROLLBACK TO task; RELEASE task");
                Err(e)
            }
        });
        self.out = Some(result.map_err(|e| StoreError::Unavailable(e.to_string())));
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let answer = match (committed, self.out) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(out)) => out,
            (Ok(()), None) => Err(StoreError::Unavailable("the task did not run".into())),
        };
        let _ = self.reply.send(answer);
    }
}

#[derive(Default)]
pub struct Counters {
    pub commits: AtomicU64,
    pub ops: AtomicU64,
}

pub fn run(mut conn: Connection, mut rx: mpsc::Receiver<Op>, counters: Arc<Counters>) {
    let mut batch: Vec<Op> = Vec::with_capacity(MAX_BATCH);
    let mut rejected_since_trim = 0u32;
    let mut full = true;
    loop {
        let Some(first) = rx.blocking_recv() else {
            return;
        };
        batch.push(first);
        drain(&mut rx, &mut batch);
        let stop = batch.iter().any(|op| matches!(op, Op::Shutdown));
        let needs_flush = batch.iter().any(|op| match op {
            Op::Ingest(..) | Op::Ping(_) => true,
            Op::Task(t) => t.durable(),
            Op::Reject(_) | Op::Shutdown => false,
        });
        if needs_flush != full {
            let mode = if needs_flush { "FULL" } else { "NORMAL" };
            if let Err(e) = conn.pragma_update(None, "synchronous", mode) {
                tracing::error!(error = %e, "cannot set synchronous={mode}");
            } else {
                full = needs_flush;
            }
        }
        let started = std::time::Instant::now();
        let results = if needs_flush && !full {
            // Never commit an ingest without its flush: refuse the batch (503) instead.
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some("cannot switch to synchronous=FULL".into()),
            ))
        } else {
            commit(&mut conn, &mut batch, &mut rejected_since_trim)
        };
        let elapsed = started.elapsed();
        metrics::observe(
            "inlet_store_commit_seconds",
            &[],
            metrics::LATENCY_BUCKETS,
            elapsed.as_secs_f64(),
        );
        metrics::observe(
            "inlet_store_commit_batch",
            &[],
            metrics::BATCH_BUCKETS,
            batch.len() as f64,
        );
        if elapsed > SLOW_COMMIT {
            tracing::warn!(
                ms = elapsed.as_millis() as u64,
                ops = batch.len(),
                "slow commit: the disk took long to flush"
            );
        }
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters.ops.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let (mut answers, committed) = match results {
            Ok(answers) => (answers.into_iter(), Ok(())),
            Err(e) => {
                tracing::error!(error = %e, ops = batch.len(), "commit failed; answering 503 to this batch");
                (Vec::new().into_iter(), Err(StoreError::Unavailable(e.to_string())))
            }
        };
        for op in batch.drain(..) {
            match op {
                Op::Ingest(_, reply) => {
                    let answer = match &committed {
                        Ok(()) => answers
                            .next()
                            .unwrap_or_else(|| Err(StoreError::Unavailable("no answer".into()))),
                        Err(e) => Err(e.clone()),
                    };
                    let _ = reply.send(answer);
                }
                Op::Task(task) => task.finish(committed.clone()),
                Op::Ping(reply) => {
                    let _ = reply.send(committed.clone());
                }
                Op::Reject(_) | Op::Shutdown => {}
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
    batch: &mut [Op],
    rejected_since_trim: &mut u32,
) -> rusqlite::Result<Vec<Result<Ingested, StoreError>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut answers = Vec::with_capacity(batch.len());
    for op in batch.iter_mut() {
        match op {
            Op::Ingest(event, _) => answers.push(Ok(insert_event(&tx, event)?)),
            Op::Reject(r) => {
                insert_rejected(&tx, r)?;
                *rejected_since_trim += 1;
                if *rejected_since_trim >= 256 {
                    *rejected_since_trim = 0;
                    tx.prepare_cached("DELETE FROM rejected WHERE id <= (SELECT MAX(id) FROM rejected) - ?1")?
                        .execute([REJECTED_KEEP])?;
                }
            }
            Op::Task(task) => task.apply(&tx),
            Op::Ping(_) | Op::Shutdown => {}
        }
    }
    tx.commit()?;
    Ok(answers)
}

pub fn insert_event(tx: &Transaction<'_>, e: &NewEvent) -> rusqlite::Result<Ingested> {
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
        "INSERT INTO deliveries (event_seq, destination, state, attempts, next_attempt_at, updated_at,
                                 order_key, order_at, order_version)
         VALUES (?1, ?2, 'pending', 0, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_seq, destination) DO NOTHING",
    )?;
    for d in &e.destinations {
        let (key, at, version) = match &d.order {
            Some(o) => (Some(o.key.as_str()), Some(o.at), o.version.as_deref()),
            None => (None, None, None),
        };
        insert.execute(params![seq, d.destination, d.due_at, e.received_at, key, at, version])?;
    }
    Ok(Ingested {
        id: e.id.clone(),
        duplicate: false,
    })
}

fn insert_rejected(tx: &Transaction<'_>, r: &RejectedRequest) -> rusqlite::Result<()> {
    let headers = serde_json::to_string(&r.headers).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached("INSERT INTO rejected (source, error, at, headers, body_size) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![r.source, r.error, r.at, headers, r.body_size as i64])?;
    Ok(())
}
