//! Liveness of the nodes sharing one database: each node writes its heartbeat into `nodes`
//! every [`BEAT`]; a node not heard from for `storage.node_timeout` is dead, and whichever
//! node notices first deletes its row and frees its delivery and poll leases at once, so
//! the others take its work over within about the timeout instead of waiting for each
//! lease to run out. A node that stops gracefully frees its own leases ([`leave`]). Who
//! claims the freed work is `queue.rs`'s and the workers' business.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// How often a node beats.
pub const BEAT: Duration = Duration::from_secs(2);

/// Beats until `stop`, and frees the leases of nodes found dead.
pub async fn run(pool: PgPool, node: String, timeout: Duration, stop: CancellationToken) {
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(e) = beat(&pool, &node, now).await {
            tracing::warn!(error = %e, "cannot write this node's heartbeat");
        }
        match free_dead(&pool, now - timeout.as_millis() as i64).await {
            Ok(dead) => {
                for (name, deliveries, sources) in dead {
                    tracing::warn!(
                        node = %name,
                        deliveries,
                        poll_sources = sources,
                        "a node stopped beating: its leases are free"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot look for dead nodes"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(BEAT) => {}
        }
    }
}

async fn beat(pool: &PgPool, node: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO nodes (name, heartbeat_at) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    )
    .bind(node)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the nodes last heard from before `before` and frees their leases: per dead
/// node, how many deliveries and poll sources it held.
async fn free_dead(pool: &PgPool, before: i64) -> sqlx::Result<Vec<(String, u64, u64)>> {
    let mut tx = pool.begin().await?;
    let dead: Vec<String> = sqlx::query_scalar("DELETE FROM nodes WHERE heartbeat_at < $1 RETURNING name")
        .bind(before)
        .fetch_all(&mut *tx)
        .await?;
    let mut freed = Vec::with_capacity(dead.len());
    for name in dead {
        let (deliveries, sources) = free(&mut tx, &name).await?;
        freed.push((name, deliveries, sources));
    }
    tx.commit().await?;
    Ok(freed)
}

async fn free(tx: &mut sqlx::PgConnection, node: &str) -> sqlx::Result<(u64, u64)> {
    let deliveries = sqlx::query(
        "UPDATE deliveries SET lease_until = NULL, lease_owner = NULL WHERE state = 'pending' AND lease_owner = $1",
    )
    .bind(node)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let sources = sqlx::query("UPDATE poll_state SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1")
        .bind(node)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    Ok((deliveries, sources))
}

/// A graceful stop: this node's leases are free and its row gone, for the others at once.
pub async fn leave(pool: &PgPool, node: &str) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    free(&mut tx, node).await?;
    sqlx::query("DELETE FROM nodes WHERE name = $1")
        .bind(node)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
