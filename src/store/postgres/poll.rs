//! Poll sources' state on PostgreSQL: a page's events and counters, and the run's end
//! (cursor by compare-and-set on the generation), in one transaction; resets; reads.

use sqlx::{PgPool, Postgres, Row, Transaction};

use super::batch::insert_events;
use crate::domain::{POLL_STATE_COLUMNS, PollCounts, PollState, PollWrite, PollWritten};

pub async fn write(tx: &mut Transaction<'_, Postgres>, w: &PollWrite) -> sqlx::Result<PollWritten> {
    let events: Vec<&crate::domain::NewEvent> = w.events.iter().collect();
    let ingested = insert_events(tx, &events).await?;
    let counts = w.counts_after(&ingested);
    sqlx::query(
        "INSERT INTO poll_state (source, runs, requests, empty_polls, items, new_events, duplicates, rate_limited, errors, rejected_items, recovered)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (source) DO UPDATE SET runs = poll_state.runs + $2, requests = poll_state.requests + $3,
            empty_polls = poll_state.empty_polls + $4, items = poll_state.items + $5,
            new_events = poll_state.new_events + $6, duplicates = poll_state.duplicates + $7,
            rate_limited = poll_state.rate_limited + $8, errors = poll_state.errors + $9,
            rejected_items = poll_state.rejected_items + $10, recovered = poll_state.recovered + $11",
    )
    .bind(&w.source)
    .bind(counts.runs as i64)
    .bind(counts.requests as i64)
    .bind(counts.empty_polls as i64)
    .bind(counts.items as i64)
    .bind(counts.new_events as i64)
    .bind(counts.duplicates as i64)
    .bind(counts.rate_limited as i64)
    .bind(counts.errors as i64)
    .bind(counts.rejected_items as i64)
    .bind(counts.recovered as i64)
    .execute(&mut **tx)
    .await?;
    if let Some(end) = &w.end {
        sqlx::query(
            "UPDATE poll_state SET last_run_at = $2, last_error = $3, paused_until = COALESCE($4, paused_until) WHERE source = $1",
        )
        .bind(&w.source)
        .bind(end.at)
        .bind(&end.error)
        .bind(end.paused_until)
        .execute(&mut **tx)
        .await?;
        if let Some(c) = &end.cursor
            && let Some(value) = &c.value
        {
            sqlx::query("UPDATE poll_state SET cursor = $2 WHERE source = $1 AND generation = $3")
                .bind(&w.source)
                .bind(value)
                .bind(c.generation)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(PollWritten { ingested })
}

/// Stores when the source's next run is due and how many runs failed in a row.
pub async fn schedule(pool: &PgPool, source: &str, next_run_at: i64, failures: u32) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO poll_state (source, next_run_at, failures) VALUES ($1, $2, $3)
         ON CONFLICT (source) DO UPDATE SET next_run_at = excluded.next_run_at, failures = excluded.failures",
    )
    .bind(source)
    .bind(next_run_at)
    .bind(i32::try_from(failures).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn reset_cursor(pool: &PgPool, source: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO poll_state (source, generation) VALUES ($1, 1)
         ON CONFLICT (source) DO UPDATE SET cursor = NULL, generation = poll_state.generation + 1",
    )
    .bind(source)
    .execute(pool)
    .await?;
    Ok(())
}

fn row(r: &sqlx::postgres::PgRow) -> sqlx::Result<(String, PollState)> {
    Ok((
        r.try_get(0)?,
        PollState {
            cursor: r.try_get(1)?,
            generation: r.try_get(2)?,
            paused_until: r.try_get(3)?,
            last_run_at: r.try_get(4)?,
            last_error: r.try_get(5)?,
            counts: PollCounts::read(|i| r.try_get(i))?,
            next_run_at: r.try_get(16)?,
            failures: r.try_get::<i32, _>(17)?.max(0) as u32,
        },
    ))
}

pub async fn state(pool: &PgPool, source: &str) -> sqlx::Result<PollState> {
    let found = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {POLL_STATE_COLUMNS} FROM poll_state WHERE source = $1"
    )))
    .bind(source)
    .fetch_optional(pool)
    .await?;
    Ok(match found {
        Some(r) => row(&r)?.1,
        None => PollState::default(),
    })
}

pub async fn states(pool: &PgPool) -> sqlx::Result<Vec<(String, PollState)>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {POLL_STATE_COLUMNS} FROM poll_state ORDER BY source"
    )))
    .fetch_all(pool)
    .await?
    .iter()
    .map(row)
    .collect()
}
