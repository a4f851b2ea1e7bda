//! The checkpointer: copies committed WAL pages into the database file from its own
//! connection and thread, so the writer's commits never wait for a checkpoint's writes and
//! fsyncs. A PASSIVE checkpoint never blocks the writer or readers.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

const EVERY: Duration = Duration::from_millis(250);

/// Checkpoints every [`EVERY`] until `stop` fires or its sender is dropped; then a last
/// TRUNCATE checkpoint leaves a small WAL behind.
pub fn run(conn: Connection, stop: Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}
