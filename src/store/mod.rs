//! Durable state behind one trait, [`Store`]: events with their pending deliveries,
//! rejected-request records, poll sources' cursors and counters, and the reads the rest of
//! inlet needs; what the operating features (pause, alerts, rejected retry) ask is the
//! supertrait [`Operating`]. The SQLite
//! implementation lives in `sqlite/`; nothing SQLite-specific leaves this folder, so a
//! PostgreSQL implementation can satisfy the same trait.

mod operating;
pub mod postgres;
pub mod sqlite;

pub use operating::Operating;

use async_trait::async_trait;

use crate::domain::PageStart;
use crate::domain::{
    Claim, Completion, DeliveryKey, DestinationStats, EventFilter, EventPage, Ingested, NewEvent, PollState, PollWrite,
    PollWritten, RejectedPage, RejectedRequest, ReplaySelection, StoredEvent,
};

/// Why the store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The write queue is full: the caller should answer 503 and let the sender retry soon.
    #[error("the store's write queue is full")]
    Busy,
    /// The store cannot commit (disk full, I/O error, closed): 503, never 2xx.
    #[error("the store cannot commit: {0}")]
    Unavailable(String),
    /// The database could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Open(String),
}

/// Counts that describe the store's write path, for benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub commits: u64,
    pub ops: u64,
}

#[async_trait]
pub trait Store: Operating + Send + Sync {
    /// Commits `event` and one pending delivery per destination in one transaction, unless
    /// its dedupe group already holds its dedupe key, in which case nothing is written and
    /// the first event's id comes back with `duplicate: true`. Returns only once durable.
    async fn ingest(&self, event: NewEvent) -> Result<Ingested, StoreError>;

    /// Records a rejected request. Best effort and never blocking: under pressure a record
    /// may be dropped, since the table is bounded anyway.
    fn record_rejected(&self, rejected: RejectedRequest);

    /// Leases up to `limit` deliveries of `destination` due at `now` (unix ms) whose lease
    /// is free or expired, until `lease_until`; a crashed worker's claims come back this way.
    async fn claim(
        &self,
        destination: &str,
        now: i64,
        limit: usize,
        lease_until: i64,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Records attempts and applies their consequences, in one transaction. An attempt
    /// whose lease this node no longer holds (it stalled, was taken for dead, and another
    /// node took the delivery over) is recorded as an attempt and changes nothing else;
    /// returns how many of those there were: duplicates a receiver may have seen.
    async fn complete(&self, completions: Vec<Completion>) -> Result<u64, StoreError>;

    /// When the earliest pending delivery of `destination` is due (unix ms), leased or not;
    /// read-only, so an idle worker can sleep until then without taking the writer.
    async fn next_due(&self, destination: &str) -> Result<Option<i64>, StoreError>;

    /// Frees leases of deliveries that were claimed but not attempted.
    async fn release(&self, keys: Vec<DeliveryKey>) -> Result<(), StoreError>;

    /// Extends to `lease_until` the leases this node holds on `keys` (pending deliveries
    /// whose attempt is still running, or waiting on a rate limit or a hydration), so no
    /// other claim takes them meanwhile. A lease this node no longer holds is left alone.
    async fn renew(&self, keys: Vec<DeliveryKey>, lease_until: i64) -> Result<(), StoreError>;

    /// Deletes up to `limit` finished events received before `before` (unix ms), with their
    /// deliveries and attempts (and so their dedupe keys), and older rejected records.
    async fn prune(&self, before: i64, limit: usize) -> Result<usize, StoreError>;

    /// One event with its deliveries and their attempts.
    async fn event(&self, id: &str) -> Result<Option<StoredEvent>, StoreError>;

    /// The ids of all stored events, oldest first, up to `limit`.
    async fn event_ids(&self, limit: usize) -> Result<Vec<String>, StoreError>;

    /// The most recent rejected requests, newest first: the first page of
    /// [`Store::rejected_page`] without its cursors.
    async fn rejected(&self, limit: usize) -> Result<Vec<RejectedRequest>, StoreError> {
        let page = self.rejected_page(None, limit).await?;
        Ok(page.items.into_iter().map(|(_, r)| r).collect())
    }

    /// Events matching `filter` from `start` (newest first, or oldest first after a cursor),
    /// at most `limit`.
    async fn list_events(&self, filter: EventFilter, start: PageStart, limit: usize) -> Result<EventPage, StoreError>;

    /// Re-queues the selected deliveries (pending, schedule restarted, due at `now`); how many.
    async fn replay(&self, selection: ReplaySelection, now: i64) -> Result<u64, StoreError>;

    /// How many deliveries in `state` a replay of `filter` would re-queue.
    async fn count_replay(
        &self,
        filter: EventFilter,
        state: String,
        destination: Option<String>,
    ) -> Result<u64, StoreError>;

    /// Rejected requests, newest first, older than the id `before`, at most `limit`.
    async fn rejected_page(&self, before: Option<i64>, limit: usize) -> Result<RejectedPage, StoreError>;

    /// Per destination: deliveries by state and the oldest pending one's received time.
    async fn destination_stats(&self) -> Result<Vec<DestinationStats>, StoreError>;

    /// A poll source's cursor, pause and counters (the default for one never polled).
    async fn poll_state(&self, source: &str) -> Result<PollState, StoreError>;

    /// Every poll source's state that the store holds, by source name.
    async fn poll_states(&self) -> Result<Vec<(String, PollState)>, StoreError>;

    /// Stores a page's events (deduped per group, with their pending deliveries), adds its
    /// counters and, at the end of a run, records how it ended and commits the cursor (only
    /// if no reset happened since the run read it): all in one transaction, durable before
    /// it returns.
    async fn poll_write(&self, write: PollWrite) -> Result<PollWritten, StoreError>;

    /// Takes or renews this node's lease on poll source `source` until `until` (unix ms);
    /// false while another node holds an unexpired one. One node polls a source at a time.
    async fn poll_lease(&self, source: &str, until: i64, now: i64) -> Result<bool, StoreError>;

    /// Stores when poll source `source` runs next (unix ms) and how many of its runs failed
    /// in a row, so whichever node (or process, after a restart) polls next keeps the
    /// schedule: `interval`, `idle_interval`, backoff.
    async fn poll_schedule(&self, source: &str, next_run_at: i64, failures: u32) -> Result<(), StoreError>;

    /// Forgets a poll source's cursor; a run in flight will not commit its cursor.
    async fn reset_cursor(&self, source: &str) -> Result<(), StoreError>;

    /// Wakes `wake` when another node stores an event or re-queues deliveries (PostgreSQL's
    /// LISTEN/NOTIFY). Only a hint: workers also look on their own schedule. Until
    /// `shutdown`. A single-node store has nothing to listen to.
    async fn listen(&self, _wake: std::sync::Arc<tokio::sync::Notify>, _shutdown: tokio_util::sync::CancellationToken) {
    }

    /// Ok while the store can commit.
    async fn ready(&self) -> Result<(), StoreError>;

    fn write_stats(&self) -> WriteStats;

    /// Commits everything already queued, then stops taking writes.
    async fn close(&self);
}
