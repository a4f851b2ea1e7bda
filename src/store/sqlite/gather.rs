//! How the writer gathers a batch: the first queued operation, whatever else is queued,
//! and, while the flush thread still holds an earlier batch, whatever arrives until it is
//! free. Operations that arrive during a flush wait for the next flush in any case; taking
//! them into one commit instead of several costs them nothing and saves the commits (each
//! one writes the file header page and the B-trees' upper pages again). While it waits,
//! the writer sleeps on the gate, not on the queue, so the senders do not wake it one
//! operation at a time. Owns the count of batches the flush thread holds; not the commit
//! or the flush themselves.

use std::sync::{Condvar, Mutex, PoisonError};

use tokio::sync::mpsc;

use super::writer::{MAX_BATCH, Op};

/// The longest the writer waits for the flush thread before it commits anyway, as it would
/// without the gate.
const WAIT_AT_MOST: std::time::Duration = std::time::Duration::from_millis(100);

/// How many batches the flush thread holds (handed over, not yet answered), and the
/// writer's wake-up when it holds none.
#[derive(Default)]
pub struct FlushGate {
    held: Mutex<usize>,
    free: Condvar,
}

impl FlushGate {
    /// The writer handed a batch over.
    pub fn handed(&self) {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    }

    /// The flush thread answered `n` batches; when it holds none, a waiting writer wakes.
    pub fn answered(&self, n: usize) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        *held = held.saturating_sub(n);
        if *held == 0 {
            self.free.notify_one();
        }
    }

    #[cfg(test)]
    pub fn busy(&self) -> bool {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) > 0
    }

    /// Returns once the flush thread holds no batch, or after [`WAIT_AT_MOST`]: a flush
    /// that slow (or a flush thread that stopped) must not hold the next commit back.
    fn wait_free(&self) {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let _free = self
            .free
            .wait_timeout_while(held, WAIT_AT_MOST, |held| *held > 0)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// A gathered batch.
pub struct Gathered {
    pub ops: Vec<Op>,
    /// It ends in a shutdown: the writer's last batch.
    pub last: bool,
}

/// Blocks for a first operation, takes whatever else is queued, and when the flush thread
/// still holds an earlier batch, waits for it to be free and takes what queued meanwhile
/// (up to [`MAX_BATCH`]; a shutdown ends the batch). `None` once every sender is gone and
/// the queue is empty.
pub fn gather(rx: &mut mpsc::Receiver<Op>, gate: &FlushGate) -> Option<Gathered> {
    let first = rx.blocking_recv()?;
    let mut ops = Vec::with_capacity(64);
    let mut stop = if take(first, &mut ops) {
        Stop::Shutdown
    } else {
        drain(rx, &mut ops)
    };
    if stop == Stop::Empty {
        gate.wait_free();
        stop = drain(rx, &mut ops);
    }
    Some(Gathered {
        ops,
        last: stop == Stop::Shutdown,
    })
}

/// Why [`drain`] stopped taking.
#[derive(PartialEq)]
enum Stop {
    /// The queue is empty; the batch has room.
    Empty,
    Full,
    /// The last operation before the writer exits: nothing after it joins the batch.
    Shutdown,
}

/// Takes what is queued, up to [`MAX_BATCH`].
fn drain(rx: &mut mpsc::Receiver<Op>, ops: &mut Vec<Op>) -> Stop {
    while ops.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(op) => {
                if take(op, ops) {
                    return Stop::Shutdown;
                }
            }
            Err(_) => return Stop::Empty,
        }
    }
    Stop::Full
}

/// Adds `op` to the batch; true for a shutdown.
fn take(op: Op, ops: &mut Vec<Op>) -> bool {
    let shutdown = match op {
        Op::Shutdown => true,
        Op::Ingest(..) | Op::Reject(_) | Op::Task(_) | Op::Ping(_) => false,
    };
    ops.push(op);
    shutdown
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;

    fn ping() -> Op {
        let (reply, _answer) = oneshot::channel();
        Op::Ping(reply)
    }

    /// A queue of `capacity` with `queued` pings in it, and a gate whose flush thread holds
    /// `held` batches.
    fn queue(capacity: usize, queued: usize, held: usize) -> (mpsc::Sender<Op>, mpsc::Receiver<Op>, Arc<FlushGate>) {
        let (tx, rx) = mpsc::channel(capacity);
        let gate = Arc::new(FlushGate::default());
        for _ in 0..held {
            gate.handed();
        }
        for _ in 0..queued {
            tx.try_send(ping()).expect("queued");
        }
        (tx, rx, gate)
    }

    /// Runs `gather` on its own thread; how many operations it gathered and whether the
    /// batch is the last, `None` when the queue is closed, or a failure after 10 s.
    fn gathered(mut rx: mpsc::Receiver<Op>, gate: Arc<FlushGate>) -> Option<(usize, bool)> {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let batch = gather(&mut rx, &gate).map(|g| (g.ops.len(), g.last));
            let _ = done.send(batch);
        });
        result
            .recv_timeout(Duration::from_secs(10))
            .expect("gather returned within 10 s")
    }

    #[test]
    fn a_batch_goes_at_once_when_the_flush_thread_is_free() {
        let (_tx, rx, gate) = queue(16, 3, 0);
        assert_eq!(gathered(rx, gate), Some((3, false)));
    }

    #[test]
    fn operations_that_arrive_during_a_flush_join_the_batch_until_the_flush_thread_is_free() {
        let (tx, rx, gate) = queue(16, 1, 1);
        let flusher = {
            let (tx, gate) = (tx.clone(), gate.clone());
            std::thread::spawn(move || {
                for _ in 0..4 {
                    tx.try_send(ping()).expect("queued");
                }
                gate.answered(1);
            })
        };
        assert_eq!(gathered(rx, gate.clone()), Some((5, false)));
        flusher.join().expect("the flusher ran");
        assert!(!gate.busy(), "the flush thread holds nothing");
    }

    #[test]
    fn a_shutdown_ends_the_batch_even_while_the_flush_thread_is_busy() {
        let (tx, rx, gate) = queue(16, 1, 1);
        tx.try_send(Op::Shutdown).expect("queued");
        tx.try_send(ping()).expect("queued");
        assert_eq!(
            gathered(rx, gate),
            Some((2, true)),
            "the ping after the shutdown is not taken"
        );
    }

    #[test]
    fn a_full_batch_goes_even_while_the_flush_thread_is_busy() {
        let (_tx, rx, gate) = queue(MAX_BATCH + 8, MAX_BATCH + 8, 1);
        assert_eq!(gathered(rx, gate), Some((MAX_BATCH, false)));
    }

    #[test]
    fn a_flush_thread_that_never_answers_holds_the_next_commit_back_only_briefly() {
        let (_tx, rx, gate) = queue(16, 1, 1);
        assert_eq!(gathered(rx, gate.clone()), Some((1, false)));
        assert!(gate.busy(), "the flush thread still holds its batch");
    }

    #[test]
    fn a_closed_empty_queue_ends_the_writer() {
        let (tx, rx, gate) = queue(16, 0, 0);
        drop(tx);
        assert_eq!(gathered(rx, gate), None);
    }
}
