//! Keeps every delivery worker's pause as the store has it: read once at start-up (a pause
//! survives a restart) and then every second, so a pause or resume made on another node
//! reaches this one within a second. The store's claim refuses a paused destination on
//! every node anyway; the worker's flag only keeps it from looking.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::DeliveryWorker;
use crate::store::{Store, StoreError};

const EVERY: Duration = Duration::from_secs(1);

/// Sets each worker's pause from the store; wakes the workers when one was resumed.
pub async fn apply(store: &dyn Store, workers: &[Arc<DeliveryWorker>], wakeup: &Notify) -> Result<(), StoreError> {
    let paused = store.paused().await?;
    let mut resumed = false;
    for w in workers {
        let now = paused.iter().any(|p| p == w.name());
        resumed |= w.is_paused() && !now;
        w.set_paused(now);
    }
    if resumed {
        wakeup.notify_waiters();
    }
    Ok(())
}

pub async fn run(
    store: Arc<dyn Store>,
    workers: Arc<Vec<Arc<DeliveryWorker>>>,
    wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = apply(store.as_ref(), &workers, &wakeup).await {
            tracing::debug!(error = %e, "cannot read the paused destinations");
        }
    }
}
