//! The one writer thread. It owns the only write connection and group-commits: it takes
//! the first queued operation, then whatever else has arrived (up to [`MAX_BATCH`]), runs
//! them all in one `BEGIN IMMEDIATE` transaction (`synchronous=NORMAL`: the frames reach
//! the WAL file, no flush), and hands the batch to the flush thread (`syncer`), which
//! `fdatasync`s the WAL and only then answers. While the disk flushes one batch, the next
//! one gathers: the writer commits again only when the flush thread is free (or the batch
//! is full, or after 100 ms), so each flush carries one commit of everything that arrived
//! meanwhile instead of several small ones that would ride the same flush anyway. No
//! `database is locked`, by construction. Duplicates are decided by the writer's
//! `DedupeIndex` (`dedupe`), which each commit may also merge a slice of.
//!
//! A batch without an ingest (only delivery bookkeeping: claims, attempts, releases,
//! pruning, rejected records) needs no flush of its own; its answers still wait behind any
//! earlier batch's flush, so a claim never sees an event that is not on disk. Power loss
//! can forget the latest attempts, which are then made again with the same `webhook-id`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::dedupe::DedupeIndex;
use super::gather::{FlushGate, Gathered, gather};
use super::syncer::Committed;
use crate::domain::{Ingested, NewEvent, RejectedKeep, RejectedRequest};
use crate::store::StoreError;
use crate::telemetry::metrics;

pub const MAX_BATCH: usize = 512;
/// Commits slower than this are logged: acknowledgements wait for them.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(20);

/// The bytes rejected-request records hold, kept under `server.rejected_keep`: a running
/// total, read once at start and recounted after each prune.
struct RejectedTally {
    limit: RejectedKeep,
    total: u64,
}

impl RejectedTally {
    fn read(conn: &Connection, limit: RejectedKeep) -> rusqlite::Result<Self> {
        let total: i64 = conn.query_row("SELECT COALESCE(SUM(size), 0) FROM rejected", [], |r| r.get(0))?;
        Ok(RejectedTally {
            limit,
            total: total.max(0) as u64,
        })
    }

    /// Records `r` and, when the total goes over the limit, deletes the oldest records
    /// until the newest ones left hold at most the target. Freed pages are reused by the
    /// next records (and given back by the retention's incremental vacuum).
    fn insert(&mut self, tx: &Transaction<'_>, r: &RejectedRequest) -> rusqlite::Result<()> {
        let headers = crate::domain::headers_json(&r.headers);
        let kept_headers = r.kept_headers_json();
        let size = on_disk(r.stored_size(&headers, kept_headers.as_deref().unwrap_or("")));
        tx.prepare_cached(
            "INSERT INTO rejected (source, error, at, headers, body_size, size, body, raw_headers, url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            r.source,
            r.error,
            r.at,
            headers,
            r.body_size as i64,
            size as i64,
            r.kept.as_ref().map(|k| k.body.as_slice()),
            kept_headers,
            r.kept.as_ref().and_then(|k| k.url.as_deref()),
        ])?;
        self.total += size;
        if self.total > self.limit.keep {
            tx.prepare_cached(
                "DELETE FROM rejected WHERE id <= (SELECT id FROM (SELECT id, SUM(size) OVER (ORDER BY id DESC) AS newer \
                 FROM rejected) WHERE newer > ?1 ORDER BY id DESC LIMIT 1)",
            )?
            .execute([self.limit.target() as i64])?;
            let total: i64 = tx.query_row("SELECT COALESCE(SUM(size), 0) FROM rejected", [], |r| r.get(0))?;
            self.total = total.max(0) as u64;
        }
        Ok(())
    }
}

/// What a row of `bytes` costs the file: a small one its bytes (it shares a page with
/// others), a large one whole 4 KiB pages (its overflow chain holds 4,092 bytes a page).
fn on_disk(bytes: u64) -> u64 {
    if bytes < 1024 {
        bytes
    } else {
        bytes.div_ceil(4092) * 4096
    }
}

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
    /// The task stores events: its callers are answered only after a WAL flush.
    fn durable(&self) -> bool;
    fn apply(&mut self, tx: &Transaction<'_>, dedupe: &mut DedupeIndex);
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

impl<T: Send, F: FnOnce(&Transaction<'_>, &mut DedupeIndex) -> rusqlite::Result<T> + Send> WriteTask for Task<T, F> {
    fn durable(&self) -> bool {
        self.durable
    }

    fn apply(&mut self, tx: &Transaction<'_>, dedupe: &mut DedupeIndex) {
        let Some(work) = self.work.take() else { return };
        let result = run_cached(tx, "SAVEPOINT task").and_then(|()| match work(tx, dedupe) {
            Ok(v) => run_cached(tx, "RELEASE task").map(|()| v),
            Err(e) => {
                let _ = run_cached(tx, "ROLLBACK TO task").and_then(|()| run_cached(tx, "RELEASE task"));
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

/// Runs `sql` through the statement cache (a savepoint is not parsed again per task).
fn run_cached(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([]).map(drop)
}

#[derive(Default)]
pub struct Counters {
    pub commits: AtomicU64,
    pub ops: AtomicU64,
    /// The last commit that wrote something, or its WAL flush, failed (a full disk, an I/O
    /// error): `/readyz` says so until a write succeeds again.
    pub failing: AtomicBool,
}

pub fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Op>,
    counters: Arc<Counters>,
    wal: std::fs::File,
    keep: RejectedKeep,
    mut dedupe: DedupeIndex,
) {
    let (to_syncer, committed_rx) = std::sync::mpsc::channel::<Committed>();
    let gate = Arc::new(FlushGate::default());
    let answered = gate.clone();
    let flushed = counters.clone();
    let flush = move || {
        let result = wal.sync_data();
        flushed.failing.store(result.is_err(), Ordering::Relaxed);
        result
    };
    let syncer = std::thread::Builder::new()
        .name("inlet-sqlite-sync".into())
        .spawn(move || super::syncer::run(flush, committed_rx, |n| answered.answered(n)));
    let syncer = match syncer {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the WAL flush thread; the store refuses writes");
            None
        }
    };
    let mut rejected = match RejectedTally::read(&conn, keep) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot count the rejected-request records; counting from zero");
            RejectedTally { limit: keep, total: 0 }
        }
    };
    while let Some(Gathered { ops: mut batch, last }) = gather(&mut rx, &gate) {
        let writes = batch
            .iter()
            .any(|op| matches!(op, Op::Ingest(..) | Op::Task(_) | Op::Reject(_)));
        let needs_flush = batch.iter().any(|op| match op {
            Op::Ingest(..) | Op::Ping(_) => true,
            Op::Task(t) => t.durable(),
            Op::Reject(_) | Op::Shutdown => false,
        });
        let started = std::time::Instant::now();
        let results = if syncer.is_none() {
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some("no WAL flush thread".into()),
            ))
        } else {
            commit(&mut conn, &mut batch, &mut rejected, &mut dedupe)
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
            tracing::warn!(ms = elapsed.as_millis() as u64, ops = batch.len(), "slow commit");
        }
        if writes {
            counters.failing.store(results.is_err(), Ordering::Relaxed);
        }
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters.ops.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let (answers, committed) = match results {
            Ok(answers) => (answers, Ok(())),
            Err(e) => {
                tracing::error!(error = %e, ops = batch.len(), "commit failed; answering 503 to this batch");
                (Vec::new(), Err(StoreError::Unavailable(e.to_string())))
            }
        };
        gate.handed();
        let done = Committed {
            ops: batch,
            answers,
            committed,
            needs_flush,
        };
        if let Err(unsent) = to_syncer.send(done) {
            // The flush thread is gone: never answer 2xx without a flush.
            let mut c = unsent.0;
            c.committed = Err(StoreError::Unavailable("the WAL flush thread stopped".into()));
            super::syncer::answer(c);
            gate.answered(1);
        }
        if last {
            // Anything queued after the shutdown marker is answered by dropping its reply
            // sender: the caller sees 503, never a 2xx for an uncommitted event.
            rx.close();
            break;
        }
    }
    drop(to_syncer);
    if let Some(h) = syncer {
        let _ = h.join();
    }
}

/// Runs the batch in one transaction; the answers of its ingests, in order.
fn commit(
    conn: &mut Connection,
    batch: &mut [Op],
    rejected: &mut RejectedTally,
    dedupe: &mut DedupeIndex,
) -> rusqlite::Result<Vec<Result<Ingested, StoreError>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut answers = Vec::with_capacity(batch.len());
    let mut inserted = 0;
    for op in batch.iter_mut() {
        match op {
            Op::Ingest(event, _) => {
                let ingested = insert_event(&tx, dedupe, event)?;
                inserted += usize::from(!ingested.duplicate);
                answers.push(Ok(ingested));
            }
            Op::Reject(r) => rejected.insert(&tx, r)?,
            Op::Task(task) => task.apply(&tx, dedupe),
            Op::Ping(_) | Op::Shutdown => {}
        }
    }
    let slice = dedupe.merge_slice(&tx, inserted)?;
    tx.commit()?;
    dedupe.merged(slice);
    Ok(answers)
}

/// Stores `e` with its deliveries, or answers with the first event of its dedupe key.
pub fn insert_event(tx: &Transaction<'_>, dedupe: &mut DedupeIndex, e: &NewEvent) -> rusqlite::Result<Ingested> {
    if let Some(first) = dedupe.find(tx, &e.dedupe_group, &e.dedupe_key)? {
        return Ok(Ingested {
            id: first,
            duplicate: true,
        });
    }
    let seq = dedupe.next_seq();
    let headers = crate::domain::headers_json(&e.headers);
    tx.prepare_cached(
        "INSERT INTO events (seq, id, source, dedupe_group, dedupe_key, type, via, received_at, occurred_at, content_type, headers, body, traceparent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
            seq,
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
            &e.body[..],
            e.traceparent
        ])?;
    dedupe.remember(&e.dedupe_group, &e.dedupe_key, seq);
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
