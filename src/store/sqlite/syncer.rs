//! The second half of a group commit: flush the WAL, then answer. The writer commits a
//! batch with `synchronous=NORMAL` (its frames are in the WAL file, not yet on the disk
//! surface) and hands the batch here, free to build the next one while this thread runs
//! `fdatasync` on the WAL. Every caller of a batch that stored events (or asked for a
//! flush) is answered only after a flush that covers it; batches are answered in commit
//! order, so nothing that reads through the writer (a claim) learns of an event before
//! that event is on disk. One flush covers every batch committed before it.

use std::fs::File;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::writer::Op;
use crate::domain::Ingested;
use crate::store::StoreError;
use crate::telemetry::metrics;

/// A flush slower than this is logged: acknowledgements wait for it.
const SLOW_FLUSH: std::time::Duration = std::time::Duration::from_millis(20);

/// A committed (or failed) batch waiting for its flush and its answers.
pub struct Committed {
    pub ops: Vec<Op>,
    pub answers: Vec<Result<Ingested, StoreError>>,
    pub committed: Result<(), StoreError>,
    /// The batch stored events: its callers wait for a flush.
    pub needs_flush: bool,
}

pub fn run(wal: File, rx: Receiver<Committed>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while let Ok(more) = rx.try_recv() {
            group.push(more);
        }
        if group.iter().any(|c| c.needs_flush && c.committed.is_ok()) {
            let started = Instant::now();
            let flushed = wal.sync_data();
            let elapsed = started.elapsed();
            metrics::observe(
                "inlet_store_flush_seconds",
                &[],
                metrics::LATENCY_BUCKETS,
                elapsed.as_secs_f64(),
            );
            if elapsed > SLOW_FLUSH {
                let ops: usize = group.iter().map(|c| c.ops.len()).sum();
                tracing::warn!(
                    ms = elapsed.as_millis() as u64,
                    ops,
                    "slow flush: the disk took long to sync the WAL"
                );
            }
            if let Err(e) = flushed {
                tracing::error!(error = %e, "WAL flush failed: answering 503 (the senders retry; dedupe absorbs it)");
                for c in &mut group {
                    if c.needs_flush && c.committed.is_ok() {
                        c.committed = Err(StoreError::Unavailable(format!("flush failed: {e}")));
                    }
                }
            }
        }
        for c in group {
            answer(c);
        }
    }
}

/// Answers every operation of a batch with its result.
pub fn answer(c: Committed) {
    let mut answers = c.answers.into_iter();
    for op in c.ops {
        match op {
            Op::Ingest(_, reply) => {
                let answer = match &c.committed {
                    Ok(()) => answers
                        .next()
                        .unwrap_or_else(|| Err(StoreError::Unavailable("no answer".into()))),
                    Err(e) => Err(e.clone()),
                };
                let _ = reply.send(answer);
            }
            Op::Task(task) => task.finish(c.committed.clone()),
            Op::Ping(reply) => {
                let _ = reply.send(c.committed.clone());
            }
            Op::Reject(_) | Op::Shutdown => {}
        }
    }
}
