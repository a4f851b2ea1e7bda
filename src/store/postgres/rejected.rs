//! Rejected-request records on PostgreSQL: a bounded queue and one task that writes them
//! in batches, so a flood of forged requests costs one channel slot each (dropped when
//! the queue is full), never a task or a connection each. All records together are kept
//! under `server.rejected_keep`: every 10 % of it written by this node, the oldest
//! records beyond the target are deleted (each node prunes the shared table the same way).
//! Reading them back is `reads.rs`'s.

use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::domain::{RejectedKeep, RejectedRequest};

/// Records waiting to be written; past it new ones are dropped (the table is bounded
/// anyway, and a flood is visible in the `rejected` metric).
const QUEUE: usize = 1024;
/// Records written in one statement at most.
const BATCH: usize = 256;

/// Starts the writer task; its sender is what `record_rejected` uses.
pub fn start(pool: PgPool, keep: RejectedKeep) -> mpsc::Sender<RejectedRequest> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(pool, keep, rx));
    tx
}

async fn run(pool: PgPool, keep: RejectedKeep, mut rx: mpsc::Receiver<RejectedRequest>) {
    if let Err(e) = prune(&pool, keep).await {
        tracing::warn!(error = %e, "cannot prune the rejected-request records");
    }
    let mut written_since_prune = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        match insert(&pool, &batch).await {
            Ok(bytes) => written_since_prune += bytes,
            Err(e) => tracing::warn!(error = %e, records = batch.len(), "rejected-request records dropped"),
        }
        batch.clear();
        if written_since_prune >= keep.keep - keep.target() {
            written_since_prune = 0;
            if let Err(e) = prune(&pool, keep).await {
                tracing::warn!(error = %e, "cannot prune the rejected-request records");
            }
        }
    }
}

/// One multi-row INSERT; the bytes it counts.
async fn insert(pool: &PgPool, batch: &[RejectedRequest]) -> sqlx::Result<u64> {
    let mut sources = Vec::with_capacity(batch.len());
    let mut errors = Vec::with_capacity(batch.len());
    let mut ats = Vec::with_capacity(batch.len());
    let mut headers = Vec::with_capacity(batch.len());
    let mut body_sizes = Vec::with_capacity(batch.len());
    let mut sizes = Vec::with_capacity(batch.len());
    for r in batch {
        let h = crate::domain::headers_json(&r.headers);
        sizes.push(r.stored_size(&h) as i64);
        sources.push(r.source.clone());
        errors.push(r.error.clone());
        ats.push(r.at);
        headers.push(h);
        body_sizes.push(r.body_size as i64);
    }
    sqlx::query(
        "INSERT INTO rejected (source, error, at, headers, body_size, size)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[])",
    )
    .bind(&sources)
    .bind(&errors)
    .bind(&ats)
    .bind(&headers)
    .bind(&body_sizes)
    .bind(&sizes)
    .execute(pool)
    .await?;
    Ok(sizes.iter().sum::<i64>().max(0) as u64)
}

/// Deletes the oldest records beyond those whose sizes add up to the target.
async fn prune(pool: &PgPool, keep: RejectedKeep) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM rejected WHERE id <= (SELECT id FROM (SELECT id, SUM(size) OVER (ORDER BY id DESC) AS newer
           FROM rejected) t WHERE newer > $1 ORDER BY id DESC LIMIT 1)",
    )
    .bind(keep.target() as i64)
    .execute(pool)
    .await?;
    Ok(())
}
