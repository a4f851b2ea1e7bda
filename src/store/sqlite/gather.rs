//! How the writer gathers a batch: the first queued operation, whatever else is queued,
//! and, while the flush thread still holds an earlier batch, whatever arrives until it is
//! free. Operations that arrive during a flush wait for the next flush in any case; taking
//! them into one commit instead of several costs them nothing and saves the commits (each
//! one writes the file header page and the B-trees' upper pages again). Owns the count of
//! batches the flush thread holds; not the commit or the flush themselves.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc::{self, WeakSender};

use super::writer::{MAX_BATCH, Op};

/// How many batches the flush thread holds (handed over, not yet answered), so the writer
/// gathers while it is busy, and the writer's wake-up when it is free again.
pub struct FlushGate {
    held: AtomicUsize,
    wake: WeakSender<Op>,
}

impl FlushGate {
    pub fn new(wake: WeakSender<Op>) -> Self {
        FlushGate {
            held: AtomicUsize::new(0),
            wake,
        }
    }

    pub fn busy(&self) -> bool {
        self.held.load(Ordering::Acquire) > 0
    }

    /// The writer handed a batch over.
    pub fn handed(&self) {
        self.held.fetch_add(1, Ordering::AcqRel);
    }

    /// The flush thread answered `n` batches; when it holds none, the writer (perhaps
    /// waiting with a gathered batch) is woken. A full queue needs no wake-up: the writer
    /// is about to take from it and looks again.
    pub fn answered(&self, n: usize) {
        if self.held.fetch_sub(n, Ordering::AcqRel) == n
            && let Some(tx) = self.wake.upgrade()
        {
            let _ = tx.try_send(Op::Flushed);
        }
    }
}

/// Fills `batch`: blocks for a first operation, takes whatever else is queued, and while
/// the flush thread still holds an earlier batch, keeps taking operations as they come
/// until it is free, the batch is full or a shutdown is in it. False once every sender is
/// gone (what was gathered is still to be committed).
pub fn gather(rx: &mut mpsc::Receiver<Op>, batch: &mut Vec<Op>, gate: &FlushGate) -> bool {
    loop {
        if batch.len() >= MAX_BATCH || !(batch.is_empty() || gate.busy()) {
            return true;
        }
        let Some(op) = rx.blocking_recv() else {
            return false;
        };
        let mut taken = take(op, batch);
        while taken == Taken::Operation && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => taken = take(op, batch),
                Err(_) => break,
            }
        }
        if taken == Taken::Shutdown {
            return true;
        }
    }
}

#[derive(PartialEq)]
enum Taken {
    Operation,
    /// The last operation before the writer exits: nothing after it joins the batch.
    Shutdown,
    /// The flush thread's wake-up (not an operation): time to look at it again.
    Wake,
}

fn take(op: Op, batch: &mut Vec<Op>) -> Taken {
    let taken = match op {
        Op::Flushed => return Taken::Wake,
        Op::Shutdown => Taken::Shutdown,
        Op::Ingest(..) | Op::Reject(_) | Op::Task(_) | Op::Ping(_) => Taken::Operation,
    };
    batch.push(op);
    taken
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

    /// Runs `gather` on its own thread; what it gathered, or a failure after 10 s.
    fn gathered(mut rx: mpsc::Receiver<Op>, gate: Arc<FlushGate>) -> (usize, bool) {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut batch = Vec::new();
            let open = gather(&mut rx, &mut batch, &gate);
            let _ = done.send((batch.len(), open));
        });
        result
            .recv_timeout(Duration::from_secs(10))
            .expect("gather returned within 10 s")
    }

    #[test]
    fn a_batch_goes_at_once_when_the_flush_thread_is_free() {
        let (tx, rx) = mpsc::channel(16);
        let gate = Arc::new(FlushGate::new(tx.downgrade()));
        for _ in 0..3 {
            tx.try_send(ping()).expect("queued");
        }
        assert_eq!(gathered(rx, gate), (3, true));
    }

    #[test]
    fn operations_that_arrive_during_a_flush_join_the_batch_until_the_flush_thread_is_free() {
        let (tx, rx) = mpsc::channel(16);
        let gate = Arc::new(FlushGate::new(tx.downgrade()));
        gate.handed();
        tx.try_send(ping()).expect("queued");
        let flusher = {
            let (tx, gate) = (tx.clone(), gate.clone());
            std::thread::spawn(move || {
                for _ in 0..4 {
                    tx.try_send(ping()).expect("queued");
                }
                gate.answered(1);
                // Sent after the wake-up: the next batch's.
                tx.try_send(ping()).expect("queued");
            })
        };
        assert_eq!(gathered(rx, gate.clone()), (5, true));
        flusher.join().expect("the flusher ran");
        assert!(!gate.busy(), "the flush thread holds nothing");
    }

    #[test]
    fn a_shutdown_ends_the_batch_even_while_the_flush_thread_is_busy() {
        let (tx, rx) = mpsc::channel(16);
        let gate = Arc::new(FlushGate::new(tx.downgrade()));
        gate.handed();
        tx.try_send(ping()).expect("queued");
        tx.try_send(Op::Shutdown).expect("queued");
        tx.try_send(ping()).expect("queued");
        assert_eq!(
            gathered(rx, gate),
            (2, true),
            "the ping after the shutdown is not taken"
        );
    }

    #[test]
    fn a_full_batch_goes_even_while_the_flush_thread_is_busy() {
        let (tx, rx) = mpsc::channel(MAX_BATCH + 8);
        let gate = Arc::new(FlushGate::new(tx.downgrade()));
        gate.handed();
        for _ in 0..MAX_BATCH + 8 {
            tx.try_send(ping()).expect("queued");
        }
        assert_eq!(gathered(rx, gate), (MAX_BATCH, true));
    }

    #[test]
    fn what_was_gathered_is_kept_when_the_last_sender_goes() {
        let (tx, rx) = mpsc::channel(16);
        let gate = Arc::new(FlushGate::new(tx.downgrade()));
        gate.handed();
        tx.try_send(ping()).expect("queued");
        drop(tx);
        assert_eq!(gathered(rx, gate), (1, false));
    }
}
