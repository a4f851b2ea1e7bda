//! Poll sources' SQL: a page's events with its counters, and the run's end (cursor by
//! compare-and-set on the generation, pause, last error) in one transaction; resets; reads.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::dedupe::DedupeIndex;
use super::writer::insert_event;
use crate::domain::{POLL_STATE_COLUMNS, PollCounts, PollState, PollWrite, PollWritten};

pub fn write(tx: &Transaction<'_>, dedupe: &mut DedupeIndex, w: &PollWrite) -> rusqlite::Result<PollWritten> {
    let mut ingested = Vec::with_capacity(w.events.len());
    for e in &w.events {
        ingested.push(insert_event(tx, dedupe, e)?);
    }
    let counts = w.counts_after(&ingested);
    ensure_row(tx, &w.source)?;
    tx.prepare_cached(
        "UPDATE poll_state SET runs = runs + ?2, requests = requests + ?3, empty_polls = empty_polls + ?4,
                items = items + ?5, new_events = new_events + ?6, duplicates = duplicates + ?7,
                rate_limited = rate_limited + ?8, errors = errors + ?9, rejected_items = rejected_items + ?10,
                recovered = recovered + ?11
         WHERE source = ?1",
    )?
    .execute(params![
        w.source,
        counts.runs as i64,
        counts.requests as i64,
        counts.empty_polls as i64,
        counts.items as i64,
        counts.new_events as i64,
        counts.duplicates as i64,
        counts.rate_limited as i64,
        counts.errors as i64,
        counts.rejected_items as i64,
        counts.recovered as i64,
    ])?;
    if let Some(end) = &w.end {
        tx.prepare_cached(
            "UPDATE poll_state SET last_run_at = ?2, last_error = ?3,
                    paused_until = COALESCE(?4, paused_until)
             WHERE source = ?1",
        )?
        .execute(params![w.source, end.at, end.error, end.paused_until])?;
        if let Some(c) = &end.cursor
            && let Some(value) = &c.value
        {
            // A reset while this run was in flight bumped the generation: the reset wins.
            tx.prepare_cached("UPDATE poll_state SET cursor = ?2 WHERE source = ?1 AND generation = ?3")?
                .execute(params![w.source, value, c.generation])?;
        }
    }
    Ok(PollWritten { ingested })
}

fn ensure_row(tx: &Transaction<'_>, source: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO poll_state (source) VALUES (?1) ON CONFLICT (source) DO NOTHING")?
        .execute([source])?;
    Ok(())
}

/// Stores when the source's next run is due and how many runs failed in a row.
pub fn schedule(tx: &Transaction<'_>, source: &str, next_run_at: i64, failures: u32) -> rusqlite::Result<()> {
    ensure_row(tx, source)?;
    tx.prepare_cached("UPDATE poll_state SET next_run_at = ?2, failures = ?3 WHERE source = ?1")?
        .execute(params![source, next_run_at, failures])?;
    Ok(())
}

/// Forgets the cursor and bumps the generation. A provider's pause stays: it is the
/// provider's, not the cursor's.
pub fn reset_cursor(tx: &Transaction<'_>, source: &str) -> rusqlite::Result<()> {
    ensure_row(tx, source)?;
    tx.prepare_cached("UPDATE poll_state SET cursor = NULL, generation = generation + 1 WHERE source = ?1")?
        .execute([source])?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, PollState)> {
    Ok((
        r.get(0)?,
        PollState {
            cursor: r.get(1)?,
            generation: r.get(2)?,
            paused_until: r.get(3)?,
            last_run_at: r.get(4)?,
            last_error: r.get(5)?,
            counts: PollCounts::read(|i| r.get(i))?,
            next_run_at: r.get(16)?,
            failures: r.get::<_, i64>(17)?.clamp(0, i64::from(u32::MAX)) as u32,
        },
    ))
}

pub fn state(c: &Connection, source: &str) -> rusqlite::Result<PollState> {
    Ok(c.prepare_cached(&format!(
        "SELECT {POLL_STATE_COLUMNS} FROM poll_state WHERE source = ?1"
    ))?
    .query_row([source], row)
    .optional()?
    .map(|(_, s)| s)
    .unwrap_or_default())
}

pub fn states(c: &Connection) -> rusqlite::Result<Vec<(String, PollState)>> {
    c.prepare_cached(&format!("SELECT {POLL_STATE_COLUMNS} FROM poll_state ORDER BY source"))?
        .query_map([], row)?
        .collect()
}
