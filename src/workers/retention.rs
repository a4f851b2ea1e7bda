//! Retention: finished events (and their deliveries, attempts and dedupe keys) older than
//! `storage.retention` are deleted in small batches, with a pause between batches so that
//! pruning never holds the writer for long.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::pace::clock::Clock;
use crate::store::Store;

const BATCH: usize = 500;
const EVERY: Duration = Duration::from_secs(60);

/// Prunes until nothing is left to prune; returns how many events went.
pub async fn prune_once(store: &dyn Store, clock: &dyn Clock, retention: Duration) -> usize {
    let before = clock.now_ms() - retention.as_millis() as i64;
    let mut total = 0;
    loop {
        match store.prune(before, BATCH).await {
            Ok(n) => {
                total += n;
                if n < BATCH {
                    return total;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning failed; will try again");
                return total;
            }
        }
    }
}

pub async fn run(store: Arc<dyn Store>, clock: Arc<dyn Clock>, retention: Duration, shutdown: CancellationToken) {
    loop {
        let pruned = prune_once(store.as_ref(), clock.as_ref(), retention).await;
        if pruned > 0 {
            tracing::info!(pruned, "retention: old events deleted");
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
