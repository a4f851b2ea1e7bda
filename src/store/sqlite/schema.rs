//! Connection settings and embedded migrations, applied by `PRAGMA user_version`.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/0001_init.sql"),
    include_str!("../../../migrations/sqlite/0002_poll.sql"),
    include_str!("../../../migrations/sqlite/0003_ordering.sql"),
    include_str!("../../../migrations/sqlite/0004_hardening.sql"),
    include_str!("../../../migrations/sqlite/0005_poll_schedule.sql"),
    include_str!("../../../migrations/sqlite/0006_operating.sql"),
    include_str!("../../../migrations/sqlite/0007_traces.sql"),
    include_str!("../../../migrations/sqlite/0008_dedupe_keys.sql"),
];

/// Prepared statements a connection keeps.
const STATEMENTS: usize = 128;

/// Settings for the one write connection: WAL, `synchronous=NORMAL` plus the flush thread's
/// `fdatasync` of the WAL before every answer (an acked event survives power loss as far as
/// the disk honours flushes).
pub fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    // Every statement the writer runs stays prepared (the default keeps 16, fewer than it uses).
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Commits reach the WAL file; the flush thread (`syncer`) fdatasyncs it before any
    // caller is answered. Checkpoints still sync the database file (NORMAL does).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // No foreign-key enforcement: the writer is the only writer and creates deliveries in
    // their event's transaction; pruning deletes both itself. The check cost ~10 % of ingest.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    // Keep the hot B-tree pages (the random dedupe-key index above all) in memory instead of
    // re-reading them from the OS on every batch.
    conn.pragma_update(None, "cache_size", -32 * 1024)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Checkpoints run on their own thread (`checkpoint`); this is only the backstop.
    conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
    Ok(())
}

pub fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(())
}

/// Applies the migrations the database has not seen, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Applies the migrations the database has not seen up to number `last`.
pub fn migrate_to(conn: &mut Connection, last: usize) -> rusqlite::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(last).skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
