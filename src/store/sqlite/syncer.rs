//! The second half of a group commit: flush the WAL, then answer. The writer commits a
//! batch with `synchronous=NORMAL` (its frames are in the WAL file, not yet on the disk
//! surface) and hands the batch here, gathering the next one while this thread runs
//! `fdatasync` on the WAL (it commits again once this thread has answered: `gather`).
//! Every caller of a batch that stored events (or asked for a flush) is answered only
//! after a flush that covers it; batches are answered in commit order, so nothing that
//! reads through the writer (a claim) learns of an event before that event is on disk. One
//! flush covers every batch committed before it.

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

/// Flushes with `flush` (the WAL's `fdatasync`; a test's stand-in) and answers, telling
/// `answered` how many batches it answered each time, until the writer drops its sender.
pub fn run(mut flush: impl FnMut() -> std::io::Result<()>, rx: Receiver<Committed>, mut answered: impl FnMut(usize)) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while let Ok(more) = rx.try_recv() {
            group.push(more);
        }
        if group.iter().any(|c| c.needs_flush && c.committed.is_ok()) {
            let started = Instant::now();
            let flushed = flush();
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
        let n = group.len();
        for c in group {
            answer(c);
        }
        answered(n);
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::mpsc;

    use tokio::sync::oneshot;

    use super::*;
    use crate::domain::NewEvent;

    /// A committed batch of one ingest, and the receiver its caller waits on.
    fn ingest_batch() -> (Committed, oneshot::Receiver<Result<Ingested, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let event = NewEvent::sample("s", "k", 0);
        let batch = Committed {
            ops: vec![Op::Ingest(Box::new(event), reply)],
            answers: vec![Ok(Ingested {
                id: "evt_1".into(),
                duplicate: false,
            })],
            committed: Ok(()),
            needs_flush: true,
        };
        (batch, answer)
    }

    #[test]
    fn a_committed_ingest_is_answered_only_after_the_flush_that_covers_it() {
        let (batch, mut answer) = ingest_batch();
        let (tx, rx) = mpsc::channel();
        tx.send(batch).expect("sends");
        drop(tx);
        let flushes = Cell::new(0);
        run(
            || {
                assert!(answer.try_recv().is_err(), "nothing is answered before the flush");
                flushes.set(flushes.get() + 1);
                Ok(())
            },
            rx,
            |_| {},
        );
        assert_eq!(flushes.get(), 1);
        let got = answer.try_recv().expect("answered after the flush");
        assert_eq!(got.map(|i| i.id).ok().as_deref(), Some("evt_1"));
    }

    #[test]
    fn a_failed_flush_answers_its_ingests_unavailable_never_ok() {
        let (first, mut a1) = ingest_batch();
        let (second, mut a2) = ingest_batch();
        let (tx, rx) = mpsc::channel();
        tx.send(first).expect("sends");
        tx.send(second).expect("sends");
        drop(tx);
        run(|| Err(std::io::Error::other("disk gone")), rx, |_| {});
        for answer in [a1.try_recv(), a2.try_recv()] {
            match answer.expect("answered") {
                Err(StoreError::Unavailable(why)) => assert!(why.contains("flush failed"), "{why}"),
                other => panic!("a failed flush must not acknowledge: {other:?}"),
            }
        }
    }

    #[test]
    fn a_batch_without_events_needs_no_flush_of_its_own() {
        let (reply, mut answer) = oneshot::channel();
        let (tx, rx) = mpsc::channel();
        tx.send(Committed {
            ops: vec![Op::Ping(reply)],
            answers: Vec::new(),
            committed: Ok(()),
            needs_flush: false,
        })
        .expect("sends");
        drop(tx);
        run(|| panic!("no flush for bookkeeping alone"), rx, |_| {});
        assert!(matches!(answer.try_recv(), Ok(Ok(()))));
    }
}
