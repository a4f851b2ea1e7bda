//! The file destination: one envelope per line (JSON Lines), written and fsync'd before the
//! attempt counts as delivered; path `-` is stdout.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{AttemptResult, Delivery, Destination, envelope_bytes};
use crate::domain::Outcome;

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
                let f = std::fs::OpenOptions::new().create(true).append(true).open(p)?;
                Some(Arc::new(Mutex::new(f)))
            }
        };
        Ok(FileDestination { file })
    }
}

#[async_trait]
impl Destination for FileDestination {
    async fn deliver(&self, delivery: &Delivery<'_>, _now: i64) -> AttemptResult {
        let mut line = envelope_bytes(delivery.event, delivery.state);
        line.push(b'\n');
        let file = self.file.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            match file {
                Some(f) => {
                    let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
                    f.write_all(&line)?;
                    f.sync_data()
                }
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
