//! Group commit on PostgreSQL: every ingest of this node goes through one queue; a writer
//! task takes whatever has arrived (up to [`MAX_BATCH`]) and commits it in one transaction
//! (`batch.rs`: one statement per table), with at most [`IN_FLIGHT`] transactions at once,
//! so the next batch gathers while the last one commits. Each caller is answered only after
//! its transaction committed; a failed transaction answers all of its callers with the
//! error (503, never a 2xx). A transaction that stored deliverable events sends a NOTIFY
//! unless one went out in the last [`NOTIFY_EVERY`]: other nodes only need a hint, and
//! this node's own workers are woken by the ingest itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{CHANNEL, batch, unavailable};
use crate::domain::{Ingested, NewEvent};
use crate::store::StoreError;

/// Ingests waiting at most; past it callers get `Busy` (503, `Retry-After: 1`).
pub const QUEUE: usize = 8192;
/// Ingests in one transaction at most.
const MAX_BATCH: usize = 256;
/// Transactions committing at once at most.
const IN_FLIGHT: usize = 2;
/// At most one NOTIFY this often.
const NOTIFY_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

pub type Reply = oneshot::Sender<Result<Ingested, StoreError>>;

/// Commits and events counted, for `write_stats`, and when the last NOTIFY went out.
#[derive(Default)]
pub struct Counts {
    pub commits: AtomicU64,
    pub events: AtomicU64,
    /// Unix ms of the last NOTIFY (0: none yet).
    notified_at: AtomicI64,
}

impl Counts {
    /// True at most once per [`NOTIFY_EVERY`]: this transaction sends the NOTIFY.
    fn notify_due(&self) -> bool {
        let now = chrono::Utc::now().timestamp_millis();
        let last = self.notified_at.load(Ordering::Relaxed);
        now - last >= NOTIFY_EVERY.as_millis() as i64
            && self
                .notified_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// Starts the writer; its sender is what `ingest` uses.
pub fn start(pool: PgPool, counts: Arc<Counts>) -> mpsc::Sender<(NewEvent, Reply)> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(pool, rx, counts));
    tx
}

async fn run(pool: PgPool, mut rx: mpsc::Receiver<(NewEvent, Reply)>, counts: Arc<Counts>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        // Wait for a free transaction first: what arrives meanwhile joins the next batch.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let (pool, counts) = (pool.clone(), counts.clone());
        tokio::spawn(async move {
            let (events, replies): (Vec<NewEvent>, Vec<Reply>) = batch.into_iter().unzip();
            let answers = commit(&pool, &events, &counts).await;
            counts.commits.fetch_add(1, Ordering::Relaxed);
            counts.events.fetch_add(events.len() as u64, Ordering::Relaxed);
            drop(slot);
            match answers {
                Ok(answers) => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(Ok(answer));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}

async fn commit(pool: &PgPool, events: &[NewEvent], counts: &Counts) -> Result<Vec<Ingested>, StoreError> {
    let mut tx = pool.begin().await.map_err(unavailable)?;
    let refs: Vec<&NewEvent> = events.iter().collect();
    let answers = batch::insert_events(&mut tx, &refs).await.map_err(unavailable)?;
    let deliverable = events
        .iter()
        .zip(&answers)
        .any(|(e, a)| !a.duplicate && !e.destinations.is_empty());
    if deliverable && counts.notify_due() {
        // Sent at commit: a hint for the other nodes' delivery workers.
        sqlx::query(sqlx::AssertSqlSafe(format!("NOTIFY {CHANNEL}")))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(answers)
}
