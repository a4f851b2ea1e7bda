//! The loop of one poll source: when to run. `interval` after a run that found new events,
//! `idle_interval` after one that found none, failures backing off from `interval` up to
//! `idle_interval`, each wait plus up to 10 % jitter and never less. The next run's time
//! and the failures in a row are stored, and so is a provider's `Retry-After`: whichever
//! node polls next, or this one after a restart, keeps the schedule. State changes are
//! logged once (failing, failing differently, recovered), not on every try. What a run
//! does is `sources::poll`'s.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Clock;
use super::alerts::{Signal, Signals};

/// A poll lease lasts this long unless renewed ...
const LEASE: Duration = Duration::from_secs(60);
/// ... and is renewed this often while a run goes on.
const RENEW: Duration = Duration::from_secs(20);
/// How soon a node that found another node's lease asks again: a dead node's lease is
/// freed once its heartbeat is `storage.node_timeout` old, and this node then takes over
/// within this much more.
const LOOK_AGAIN: Duration = Duration::from_secs(3);
use crate::sources::poll::Poller;
use crate::store::Store;

/// Runs `poller` until `shutdown`, after `stagger` (spreading many sources' first runs).
pub async fn run(
    poller: Arc<Poller>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    stagger: Duration,
    signals: Signals,
) {
    let name = poller.name().to_string();
    let (interval, idle) = (poller.source.interval, poller.source.idle_interval);
    if !sleep(stagger, &shutdown).await {
        return;
    }
    let mut failing: Option<String> = None;
    let mut store_failing = false;
    loop {
        let state = match store.poll_state(&name).await {
            Ok(s) => {
                store_failing = false;
                s
            }
            Err(e) => {
                if !store_failing {
                    tracing::warn!(source = %name, error = %e, "cannot read the poll state; retrying");
                    store_failing = true;
                }
                if !sleep(Duration::from_secs(1), &shutdown).await {
                    return;
                }
                continue;
            }
        };
        if let Some(until) = state.paused_until {
            let wait = until - clock.now_ms();
            if wait > 0 {
                tracing::debug!(source = %name, ms = wait, "paused by the provider's Retry-After");
                if !sleep(Duration::from_millis(wait as u64), &shutdown).await {
                    return;
                }
                continue;
            }
        }
        // As the last run (of any node) scheduled it; never later than the longest wait
        // the settings give now, in case they changed since. A forced run (a `silent`
        // alert's reconciliation) does not wait for the schedule.
        let forced = poller.is_forced();
        if let Some(next) = state.next_run_at.filter(|_| !forced) {
            let wait = (next - clock.now_ms()).min(interval.max(idle).as_millis() as i64);
            if wait > 0 {
                if !wait_or_nudge(Duration::from_millis(wait as u64), &shutdown, &poller).await {
                    return;
                }
                continue;
            }
        }
        // Whichever node polls, not sooner than `interval` after the last run of any node.
        if let Some(last) = state.last_run_at.filter(|_| !forced) {
            let wait = last + interval.as_millis() as i64 - clock.now_ms();
            if wait > 0 {
                if !wait_or_nudge(Duration::from_millis(wait as u64), &shutdown, &poller).await {
                    return;
                }
                continue;
            }
        }
        // One node polls a source at a time: take the lease, renew it while the run goes on.
        let lease = |now: i64| store.poll_lease(&name, now + LEASE.as_millis() as i64, now);
        match lease(clock.now_ms()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(source = %name, "another node polls this source");
                if !sleep(LOOK_AGAIN, &shutdown).await {
                    return;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(source = %name, error = %e, "cannot take the poll lease; retrying");
                if !sleep(RENEW, &shutdown).await {
                    return;
                }
                continue;
            }
        }
        if poller.take_forced() {
            tracing::info!(source = %name, "poll run asked for now (reconciliation)");
        }
        let run = poller.run_once(&state);
        tokio::pin!(run);
        let outcome = loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                outcome = &mut run => break Some(outcome),
                () = tokio::time::sleep(RENEW) => {
                    if !matches!(lease(clock.now_ms()).await, Ok(true)) {
                        tracing::warn!(source = %name, "lost the poll lease mid-run; another node takes over");
                        break None;
                    }
                }
            }
        };
        let Some(outcome) = outcome else { continue };
        let mut failures = state.failures;
        let wait = match outcome {
            Ok(summary) => {
                if failing.take().is_some() {
                    tracing::info!(source = %name, "poll source recovered");
                }
                failures = 0;
                signals.send(Signal::PollSucceeded { source: name.clone() });
                tracing::debug!(source = %name, pages = summary.pages, items = summary.items, new = summary.new_events, "poll run done");
                if summary.new_events > 0 { interval } else { idle }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let kind = e.kind();
                if failing.as_deref() != Some(kind.as_str()) {
                    if e.needs_attention() {
                        tracing::error!(source = %name, error = %e, "poll refused: the source's credentials need attention");
                    } else {
                        tracing::warn!(source = %name, error = %e, "poll failing; backing off");
                    }
                    failing = Some(kind);
                }
                signals.send(Signal::PollFailed {
                    source: name.clone(),
                    failures,
                    attention: e.needs_attention(),
                    detail: e.to_string(),
                });
                e.retry_after().unwrap_or_else(|| backoff(interval, idle, failures))
            }
        };
        let wait = jittered(wait);
        let next = clock.now_ms() + wait.as_millis() as i64;
        if let Err(e) = store.poll_schedule(&name, next, failures).await {
            // Kept here only: another node, or a restart, may poll sooner.
            tracing::warn!(source = %name, error = %e, "cannot store the next poll time");
            if !sleep(wait, &shutdown).await {
                return;
            }
        }
    }
}

/// `interval` doubled per consecutive failure after the first, up to `idle`.
pub fn backoff(interval: Duration, idle: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    interval.saturating_mul(factor).min(idle)
}

/// `wait` plus up to 10 %, never less.
fn jittered(wait: Duration) -> Duration {
    wait.mul_f64(1.0 + rand::random::<f64>() * 0.1)
}

/// Sleeps `d`, or less when a run is asked for; false if `shutdown` came first.
async fn wait_or_nudge(d: Duration, shutdown: &CancellationToken, poller: &Poller) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(d) => true,
        () = poller.nudge.notified() => true,
    }
}

/// Sleeps `d`; false if `shutdown` came first.
async fn sleep(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_from_the_interval_up_to_the_idle_interval() {
        let (i, idle) = (Duration::from_secs(30), Duration::from_secs(300));
        let waits: Vec<u64> = (1..=6).map(|n| backoff(i, idle, n).as_secs()).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 300, 300]);
        assert_eq!(backoff(i, idle, u32::MAX), idle);
    }

    #[test]
    fn jitter_adds_at_most_a_tenth_and_never_subtracts() {
        for _ in 0..1000 {
            let j = jittered(Duration::from_secs(10));
            assert!(j >= Duration::from_secs(10) && j <= Duration::from_secs(11), "{j:?}");
        }
    }
}
