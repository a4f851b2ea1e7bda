//! The alert loop: once a second it looks at what this node and the store know, opens the
//! alerts whose condition holds and resolves those whose condition is gone, and queues
//! their notifications (`notify.rs`). The store keeps at most one open alert per kind and
//! subject, so with several nodes each alert opens once, whichever node sees it first.
//!
//! - `destination_failing`: this node's circuit of the destination is open, or one of its
//!   deliveries went dead here in the last 5 minutes; resolved when neither holds and an
//!   attempt has succeeded since it opened (so an idle node does not resolve it).
//! - `backlog`: the destination's oldest pending delivery is older than `alerts.backlog`
//!   (the store's answer, looked at every 5 seconds).
//! - `poll_failing`: signalled by the poll loop: 3 failed runs in a row, or a 401/403.
//! - `rejected_spike`: more than `alerts.rejected` rejected requests of a webhook source in
//!   the last 5 minutes, as the store counts them.
//! - `silent`: a webhook source with `silence` brought no event for that long (since the
//!   node started, if it never did); on opening, every poll source of its dedupe group on
//!   this node runs at once.

mod notify;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::{Clock, DeliveryWorker};
use crate::config::{Settings, SourceSettings};
use crate::domain::{Alert, AlertFilter, AlertKind, AlertState, rfc3339_ms};
use crate::sources::poll::Poller;
use crate::store::Store;
use crate::telemetry::activity;

const TICK: Duration = Duration::from_secs(1);
/// The window of `rejected_spike` and of a dead delivery's `destination_failing`.
const WINDOW_MS: i64 = 5 * 60 * 1000;
/// The backlog is read from the store every this many ticks.
const BACKLOG_EVERY: u64 = 5;

/// What other loops tell the alert loop as it happens.
#[derive(Debug)]
pub enum Signal {
    /// A poll run failed; `attention`: the answer was 401/403.
    PollFailed {
        source: String,
        failures: u32,
        attention: bool,
        detail: String,
    },
    PollSucceeded {
        source: String,
    },
}

/// The sending side, cheap to clone; a full queue drops the signal (the next one comes).
#[derive(Clone, Debug)]
pub struct Signals(mpsc::Sender<Signal>);

impl Signals {
    pub fn channel() -> (Signals, mpsc::Receiver<Signal>) {
        let (tx, rx) = mpsc::channel(1024);
        (Signals(tx), rx)
    }

    pub fn send(&self, signal: Signal) {
        let _ = self.0.try_send(signal);
    }
}

pub struct AlertLoop {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub workers: Arc<Vec<Arc<DeliveryWorker>>>,
    pub pollers: Vec<Arc<Poller>>,
    pub wakeup: Arc<Notify>,
    pub clock: Arc<dyn Clock>,
    /// The open alerts as last read, by kind and subject.
    open: HashMap<(AlertKind, String), Alert>,
    started_at: i64,
    ticks: u64,
}

impl AlertLoop {
    pub fn new(
        settings: Arc<Settings>,
        store: Arc<dyn Store>,
        workers: Arc<Vec<Arc<DeliveryWorker>>>,
        pollers: Vec<Arc<Poller>>,
        wakeup: Arc<Notify>,
        clock: Arc<dyn Clock>,
    ) -> AlertLoop {
        let started_at = clock.now_ms();
        AlertLoop {
            settings,
            store,
            workers,
            pollers,
            wakeup,
            clock,
            open: HashMap::new(),
            started_at,
            ticks: 0,
        }
    }

    pub async fn run(mut self, mut signals: mpsc::Receiver<Signal>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.tick().await,
                Some(signal) = signals.recv() => self.signal(signal).await,
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// One look at every condition, then the notifications that are due.
    pub async fn tick(&mut self) {
        let now = self.clock.now_ms();
        self.ticks += 1;
        if let Err(e) = self.refresh().await {
            tracing::debug!(error = %e, "cannot read the open alerts");
            return;
        }
        let seen = activity::take();
        if !seen.is_empty()
            && let Err(e) = self.store.touch_sources(seen.clone()).await
        {
            tracing::debug!(error = %e, "cannot store the sources' last event times");
            activity::restore(seen);
        }
        self.destinations(now).await;
        if self.ticks % BACKLOG_EVERY == 1 {
            self.backlog(now).await;
        }
        self.rejected(now).await;
        self.silent(now).await;
        notify::queue(self, now).await;
    }

    async fn refresh(&mut self) -> Result<(), crate::store::StoreError> {
        let open = self
            .store
            .alerts(AlertFilter {
                state: Some(AlertState::Open),
                before: None,
                limit: 10_000,
            })
            .await?;
        self.open = open.into_iter().map(|a| ((a.kind, a.subject.clone()), a)).collect();
        Ok(())
    }

    async fn signal(&mut self, signal: Signal) {
        let now = self.clock.now_ms();
        match signal {
            Signal::PollFailed {
                source,
                failures,
                attention,
                detail,
            } => {
                if attention || failures >= 3 {
                    let why = if attention {
                        format!("the provider refused the credentials: {detail}")
                    } else {
                        format!("{failures} runs in a row failed, the last: {detail}")
                    };
                    self.open(AlertKind::PollFailing, &source, why, now).await;
                }
            }
            Signal::PollSucceeded { source } => self.resolve(AlertKind::PollFailing, &source, now).await,
        }
        notify::queue(self, now).await;
    }

    /// Opens the alert unless one of its kind and subject is open (here or on any node).
    async fn open(&mut self, kind: AlertKind, subject: &str, detail: String, now: i64) {
        if self.open.contains_key(&(kind, subject.to_string())) {
            return;
        }
        let alert = Alert::open(kind, subject, detail, now);
        match self.store.open_alert(&alert).await {
            Ok(true) => {
                tracing::warn!(kind = kind.as_str(), subject, detail = %alert.detail, "alert open");
                crate::telemetry::metrics::inc("inlet_alerts_total", &[("kind", kind.as_str())]);
                if kind == AlertKind::Silent {
                    self.reconcile(subject);
                }
                self.open.insert((kind, subject.to_string()), alert);
            }
            // Another node opened it first: it notifies.
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, kind = kind.as_str(), subject, "cannot store an alert"),
        }
    }

    async fn resolve(&mut self, kind: AlertKind, subject: &str, now: i64) {
        if self.open.remove(&(kind, subject.to_string())).is_none() {
            return;
        }
        match self.store.resolve_alert(kind, subject, now).await {
            Ok(Some(_)) => tracing::info!(kind = kind.as_str(), subject, "alert resolved"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, kind = kind.as_str(), subject, "cannot resolve an alert"),
        }
    }

    /// Runs every poll source of `source`'s dedupe group at once.
    fn reconcile(&self, source: &str) {
        let Some(SourceSettings::Webhook(w)) = self.settings.sources.get(source) else {
            return;
        };
        for p in self.pollers.iter().filter(|p| p.source.dedupe_group == w.dedupe_group) {
            tracing::info!(source, poll_source = %p.source.name, "silent: running the group's poll source now");
            p.run_now();
        }
    }

    async fn destinations(&mut self, now: i64) {
        for w in self.workers.clone().iter() {
            let h = w.health();
            let dead_recently = h.last_dead_at > 0 && now - h.last_dead_at < WINDOW_MS;
            if h.circuit_open || dead_recently {
                let detail = if h.circuit_open {
                    "its circuit is open: attempts keep failing".to_string()
                } else {
                    format!("a delivery went dead at {}", rfc3339_ms(h.last_dead_at))
                };
                self.open(AlertKind::DestinationFailing, w.name(), detail, now).await;
            } else if let Some(alert) = self.open.get(&(AlertKind::DestinationFailing, w.name().to_string()))
                && h.last_success_at > alert.opened_at
            {
                self.resolve(AlertKind::DestinationFailing, w.name(), now).await;
            }
        }
    }

    async fn backlog(&mut self, now: i64) {
        let oldest = match self.store.oldest_pending().await {
            Ok(o) => o,
            Err(e) => return tracing::debug!(error = %e, "cannot read the oldest pending deliveries"),
        };
        let limit = self.settings.alerts.backlog.as_millis() as i64;
        let settings = self.settings.clone();
        for name in settings.destinations.keys() {
            let age = oldest.iter().find(|(d, _)| d == name).map(|(_, at)| now - at);
            match age {
                Some(age) if age > limit => {
                    let detail = format!("the oldest pending delivery has waited {}s", age / 1000);
                    self.open(AlertKind::Backlog, name, detail, now).await;
                }
                _ => self.resolve(AlertKind::Backlog, name, now).await,
            }
        }
    }

    async fn rejected(&mut self, now: i64) {
        let counts = match self.store.rejected_counts(now - WINDOW_MS).await {
            Ok(c) => c,
            Err(e) => return tracing::debug!(error = %e, "cannot count the rejected requests"),
        };
        let limit = self.settings.alerts.rejected;
        let settings = self.settings.clone();
        for (name, source) in &settings.sources {
            if !matches!(source, SourceSettings::Webhook(_)) {
                continue;
            }
            let n = counts.iter().find(|(s, _)| s == name).map_or(0, |(_, n)| *n);
            if n > limit {
                let detail = format!("{n} requests rejected in the last 5 minutes (more than {limit})");
                self.open(AlertKind::RejectedSpike, name, detail, now).await;
            } else {
                self.resolve(AlertKind::RejectedSpike, name, now).await;
            }
        }
    }

    async fn silent(&mut self, now: i64) {
        let watched: Vec<(String, Duration)> = self
            .settings
            .sources
            .iter()
            .filter_map(|(name, s)| match s {
                SourceSettings::Webhook(w) => w.silence.map(|d| (name.clone(), d)),
                SourceSettings::Poll(_) => None,
            })
            .collect();
        if watched.is_empty() {
            return;
        }
        let activity = match self.store.source_activity().await {
            Ok(a) => a,
            Err(e) => return tracing::debug!(error = %e, "cannot read the sources' last event times"),
        };
        for (name, silence) in watched {
            let last = activity.iter().find(|(s, _)| *s == name).map(|(_, at)| *at);
            let since = last.unwrap_or(0).max(self.started_at);
            if now - since > silence.as_millis() as i64 {
                let detail = match last {
                    Some(at) => format!("no event since {}", rfc3339_ms(at)),
                    None => format!("no event since inlet started at {}", rfc3339_ms(self.started_at)),
                };
                self.open(AlertKind::Silent, &name, detail, now).await;
            } else if let Some(alert) = self.open.get(&(AlertKind::Silent, name.clone()))
                && last.is_some_and(|at| at > alert.opened_at)
            {
                self.resolve(AlertKind::Silent, &name, now).await;
            }
        }
    }
}
