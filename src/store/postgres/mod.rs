//! The PostgreSQL store: the same `trait Store` for several `inlet serve` nodes sharing one
//! database. Each node group-commits its ingests (`writer.rs`); PostgreSQL serialises what
//! must be across nodes (the unique (group, key) for dedupe, `FOR UPDATE SKIP LOCKED` for
//! claims). Leases carry the node's name and expire, so a killed node's deliveries come
//! back to the others (at once when a node stops beating or stops gracefully:
//! `nodes.rs`); nothing is released on open. LISTEN/NOTIFY only hints other nodes'
//! workers that work is due. Migrations are embedded and take PostgreSQL's migration
//! lock, so nodes may start together.

mod batch;
mod complete;
mod nodes;
mod operating;
mod poll;
mod queue;
mod reads;
mod rejected;
mod writer;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_util::sync::CancellationToken;

use super::{Store, StoreError, WriteStats};
use crate::domain::PageStart;
use crate::domain::{
    Claim, Completion, DeliveryKey, DestinationStats, EventFilter, EventPage, Ingested, NewEvent, PollState, PollWrite,
    PollWritten, RejectedKeep, RejectedPage, RejectedRequest, ReplaySelection, StoredEvent,
};

/// Makes the rest of the transaction plan each statement for its own arguments. Statements
/// that join a table with a batch's `UNNEST` arrays need it: a generic plan cached while the
/// table was small (a hash join over a scan of the whole table) would stay as it grows.
pub(crate) async fn custom_plans(tx: &mut sqlx::PgConnection) -> sqlx::Result<()> {
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A transaction whose statements are all planned for their own arguments, as
/// [`custom_plans`] makes them, begun in the same round trip as `BEGIN`.
pub(crate) async fn begin_planned(pool: &PgPool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    pool.begin_with("BEGIN; SET LOCAL plan_cache_mode = force_custom_plan")
        .await
}

/// `storage.node_timeout`'s default.
pub const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(10);

/// The LISTEN/NOTIFY channel that tells other nodes new work is due.
const CHANNEL: &str = "inlet_work";

pub struct PgStore {
    pool: PgPool,
    /// Connections for leases and heartbeats: their commits do not wait for the disk
    /// (a lease lost in a database crash only lets a delivery or a poll source be taken
    /// again, as an expired lease would), and each statement is planned for its own
    /// arguments ([`custom_plans`]).
    leases: PgPool,
    /// This node's name, written into the leases it takes.
    node: String,
    /// The group-commit writer's queue (`writer.rs`) and what it has committed.
    ingests: tokio::sync::mpsc::Sender<(NewEvent, writer::Reply)>,
    committed: Arc<writer::Counts>,
    /// Cancelled when the store closes: stops the heartbeat (`nodes.rs`).
    beating: CancellationToken,
    /// The bounded queue of the rejected-request writer (`rejected.rs`).
    rejected: tokio::sync::mpsc::Sender<RejectedRequest>,
    /// This node's last ingest failed to commit: `/readyz` probes with a write.
    failing: std::sync::atomic::AtomicBool,
}

pub(crate) fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl PgStore {
    /// Connects to `url` (any libpq-style URL) and migrates; rejected-request records are
    /// kept under `keep`; a node silent for `node_timeout` is dead and its leases freed.
    pub async fn open(url: &str, keep: RejectedKeep, node_timeout: Duration) -> Result<PgStore, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::Open(format!("storage.url: {e}")))?;
        PgStore::connect(options, keep, node_timeout).await
    }

    /// As [`PgStore::open`], inside `schema` (created if missing): tests isolate themselves so.
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<PgStore, StoreError> {
        PgStore::open_in_schema_with(url, schema, RejectedKeep::DEFAULT, DEFAULT_NODE_TIMEOUT).await
    }

    /// As [`PgStore::open_in_schema`], with rejected-request records kept under `keep` and
    /// nodes dead after `node_timeout`.
    pub async fn open_in_schema_with(
        url: &str,
        schema: &str,
        keep: RejectedKeep,
        node_timeout: Duration,
    ) -> Result<PgStore, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::Open(format!("storage.url: {e}")))?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Open(e.to_string()))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")))
            .execute(&admin)
            .await
            .map_err(|e| StoreError::Open(e.to_string()))?;
        admin.close().await;
        PgStore::connect(options.options([("search_path", schema)]), keep, node_timeout).await
    }

    async fn connect(
        options: PgConnectOptions,
        keep: RejectedKeep,
        node_timeout: Duration,
    ) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Open(format!("cannot connect to PostgreSQL: {e}")))?;
        let leases = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_lazy_with(
                options.options([("synchronous_commit", "off"), ("plan_cache_mode", "force_custom_plan")]),
            );
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Open(format!("migrations: {e}")))?;
        let node = format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into()),
            uuid::Uuid::now_v7().simple()
        );
        let committed = Arc::new(writer::Counts::default());
        let beating = CancellationToken::new();
        tokio::spawn(nodes::run(leases.clone(), node.clone(), node_timeout, beating.clone()));
        Ok(PgStore {
            ingests: writer::start(pool.clone(), committed.clone()),
            committed,
            beating,
            rejected: rejected::start(pool.clone(), keep),
            pool,
            leases,
            node,
            failing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Runs `sql` over `keys` as `UNNEST` arrays ($1 event_seq, $2 destination; $3 this
    /// node, $4 `lease_until` when given), on the lease pool.
    async fn update_leases(
        &self,
        sql: &'static str,
        keys: Vec<DeliveryKey>,
        lease_until: Option<i64>,
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let (seqs, destinations): (Vec<i64>, Vec<String>) =
            keys.into_iter().map(|k| (k.event_seq, k.destination)).unzip();
        let mut query = sqlx::query(sql).bind(seqs).bind(destinations);
        if let Some(until) = lease_until {
            query = query.bind(&self.node).bind(until);
        }
        query.execute(&self.leases).await.map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ingest(&self, event: NewEvent) -> Result<Ingested, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let result = match self.ingests.try_send((event, reply)) {
            Ok(()) => answer
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("the writer stopped".into()))),
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => return Err(StoreError::Busy),
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                Err(StoreError::Unavailable("the store is closed".into()))
            }
        };
        self.failing.store(result.is_err(), Ordering::Relaxed);
        result
    }

    fn record_rejected(&self, rejected: RejectedRequest) {
        if self.rejected.try_send(rejected).is_err() {
            tracing::debug!("rejected-request record dropped: the queue is full");
        }
    }

    async fn claim(
        &self,
        destination: &str,
        now: i64,
        limit: usize,
        lease_until: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        queue::claim(&self.leases, &self.node, destination, now, limit, lease_until)
            .await
            .map_err(unavailable)
    }

    async fn complete(&self, completions: Vec<Completion>) -> Result<u64, StoreError> {
        let mut tx = begin_planned(&self.pool).await.map_err(unavailable)?;
        let lost = complete::complete_all(&mut tx, &self.node, &completions)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(lost)
    }

    async fn next_due(&self, destination: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM deliveries WHERE destination = $1 AND state = 'pending'")
            .bind(destination)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn release(&self, keys: Vec<DeliveryKey>) -> Result<(), StoreError> {
        self.update_leases(
            "UPDATE deliveries d SET lease_until = NULL, lease_owner = NULL
               FROM UNNEST($1::bigint[], $2::text[]) AS k(event_seq, destination)
              WHERE d.event_seq = k.event_seq AND d.destination = k.destination",
            keys,
            None,
        )
        .await
    }

    async fn renew(&self, keys: Vec<DeliveryKey>, lease_until: i64) -> Result<(), StoreError> {
        self.update_leases(
            "UPDATE deliveries d SET lease_until = $4
               FROM UNNEST($1::bigint[], $2::text[]) AS k(event_seq, destination)
              WHERE d.event_seq = k.event_seq AND d.destination = k.destination
                AND d.state = 'pending' AND d.lease_owner = $3",
            keys,
            Some(lease_until),
        )
        .await
    }

    async fn prune(&self, before: i64, limit: usize) -> Result<usize, StoreError> {
        queue::prune(&self.pool, before, limit).await.map_err(unavailable)
    }

    async fn event(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        reads::event(&self.pool, id).await.map_err(unavailable)
    }

    async fn event_ids(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT id FROM events ORDER BY seq LIMIT $1")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn list_events(&self, filter: EventFilter, start: PageStart, limit: usize) -> Result<EventPage, StoreError> {
        reads::list_events(&self.pool, &filter, start, limit)
            .await
            .map_err(unavailable)
    }

    async fn replay(&self, selection: ReplaySelection, now: i64) -> Result<u64, StoreError> {
        let n = queue::replay(&self.pool, &selection, now).await.map_err(unavailable)?;
        if n > 0 {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("NOTIFY {CHANNEL}")))
                .execute(&self.pool)
                .await;
        }
        Ok(n)
    }

    async fn count_replay(
        &self,
        filter: EventFilter,
        state: String,
        destination: Option<String>,
    ) -> Result<u64, StoreError> {
        reads::count_replay(&self.pool, &filter, &state, destination.as_deref())
            .await
            .map_err(unavailable)
    }

    async fn rejected_page(&self, before: Option<i64>, limit: usize) -> Result<RejectedPage, StoreError> {
        reads::rejected_page(&self.pool, before, limit)
            .await
            .map_err(unavailable)
    }

    async fn destination_stats(&self) -> Result<Vec<DestinationStats>, StoreError> {
        reads::destination_stats(&self.pool).await.map_err(unavailable)
    }

    async fn poll_state(&self, source: &str) -> Result<PollState, StoreError> {
        poll::state(&self.pool, source).await.map_err(unavailable)
    }

    async fn poll_states(&self) -> Result<Vec<(String, PollState)>, StoreError> {
        poll::states(&self.pool).await.map_err(unavailable)
    }

    async fn poll_write(&self, write: PollWrite) -> Result<PollWritten, StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let written = poll::write(&mut tx, &write).await.map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(written)
    }

    async fn poll_lease(&self, source: &str, until: i64, now: i64) -> Result<bool, StoreError> {
        let taken: Option<String> = sqlx::query_scalar(
            "INSERT INTO poll_state (source, lease_owner, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (source) DO UPDATE SET lease_owner = $2, lease_until = $3
             WHERE poll_state.lease_owner IS NULL OR poll_state.lease_owner = $2 OR poll_state.lease_until < $4
             RETURNING source",
        )
        .bind(source)
        .bind(&self.node)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.leases)
        .await
        .map_err(unavailable)?;
        Ok(taken.is_some())
    }

    async fn poll_schedule(&self, source: &str, next_run_at: i64, failures: u32) -> Result<(), StoreError> {
        poll::schedule(&self.pool, source, next_run_at, failures)
            .await
            .map_err(unavailable)
    }

    async fn reset_cursor(&self, source: &str) -> Result<(), StoreError> {
        poll::reset_cursor(&self.pool, source).await.map_err(unavailable)
    }

    async fn listen(&self, wake: Arc<tokio::sync::Notify>, shutdown: tokio_util::sync::CancellationToken) {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&self.pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "no LISTEN connection: other nodes' events are found by polling only");
                return;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot LISTEN: other nodes' events are found by polling only");
            return;
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                got = listener.recv() => match got {
                    Ok(_) => wake.notify_waiters(),
                    // The listener reconnects by itself; wait a little before trying again.
                    Err(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
                },
            }
        }
    }

    /// Ok while the database answers and this node's last ingest committed; after a
    /// failed one, a write to `health` finds out whether commits work again.
    async fn ready(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::Relaxed) {
            sqlx::query(
                "INSERT INTO health (node, probed_at) VALUES ($1, $2)
                 ON CONFLICT (node) DO UPDATE SET probed_at = excluded.probed_at",
            )
            .bind(&self.node)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
            self.failing.store(false, Ordering::Relaxed);
            return Ok(());
        }
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    fn write_stats(&self) -> WriteStats {
        WriteStats {
            commits: self.committed.commits.load(Ordering::Relaxed),
            ops: self.committed.events.load(Ordering::Relaxed),
        }
    }

    /// Stops the heartbeat and frees this node's leases for the others, then closes.
    async fn close(&self) {
        self.beating.cancel();
        if let Err(e) = nodes::leave(&self.leases, &self.node).await {
            tracing::warn!(error = %e, "cannot free this node's leases; they expire on their own");
        }
        self.leases.close().await;
        self.pool.close().await;
    }
}
