//! The file destination: one envelope per line (JSON Lines), written and fsync'd before the
//! attempt counts as delivered; path `-` is stdout. Before each write the file is cut back
//! to the end of its last complete line, so the fragment a failed write (ENOSPC, a crash)
//! left behind never stays glued to the next envelope.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use serde::Deserialize;

use super::{AttemptResult, Delivery, Destination, envelope_bytes};
use crate::domain::Outcome;
use crate::domain::settings::{ConfigError, typed};

/// How far back a read for the last newline goes at a time.
const CHUNK: u64 = 8 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    path: String,
}

/// A `file` destination's path: `None` is stdout (`path = "-"`); a relative path is under
/// the config file's folder.
pub fn parse(table: toml::Value, prefix: &str, base_dir: &Path) -> Result<Option<std::path::PathBuf>, ConfigError> {
    let raw: Raw = typed(table, prefix)?;
    Ok(if raw.path == "-" {
        None
    } else if Path::new(&raw.path).is_absolute() {
        Some(raw.path.into())
    } else {
        Some(base_dir.join(raw.path))
    })
}

pub struct FileDestination {
    /// `None` is stdout.
    file: Option<Arc<Mutex<File>>>,
}

impl FileDestination {
    pub fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        let file = match path {
            None => None,
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(p)?;
                Some(Arc::new(Mutex::new(f)))
            }
        };
        Ok(FileDestination { file })
    }
}

/// The length of `file` up to and including its last `\n` (0 when it has none).
fn complete_length(file: &File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Cuts a torn last line off `file`; a file that ends with `\n` (or is empty) is untouched.
fn repair(file: &File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let keep = complete_length(file)?;
    tracing::warn!(
        cut = len - keep,
        "file destination: a torn last line was cut off before the write"
    );
    file.set_len(keep)
}

fn append(file: &Mutex<File>, line: &[u8]) -> std::io::Result<()> {
    let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
    repair(&f)?;
    f.write_all(line)?;
    f.sync_data()
}

#[async_trait]
impl Destination for FileDestination {
    async fn deliver(&self, delivery: &Delivery<'_>, _now: i64) -> AttemptResult {
        let mut line = envelope_bytes(delivery.event, delivery.state);
        line.push(b'\n');
        let file = self.file.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            match file {
                Some(f) => append(&f, &line),
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&line)?;
                    out.flush()
                }
            }
        })
        .await;
        let outcome = match written {
            Ok(Ok(())) => Outcome::Delivered { status: None },
            Ok(Err(e)) => Outcome::Failed {
                status: None,
                error: format!("write failed: {e}"),
                retry_after: None,
            },
            Err(e) => Outcome::Failed {
                status: None,
                error: format!("write task failed: {e}"),
                retry_after: None,
            },
        };
        AttemptResult {
            outcome,
            response_excerpt: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(text: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, text).expect("written");
        let f = std::fs::OpenOptions::new()
            .append(true)
            .read(true)
            .open(&path)
            .expect("opens");
        (dir, f)
    }

    fn repaired(text: &[u8]) -> Vec<u8> {
        let (dir, f) = file_with(text);
        repair(&f).expect("repairs");
        std::fs::read(dir.path().join("out.jsonl")).expect("reads")
    }

    #[test]
    fn a_torn_last_line_is_cut_back_to_the_last_newline() {
        assert_eq!(repaired(b"{\"a\":1}\n{\"b\":"), b"{\"a\":1}\n");
    }

    #[test]
    fn a_file_of_only_a_fragment_is_emptied() {
        assert_eq!(repaired(b"{\"b\":"), b"");
    }

    #[test]
    fn complete_lines_are_left_alone() {
        assert_eq!(repaired(b"{\"a\":1}\n{\"b\":2}\n"), b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(repaired(b""), b"");
    }

    #[test]
    fn a_fragment_longer_than_one_read_is_cut_whole() {
        let mut text = b"{\"a\":1}\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 3 * CHUNK as usize + 17));
        assert_eq!(repaired(&text), b"{\"a\":1}\n");
    }
}
