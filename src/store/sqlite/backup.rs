//! `inlet backup`: a consistent copy of a SQLite store while the gateway runs. The copy is
//! SQLite's `VACUUM INTO` on a read-only connection of its own: one read transaction, so
//! the copy holds exactly the events committed when it began, and in WAL mode it never
//! blocks the gateway's writer (which goes on committing meanwhile). The file is written
//! beside the target, synced, then renamed into place: a crash leaves no half backup under
//! the target's name, and an existing file is never overwritten.
//!
//! Not here: PostgreSQL, whose own tools (`pg_dump`, base backups) do this.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("no database at {0}")]
    Missing(PathBuf),
    #[error("{path}: {error}")]
    Failed { path: PathBuf, error: String },
}

fn failed(path: &Path, error: &dyn std::fmt::Display) -> BackupError {
    BackupError::Failed {
        path: path.to_path_buf(),
        error: error.to_string(),
    }
}

/// Copies the store at `db` to `dest`; the copy's size in bytes.
pub fn copy(db: &Path, dest: &Path) -> Result<u64, BackupError> {
    if dest.exists() {
        return Err(BackupError::Exists(dest.to_path_buf()));
    }
    if !db.exists() {
        return Err(BackupError::Missing(db.to_path_buf()));
    }
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| failed(db, &e))?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(|e| failed(db, &e))?;
    let target = partial.to_str().ok_or_else(|| BackupError::Failed {
        path: dest.to_path_buf(),
        error: "the path is not UTF-8".into(),
    })?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(|e| failed(db, &e))?;
    drop(conn);
    let sync = |path: &Path| std::fs::File::open(path).and_then(|f| f.sync_all());
    sync(&partial).map_err(|e| failed(&partial, &e))?;
    std::fs::rename(&partial, dest).map_err(|e| failed(dest, &e))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync(dir).map_err(|e| failed(dir, &e))?;
    }
    std::fs::metadata(dest).map(|m| m.len()).map_err(|e| failed(dest, &e))
}
