//! The delivery queue on PostgreSQL: claim in one statement (a `MATERIALIZED` CTE with
//! `FOR UPDATE SKIP LOCKED`, so nodes never take the same delivery and an ordered key only
//! at its head, the lease update, and the claimed events' fields), on the lease pool;
//! replay and prune. Events go in through `batch.rs`; finished attempts through
//! `complete.rs`.

use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::reads::{RECORD_COLUMNS, conditions, record};
use crate::domain::compare::newer_version;
use crate::domain::{Claim, DeliveryKey, ReplaySelection, stale_reason};

/// Leases due deliveries for `node`: free or expired leases, ordered keys at their head;
/// stale heads end as `skipped_stale` instead. `leases` is the pool whose commits do not
/// wait for the disk: a lease lost in a database crash only lets a delivery be claimed
/// again, as an expired one would be.
pub async fn claim(
    leases: &PgPool,
    node: &str,
    destination: &str,
    now: i64,
    limit: usize,
    lease_until: i64,
) -> sqlx::Result<Vec<Claim>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH due AS MATERIALIZED (
            SELECT d.event_seq, d.destination FROM deliveries d
            WHERE d.destination = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2
              AND (d.lease_until IS NULL OR d.lease_until < $2)
              AND NOT EXISTS (SELECT 1 FROM paused_destinations p WHERE p.destination = $1)
              AND (d.order_key IS NULL OR NOT EXISTS (
                   SELECT 1 FROM deliveries o
                   WHERE o.destination = d.destination AND o.order_key = d.order_key AND o.state = 'pending'
                     AND (o.order_at, o.event_seq) < (d.order_at, d.event_seq)))
            ORDER BY d.next_attempt_at LIMIT $3
            FOR UPDATE SKIP LOCKED),
         claimed AS (
            UPDATE deliveries d SET lease_until = $4, lease_owner = $5
            FROM due WHERE d.event_seq = due.event_seq AND d.destination = due.destination
            RETURNING d.event_seq, d.attempts, d.order_key, d.order_version)
         SELECT c.attempts, c.order_key, c.order_version, {RECORD_COLUMNS}
           FROM claimed c JOIN events e ON e.seq = c.event_seq"
    )))
    .bind(destination)
    .bind(now)
    .bind(limit as i64)
    .bind(lease_until)
    .bind(node)
    .fetch_all(leases)
    .await?;
    let mut claims = Vec::with_capacity(rows.len());
    let mut ordered = Vec::new();
    for row in &rows {
        let seq: i64 = row.try_get("seq")?;
        let steps: i32 = row.try_get("attempts")?;
        let key: Option<String> = row.try_get("order_key")?;
        let version: Option<String> = row.try_get("order_version")?;
        if let (Some(key), Some(version)) = (key, version) {
            ordered.push((seq, key, version));
        }
        claims.push(Claim {
            key: DeliveryKey {
                event_seq: seq,
                destination: destination.to_string(),
            },
            steps_used: steps.max(0) as u32,
            event: record(row)?,
        });
    }
    let stale = skip_stale(leases, node, destination, now, &ordered).await?;
    claims.retain(|c| !stale.contains(&c.key.event_seq));
    Ok(claims)
}

/// Of the claimed ordered deliveries, those whose version is not newer than their key's
/// last delivered one end as `skipped_stale`; their sequence numbers.
async fn skip_stale(
    leases: &PgPool,
    node: &str,
    destination: &str,
    now: i64,
    ordered: &[(i64, String, String)],
) -> sqlx::Result<Vec<i64>> {
    if ordered.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<&str> = ordered.iter().map(|(_, k, _)| k.as_str()).collect();
    let last: Vec<(String, String)> =
        sqlx::query_as("SELECT order_key, version FROM order_versions WHERE destination = $1 AND order_key = ANY($2)")
            .bind(destination)
            .bind(&keys)
            .fetch_all(leases)
            .await?;
    let mut stale = Vec::new();
    for (seq, key, version) in ordered {
        let Some((_, last)) = last.iter().find(|(k, _)| k == key) else {
            continue;
        };
        if newer_version(version, last) {
            continue;
        }
        sqlx::query(
            "UPDATE deliveries SET state = 'skipped_stale', last_error = $3, updated_at = $4,
                    lease_until = NULL, lease_owner = NULL
             WHERE event_seq = $1 AND destination = $2 AND lease_owner = $5",
        )
        .bind(seq)
        .bind(destination)
        .bind(stale_reason(version, last))
        .bind(now)
        .bind(node)
        .execute(leases)
        .await?;
        stale.push(*seq);
    }
    Ok(stale)
}

pub async fn replay(pool: &PgPool, selection: &ReplaySelection, now: i64) -> sqlx::Result<u64> {
    const REQUEUE: &str = "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ";
    const REST: &str = ", lease_until = NULL, lease_owner = NULL, last_error = NULL, updated_at = ";
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(REQUEUE);
    q.push_bind(now).push(REST).push_bind(now);
    match selection {
        ReplaySelection::Event { id, destination } => {
            q.push(" WHERE event_seq = (SELECT seq FROM events WHERE id = ")
                .push_bind(id.clone())
                .push(") AND state <> 'pending'");
            if let Some(d) = destination {
                q.push(" AND destination = ").push_bind(d.clone());
            }
        }
        ReplaySelection::Matching {
            filter,
            state,
            destination,
            limit,
        } => {
            q.push(
                " WHERE (event_seq, destination) IN (SELECT d.event_seq, d.destination FROM deliveries d
                   JOIN events e ON e.seq = d.event_seq WHERE d.state = ",
            )
            .push_bind(state.clone());
            if let Some(d) = destination {
                q.push(" AND d.destination = ").push_bind(d.clone());
            }
            conditions(&mut q, filter);
            if let Some(l) = limit {
                q.push(" LIMIT ").push_bind(*l as i64);
            }
            q.push(")");
        }
    }
    Ok(q.build().execute(pool).await?.rows_affected())
}

pub async fn prune(pool: &PgPool, before: i64, limit: usize) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    let seqs: Vec<i64> = sqlx::query_scalar(
        "SELECT seq FROM events e WHERE received_at < $1
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending')
         ORDER BY seq LIMIT $2",
    )
    .bind(before)
    .bind(limit as i64)
    .fetch_all(&mut *tx)
    .await?;
    for table in ["attempts", "deliveries"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE event_seq = ANY($1)"
        )))
        .bind(&seqs)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM events WHERE seq = ANY($1)")
        .bind(&seqs)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM rejected WHERE at < $1")
        .bind(before)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(seqs.len())
}
