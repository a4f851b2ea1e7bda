//! Rejected-request records on PostgreSQL: a bounded queue and one task that writes them
//! in batches, so a flood of forged requests costs one channel slot each (dropped when
//! the queue is full), never a task or a connection each. All records together are kept
//! under `server.rejected_keep`: whenever this node has written 10 % of it, the oldest
//! records beyond the newest 90 % are deleted (each node prunes the shared table so).
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
    // Between two prunes this node writes at most a tenth of `keep` (plus one record).
    let allowance = keep.keep - keep.target();
    let mut written_since_prune = 0u64;
    let mut received = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut received, BATCH).await > 0 {
        let mut rows: Vec<Row> = received.drain(..).map(Row::from).collect();
        while !rows.is_empty() {
            // As many rows as fit in what is left of the allowance, at least one.
            let mut take = 0;
            let mut bytes = 0;
            while take < rows.len() && (take == 0 || written_since_prune + bytes + rows[take].size <= allowance) {
                bytes += rows[take].size;
                take += 1;
            }
            let batch: Vec<Row> = rows.drain(..take).collect();
            match insert(&pool, &batch).await {
                Ok(()) => written_since_prune += bytes,
                Err(e) => tracing::warn!(error = %e, records = batch.len(), "rejected-request records dropped"),
            }
            if written_since_prune >= allowance {
                written_since_prune = 0;
                if let Err(e) = prune(&pool, keep).await {
                    tracing::warn!(error = %e, "cannot prune the rejected-request records");
                }
            }
        }
    }
}

/// A record as stored, with the bytes it counts.
struct Row {
    record: RejectedRequest,
    headers: String,
    kept_headers: Option<String>,
    size: u64,
}

impl From<RejectedRequest> for Row {
    fn from(record: RejectedRequest) -> Row {
        let headers = crate::domain::headers_json(&record.headers);
        let kept_headers = record.kept_headers_json();
        let size = record.stored_size(&headers, kept_headers.as_deref().unwrap_or(""));
        Row {
            record,
            headers,
            kept_headers,
            size,
        }
    }
}

/// One multi-row INSERT.
async fn insert(pool: &PgPool, batch: &[Row]) -> sqlx::Result<()> {
    let column = |f: fn(&Row) -> String| batch.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&Row) -> i64| batch.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO rejected (source, error, at, headers, body_size, size, body, raw_headers, url)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[],
                              $7::bytea[], $8::text[], $9::text[])",
    )
    .bind(column(|r| r.record.source.clone()))
    .bind(column(|r| r.record.error.clone()))
    .bind(number(|r| r.record.at))
    .bind(column(|r| r.headers.clone()))
    .bind(number(|r| r.record.body_size as i64))
    .bind(number(|r| r.size as i64))
    .bind(
        batch
            .iter()
            .map(|r| r.record.kept.as_ref().map(|k| k.body.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(batch.iter().map(|r| r.kept_headers.clone()).collect::<Vec<_>>())
    .bind(
        batch
            .iter()
            .map(|r| r.record.kept.as_ref().and_then(|k| k.url.clone()))
            .collect::<Vec<_>>(),
    )
    .execute(pool)
    .await?;
    Ok(())
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
