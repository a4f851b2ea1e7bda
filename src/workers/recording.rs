//! Finished attempts on their way to the store, for one delivery worker: those waiting,
//! and the one transaction recording others in the background, so the worker claims and
//! attempts on while it commits. What a completion records is the store's business; when
//! to claim is the worker's (`delivery.rs`).

use std::sync::Arc;

use super::delivery::DeliveryWorker;
use crate::domain::Completion;

/// Finished attempts on their way to the store: those waiting, and the one transaction
/// recording others in the background.
#[derive(Default)]
pub(super) struct Recording {
    pub(super) waiting: Vec<Completion>,
    running: Option<(tokio::task::JoinHandle<()>, usize)>,
}

impl Recording {
    /// Finished attempts not yet recorded.
    pub(super) fn unrecorded(&self) -> usize {
        self.waiting.len() + self.running.as_ref().map_or(0, |(_, n)| *n)
    }

    pub(super) fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Starts recording what waits, unless a transaction is already running.
    pub(super) fn start(&mut self, worker: &Arc<DeliveryWorker>) {
        if self.running.is_some() || self.waiting.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.waiting);
        let n = batch.len();
        self.running = Some((tokio::spawn(worker.clone().record(batch)), n));
    }

    /// Resolves when the running transaction has finished (at once if none runs).
    pub(super) async fn finished(&mut self) {
        if let Some((handle, _)) = &mut self.running {
            let _ = handle.await;
        }
        self.running = None;
    }
}
