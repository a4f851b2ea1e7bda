//! The embedded SQLite store: one writer thread that group-commits (`writer`), a few
//! read-only connections used through `spawn_blocking`, and embedded migrations (`schema`).

mod admin;
pub mod backup;
mod checkpoint;
mod dedupe;
mod gather;
mod operating;
mod poll;
mod queue;
mod reads;
mod schema;
mod syncer;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use super::{Store, StoreError, WriteStats};
use crate::domain::PageStart;
use crate::domain::{
    Claim, Completion, DeliveryKey, DestinationStats, EventFilter, EventPage, Ingested, NewEvent, PollState, PollWrite,
    PollWritten, RejectedKeep, RejectedPage, RejectedRequest, ReplaySelection, StoredEvent,
};
use writer::{Counters, Op, Task};

/// How many operations may wait for the writer before ingest answers 503.
const QUEUE: usize = 8192;
const READERS: usize = 2;

pub struct SqliteStore {
    tx: mpsc::Sender<Op>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    counters: Arc<Counters>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    checkpointer: Mutex<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    /// When `ready` last probed a failing store with a write.
    last_probe: Mutex<Option<std::time::Instant>>,
}

impl SqliteStore {
    /// Opens (creating parent folders and the file if needed) and migrates the database,
    /// then starts the writer thread; rejected records keep the default 64 MiB.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, RejectedKeep::DEFAULT)
    }

    /// As [`SqliteStore::open`], with rejected-request records bounded by `keep`.
    pub fn open_with(path: &Path, keep: RejectedKeep) -> Result<SqliteStore, StoreError> {
        let open_err = |e: &dyn std::fmt::Display| StoreError::Open(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        }
        let mut conn = Connection::open(path).map_err(|e| open_err(&e))?;
        schema::configure_writer(&conn).map_err(|e| open_err(&e))?;
        schema::migrate(&mut conn).map_err(|e| open_err(&e))?;
        // SQLite serves one node: any lease left is from a process that is gone.
        conn.execute(
            "UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL",
            [],
        )
        .map_err(|e| open_err(&e))?;
        let dedupe = dedupe::DedupeIndex::load(&conn).map_err(|e| open_err(&e))?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .map_err(|e| open_err(&e))?;
            schema::configure_reader(&r).map_err(|e| open_err(&e))?;
            readers.push(Mutex::new(r));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        // The WAL file the flush thread syncs: opened after the migrations wrote to it.
        let wal_path = {
            let mut p = path.as_os_str().to_owned();
            p.push("-wal");
            std::path::PathBuf::from(p)
        };
        let wal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&wal_path)
            .map_err(|e| open_err(&e))?;
        let handle = std::thread::Builder::new()
            .name("inlet-sqlite-writer".into())
            .spawn(move || writer::run(conn, rx, c, wal, keep, dedupe))
            .map_err(|e| open_err(&e))?;
        let checkpoint_conn = Connection::open(path).map_err(|e| open_err(&e))?;
        checkpoint_conn
            .pragma_update(None, "busy_timeout", 5000)
            .map_err(|e| open_err(&e))?;
        let (stop, stopped) = std::sync::mpsc::channel();
        let checkpointer = std::thread::Builder::new()
            .name("inlet-sqlite-checkpoint".into())
            .spawn(move || checkpoint::run(checkpoint_conn, stopped))
            .map_err(|e| open_err(&e))?;
        Ok(SqliteStore {
            tx,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            counters,
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some((stop, checkpointer))),
            last_probe: Mutex::new(None),
        })
    }

    fn send(&self, op: Op) -> Result<(), StoreError> {
        self.tx.try_send(op).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => StoreError::Unavailable("the store is closed".into()),
        })
    }

    /// Runs `work` in the writer's next transaction and returns its result once committed.
    async fn task<T: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.task_with(false, move |tx, _| work(tx)).await
    }

    /// As [`SqliteStore::task`], with the writer's dedupe index; `durable` makes its commit
    /// flush (it stores events).
    async fn task_with<T: Send + 'static>(
        &self,
        durable: bool,
        work: impl FnOnce(&rusqlite::Transaction<'_>, &mut dedupe::DedupeIndex) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (task, answer) = Task::new(durable, work);
        // Delivery bookkeeping waits for room rather than failing: it is not ingest.
        self.tx
            .send(Op::Task(task))
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped before committing".into()))?
    }

    /// Runs `f` on a read connection on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
        tokio::task::spawn_blocking(move || {
            let conn = readers[i].lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
        .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(&self, event: NewEvent) -> Result<Ingested, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Op::Ingest(Box::new(event), reply))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped before committing".into()))?
    }

    fn record_rejected(&self, rejected: RejectedRequest) {
        if self.send(Op::Reject(rejected)).is_err() {
            tracing::warn!("rejected-request record dropped: the write queue is full or closed");
        }
    }

    async fn claim(
        &self,
        destination: &str,
        now: i64,
        limit: usize,
        lease_until: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        let destination = destination.to_string();
        self.task(move |tx| queue::claim(tx, &destination, now, limit, lease_until))
            .await
    }

    async fn complete(&self, completions: Vec<Completion>) -> Result<u64, StoreError> {
        self.task(move |tx| completions.iter().try_for_each(|c| queue::complete(tx, c)))
            .await?;
        // One node: nobody else can have taken a lease over.
        Ok(0)
    }

    async fn next_due(&self, destination: &str) -> Result<Option<i64>, StoreError> {
        let destination = destination.to_string();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE destination = ?1 AND state = 'pending'",
            )?
            .query_row([destination], |r| r.get(0))
        })
        .await
    }

    async fn release(&self, keys: Vec<DeliveryKey>) -> Result<(), StoreError> {
        self.task(move |tx| queue::release(tx, &keys)).await
    }

    async fn renew(&self, keys: Vec<DeliveryKey>, lease_until: i64) -> Result<(), StoreError> {
        self.task(move |tx| queue::renew(tx, &keys, lease_until)).await
    }

    async fn prune(&self, before: i64, limit: usize) -> Result<usize, StoreError> {
        self.task(move |tx| queue::prune(tx, before, limit)).await
    }

    async fn event(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let id = id.to_string();
        self.read(move |c| reads::event(c, &id)).await
    }

    async fn event_ids(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(move |c| {
            c.prepare_cached("SELECT id FROM events ORDER BY seq LIMIT ?1")?
                .query_map([limit as i64], |r| r.get(0))?
                .collect()
        })
        .await
    }

    async fn list_events(&self, filter: EventFilter, start: PageStart, limit: usize) -> Result<EventPage, StoreError> {
        self.read(move |c| admin::list_events(c, &filter, start, limit)).await
    }

    async fn replay(&self, selection: ReplaySelection, now: i64) -> Result<u64, StoreError> {
        self.task(move |tx| admin::replay(tx, &selection, now)).await
    }

    async fn count_replay(
        &self,
        filter: EventFilter,
        state: String,
        destination: Option<String>,
    ) -> Result<u64, StoreError> {
        self.read(move |c| admin::count_replay(c, &filter, &state, destination.as_deref()))
            .await
    }

    async fn rejected_page(&self, before: Option<i64>, limit: usize) -> Result<RejectedPage, StoreError> {
        self.read(move |c| admin::rejected_page(c, before, limit)).await
    }

    async fn destination_stats(&self) -> Result<Vec<DestinationStats>, StoreError> {
        self.read(reads::destination_stats).await
    }

    async fn poll_state(&self, source: &str) -> Result<PollState, StoreError> {
        let source = source.to_string();
        self.read(move |c| poll::state(c, &source)).await
    }

    async fn poll_states(&self) -> Result<Vec<(String, PollState)>, StoreError> {
        self.read(poll::states).await
    }

    async fn poll_write(&self, write: PollWrite) -> Result<PollWritten, StoreError> {
        let durable = !write.events.is_empty() || write.end.as_ref().is_some_and(|e| e.paused_until.is_some());
        self.task_with(durable, move |tx, dedupe| poll::write(tx, dedupe, &write))
            .await
    }

    async fn poll_lease(&self, _source: &str, _until: i64, _now: i64) -> Result<bool, StoreError> {
        // One process owns a SQLite file: its pollers never compete.
        Ok(true)
    }

    async fn poll_schedule(&self, source: &str, next_run_at: i64, failures: u32) -> Result<(), StoreError> {
        let source = source.to_string();
        self.task(move |tx| poll::schedule(tx, &source, next_run_at, failures))
            .await
    }

    async fn reset_cursor(&self, source: &str) -> Result<(), StoreError> {
        let source = source.to_string();
        self.task_with(true, move |tx, _| poll::reset_cursor(tx, &source)).await
    }

    /// Ok while the writer answers and its last write committed. After a failed write, a
    /// probe (one row of `health`, at most one a second) finds out whether writes work again.
    async fn ready(&self) -> Result<(), StoreError> {
        if self.counters.failing.load(Ordering::Relaxed) {
            let now = std::time::Instant::now();
            let due = {
                let mut last = self
                    .last_probe
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let due = last.is_none_or(|at| now.duration_since(at) >= std::time::Duration::from_secs(1));
                if due {
                    *last = Some(now);
                }
                due
            };
            if !due {
                return Err(StoreError::Unavailable("the last commit failed".into()));
            }
            let at = chrono::Utc::now().timestamp_millis();
            self.task_with(true, move |tx, _| {
                tx.execute(
                    "INSERT INTO health (id, probed_at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET probed_at = ?1",
                    [at],
                )
            })
            .await?;
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Op::Ping(reply))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped".into()))?
    }

    fn write_stats(&self) -> WriteStats {
        WriteStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            ops: self.counters.ops.load(Ordering::Relaxed),
        }
    }

    async fn close(&self) {
        // A full queue still drains: wait for room for the marker.
        if self.tx.send(Op::Shutdown).await.is_err() {
            return;
        }
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let checkpointer = self.checkpointer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(h) = handle {
                let _ = h.join();
            }
            if let Some((stop, h)) = checkpointer {
                let _ = stop.send(());
                let _ = h.join();
            }
        })
        .await;
    }
}
