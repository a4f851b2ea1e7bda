//! Finished attempts on PostgreSQL, a whole batch in one transaction with one statement
//! per table: the attempts through one `UNNEST` INSERT, the deliveries' new states through
//! one `UNNEST` UPDATE (lease freed), and for delivered ordered deliveries the key's last
//! version (read once for the batch; only ordered rows take a statement of their own).
//! An attempt whose lease this node no longer holds (it stalled past `node_timeout` and
//! another node took the delivery over) is recorded as an attempt but changes nothing.
//! Claiming is `queue.rs`'s.

use sqlx::{Postgres, Row, Transaction};

use crate::domain::compare::newer_version;
use crate::domain::{Completion, DeliveryState};

/// Records `completions` of `node`'s attempts; how many of them had lost their lease.
/// `tx` must plan each statement for its arguments (`begin_planned`).
pub async fn complete_all(
    tx: &mut Transaction<'_, Postgres>,
    node: &str,
    completions: &[Completion],
) -> sqlx::Result<u64> {
    if completions.is_empty() {
        return Ok(0);
    }
    let seqs: Vec<i64> = completions.iter().map(|c| c.key.event_seq).collect();
    let destinations: Vec<String> = completions.iter().map(|c| c.key.destination.clone()).collect();
    let ats: Vec<i64> = completions.iter().map(|c| c.attempt.at).collect();
    sqlx::query(
        "INSERT INTO attempts (event_seq, destination, at, status_code, latency_ms, error, response_excerpt)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::bigint[], $6::text[], $7::text[])",
    )
    .bind(&seqs)
    .bind(&destinations)
    .bind(&ats)
    .bind(
        completions
            .iter()
            .map(|c| c.attempt.status_code.map(i32::from))
            .collect::<Vec<_>>(),
    )
    .bind(completions.iter().map(|c| c.attempt.latency_ms).collect::<Vec<_>>())
    .bind(completions.iter().map(|c| c.attempt.error.clone()).collect::<Vec<_>>())
    .bind(
        completions
            .iter()
            .map(|c| c.attempt.response_excerpt.clone())
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;

    let mut states = Vec::with_capacity(completions.len());
    let mut next_ats: Vec<Option<i64>> = Vec::with_capacity(completions.len());
    let mut errors: Vec<Option<String>> = Vec::with_capacity(completions.len());
    for c in completions {
        let (state, next_at, error) = c.written();
        states.push(state.as_str().to_string());
        next_ats.push(next_at);
        errors.push(error);
    }
    let applied = sqlx::query(
        "UPDATE deliveries d SET state = c.state, attempts = c.attempts,
                next_attempt_at = COALESCE(c.next_at, d.next_attempt_at), last_error = COALESCE(c.error, d.last_error),
                lease_until = NULL, lease_owner = NULL, updated_at = c.at
           FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::bigint[])
             AS c(event_seq, destination, state, attempts, next_at, error, at)
          WHERE d.event_seq = c.event_seq AND d.destination = c.destination AND d.lease_owner = $8
          RETURNING d.destination, d.order_key, d.order_version, c.state",
    )
    .bind(&seqs)
    .bind(&destinations)
    .bind(states)
    .bind(completions.iter().map(|c| c.steps_used as i32).collect::<Vec<_>>())
    .bind(next_ats)
    .bind(errors)
    .bind(&ats)
    .bind(node)
    .fetch_all(&mut **tx)
    .await?;
    let mut versions = Vec::new();
    for row in &applied {
        let (destination, key, version, state): (String, Option<String>, Option<String>, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        if let (Some(key), Some(version), true) = (key, version, state == DeliveryState::Delivered.as_str()) {
            versions.push((destination, key, version));
        }
    }
    record_versions(tx, versions).await?;
    Ok((completions.len() - applied.len()) as u64)
}

/// For each delivered delivery that is ordered and versioned (destination, key, version):
/// its key's last delivered version becomes its own, unless that one is already newer.
async fn record_versions(
    tx: &mut Transaction<'_, Postgres>,
    delivered: Vec<(String, String, String)>,
) -> sqlx::Result<()> {
    for (destination, order_key, version) in delivered {
        let last: Option<String> = sqlx::query_scalar(
            "SELECT version FROM order_versions WHERE destination = $1 AND order_key = $2 FOR UPDATE",
        )
        .bind(&destination)
        .bind(&order_key)
        .fetch_optional(&mut **tx)
        .await?;
        if last.is_some_and(|last| !newer_version(&version, &last)) {
            continue;
        }
        sqlx::query(
            "INSERT INTO order_versions (destination, order_key, version) VALUES ($1, $2, $3)
             ON CONFLICT (destination, order_key) DO UPDATE SET version = excluded.version",
        )
        .bind(&destination)
        .bind(order_key)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
