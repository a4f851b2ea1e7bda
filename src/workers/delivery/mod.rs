//! The delivery worker of one destination: claims due deliveries with a lease, runs up to
//! `concurrency` attempts at once (within `rate_limit`), and records each attempt with what
//! the retry rule decides. It wakes at once on new events, when an attempt finishes, and
//! when the store says the next retry is due.
//! A lease lasts the destination's `timeout` + 30 s from the claim and is renewed every
//! third of that while its attempt is in flight (waiting on the rate limit, hydrating or
//! sending), so a slow attempt is never claimed a second time while it runs.
//! `run_once` is one pass, so tests drive schedules with a manual clock instead of sleeping.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

mod attempt;

use super::circuit::{Admit, Circuit};
use super::recording::Recording;
use crate::config::DestinationSettings;
use crate::destinations::Destination;
use crate::domain::{Claim, Completion, DeliveryKey};
use crate::pace::clock::Clock;
use crate::pace::rate::TokenBucket;
use crate::sources::hydrate::Hydrator;
use crate::store::Store;
use crate::telemetry::feed::Feed;
use crate::telemetry::metrics;
use crate::telemetry::traces::{Name, Span, SpanContext};

/// The shortest sleep between looks for due work while something may be due.
const TICK: Duration = Duration::from_millis(250);
/// The longest: new events wake the worker at once, and the store says when the next
/// retry is due, so this only bounds how late an expired lease (a dead node's) is noticed.
const MAX_IDLE: Duration = Duration::from_secs(5);
/// A lease lasts the destination's timeout plus this margin.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// What a claim found: deliveries (the flag marks a probe), a shut gate until then, or a
/// destination an operator paused (nothing is claimed until a resume wakes the worker).
enum Claimed {
    Some(Vec<Claim>, bool),
    Shut(i64),
    Paused,
}

/// How often a paused worker looks again, should a resume on another node not reach it.
const PAUSED_LOOK: Duration = Duration::from_secs(1);

struct Gate {
    circuit: Circuit,
    paused_until: i64,
}

/// A destination's health as one node's worker saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    pub circuit_open: bool,
    /// Unix ms; 0 when never.
    pub last_dead_at: i64,
    /// Unix ms; 0 when never.
    pub last_success_at: i64,
}

pub struct DeliveryWorker {
    settings: DestinationSettings,
    destination: Box<dyn Destination>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    gate: Mutex<Gate>,
    limiter: Option<TokenBucket>,
    in_flight: Mutex<HashSet<DeliveryKey>>,
    running: std::sync::atomic::AtomicUsize,
    /// Paused by an operator (the store's claim also refuses it, on every node).
    paused: std::sync::atomic::AtomicBool,
    /// When one of its deliveries last went dead on this node (unix ms, 0: never).
    last_dead_at: std::sync::atomic::AtomicI64,
    /// When an attempt last succeeded on this node (unix ms, 0: never).
    last_success_at: std::sync::atomic::AtomicI64,
    /// Per source name: the hydrator of sources that hydrate.
    hydrators: Arc<HashMap<String, Arc<Hydrator>>>,
    feed: Option<Arc<Feed>>,
}

impl DeliveryWorker {
    pub fn new(
        settings: DestinationSettings,
        destination: Box<dyn Destination>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let circuit = Circuit::new(settings.circuit.failures, settings.circuit.probe);
        DeliveryWorker {
            limiter: settings.rate_limit.map(TokenBucket::new),
            settings,
            destination,
            store,
            clock,
            gate: Mutex::new(Gate {
                circuit,
                paused_until: 0,
            }),
            in_flight: Mutex::new(HashSet::new()),
            running: std::sync::atomic::AtomicUsize::new(0),
            paused: std::sync::atomic::AtomicBool::new(false),
            last_dead_at: std::sync::atomic::AtomicI64::new(0),
            last_success_at: std::sync::atomic::AtomicI64::new(0),
            hydrators: Arc::new(HashMap::new()),
            feed: None,
        }
    }

    /// Publish each attempt's outcome to `feed`.
    pub fn with_feed(mut self, feed: Arc<Feed>) -> Self {
        self.feed = Some(feed);
        self
    }

    /// Fetch the current state of these sources' events before each attempt.
    pub fn with_hydrators(mut self, hydrators: Arc<HashMap<String, Arc<Hydrator>>>) -> Self {
        self.hydrators = hydrators;
        self
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// How long to sleep when a claim found less than it could take: until the next
    /// pending delivery is due, between [`TICK`] and [`MAX_IDLE`].
    async fn idle_wait(&self) -> Duration {
        match self.store.next_due(&self.settings.name).await {
            Ok(Some(due)) => {
                let wait = u64::try_from(due - self.clock.now_ms()).unwrap_or(0);
                Duration::from_millis(wait).clamp(TICK, MAX_IDLE)
            }
            Ok(None) => MAX_IDLE,
            Err(_) => TICK,
        }
    }

    /// How long a claim (or a renewal) leases a delivery.
    fn lease(&self) -> Duration {
        self.settings.timeout + LEASE_MARGIN
    }

    /// Extends the leases of every delivery in flight by a whole lease from now.
    async fn renew_leases(&self) {
        let keys: Vec<DeliveryKey> = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        if keys.is_empty() {
            return;
        }
        let until = self.clock.now_ms() + self.lease().as_millis() as i64;
        if let Err(e) = self.store.renew(keys, until).await {
            tracing::warn!(destination = %self.settings.name, error = %e, "cannot renew leases");
        }
    }

    /// Attempts running now (waiting on the rate limit, hydrating or sending).
    pub fn running(&self) -> usize {
        self.running.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn circuit_open(&self) -> bool {
        self.lock_gate().circuit.is_open()
    }

    /// Holds (or lets go) this destination's attempts; a caller that resumes wakes the
    /// workers.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What this node saw of the destination's health, for its alert.
    pub fn health(&self) -> Health {
        use std::sync::atomic::Ordering::Relaxed;
        Health {
            circuit_open: self.circuit_open(),
            last_dead_at: self.last_dead_at.load(Relaxed),
            last_success_at: self.last_success_at.load(Relaxed),
        }
    }

    fn lock_gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims what is due and admitted, up to `free` deliveries. `Shut(until)`: the
    /// circuit is open or the destination paused until that instant (unix ms), so nothing
    /// was asked of the store.
    async fn claim(&self, free: usize) -> Claimed {
        if self.is_paused() {
            return Claimed::Paused;
        }
        let now = self.clock.now_ms();
        let (limit, probe) = {
            let mut gate = self.lock_gate();
            if gate.paused_until > now {
                return Claimed::Shut(gate.paused_until);
            }
            if free == 0 {
                return Claimed::Some(Vec::new(), false);
            }
            match gate.circuit.admit(now) {
                Admit::Normal => (free, false),
                Admit::Probe => (1, true),
                Admit::Wait(until) => return Claimed::Shut(until),
            }
        };
        let lease_until = now + self.lease().as_millis() as i64;
        let claims = match self.store.claim(&self.settings.name, now, limit, lease_until).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(destination = %self.settings.name, error = %e, "cannot claim deliveries");
                Vec::new()
            }
        };
        if probe && claims.is_empty() {
            self.lock_gate().circuit.probe_unused();
        }
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.extend(claims.iter().map(|c| c.key.clone()));
        Claimed::Some(claims, probe)
    }

    /// One attempt of one claimed delivery; returns what to record. The lease holds until
    /// the completion is committed, so nobody claims the delivery meanwhile.
    async fn attempt(self: Arc<Self>, claim: Claim, probe: bool) -> Completion {
        self.running.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The event's stored trace (its webhook's, or its poll page's) is this span's parent.
        let span = Span::start(Name::Delivery, || {
            claim.event.traceparent.as_deref().and_then(SpanContext::parse)
        });
        span.set("inlet.destination", self.settings.name.as_str());
        span.set("inlet.event_id", claim.event.id.as_str());
        span.set("inlet.attempt", i64::from(claim.steps_used) + 1);
        let completion = self.clone().attempt_inner(claim, probe, &span).await;
        self.running.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        completion
    }

    /// Records finished attempts in one transaction and frees their in-flight entries.
    pub(super) async fn record(self: Arc<Self>, completions: Vec<Completion>) {
        if completions.is_empty() {
            return;
        }
        let keys: Vec<DeliveryKey> = completions.iter().map(|c| c.key.clone()).collect();
        match self.store.complete(completions).await {
            Ok(0) => {}
            Ok(lost) => {
                tracing::warn!(
                    destination = %self.settings.name,
                    attempts = lost,
                    "attempts finished after their lease had passed to another node (this node was taken for dead): recorded, not applied; the receiver may have seen them twice"
                );
                metrics::add(
                    "inlet_duplicate_attempts_total",
                    &[("destination", &self.settings.name)],
                    lost,
                );
            }
            // The leases expire and the deliveries are attempted again: at least once.
            Err(e) => tracing::error!(destination = %self.settings.name, error = %e, "cannot record attempts"),
        }
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for k in &keys {
            in_flight.remove(k);
        }
    }

    /// One pass: claims what is due now and runs those attempts to completion.
    /// Returns how many attempts were made.
    pub async fn run_once(self: &Arc<Self>) -> usize {
        let Claimed::Some(claims, probe) = self.claim(self.settings.concurrency as usize).await else {
            return 0;
        };
        let n = claims.len();
        let mut set = JoinSet::new();
        for c in claims {
            set.spawn(self.clone().attempt(c, probe));
        }
        let mut done = Vec::new();
        while let Some(joined) = set.join_next().await {
            done.extend(joined.ok());
        }
        self.clone().record(done).await;
        n
    }

    /// Runs until `shutdown`; then lets in-flight attempts finish within `grace` and
    /// releases the leases of any that did not. Finished attempts are recorded by one
    /// transaction at a time in the background, so claiming and attempting go on while it
    /// commits; at most `concurrency` finished attempts wait to be recorded.
    pub async fn run(self: Arc<Self>, wakeup: Arc<Notify>, shutdown: CancellationToken, grace: Duration) {
        let mut set: JoinSet<Completion> = JoinSet::new();
        let mut recording = Recording::default();
        let concurrency = self.settings.concurrency as usize;
        // Refill in chunks (a quarter of the slots), not with one claim per finished attempt.
        let refill_at = (concurrency / 4).max(1);
        let mut wait = TICK;
        let mut gate_shut = false;
        let mut renewal = tokio::time::interval(self.lease() / 3);
        renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        renewal.reset();
        loop {
            let notified = wakeup.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if shutdown.is_cancelled() {
                break;
            }
            // At most `concurrency` attempts running, and at most twice that whose outcome is
            // not committed yet (running, or finished and waiting to be recorded): what a
            // node that dies can leave for a receiver to see twice.
            let free = concurrency
                .saturating_sub(set.len())
                .min((2 * concurrency).saturating_sub(set.len() + recording.unrecorded()));
            if free >= refill_at || (set.is_empty() && free > 0) {
                match self.claim(free).await {
                    // Nothing is claimable before `until` whatever arrives: no look at
                    // the store until then (a dead destination costs ingest nothing).
                    Claimed::Shut(until) => {
                        let left = u64::try_from(until - self.clock.now_ms()).unwrap_or(0);
                        wait = Duration::from_millis(left).clamp(TICK, MAX_IDLE);
                        gate_shut = true;
                    }
                    // A resume wakes the worker; new events do too, and find it paused.
                    Claimed::Paused => {
                        wait = PAUSED_LOOK;
                        gate_shut = false;
                    }
                    Claimed::Some(claims, probe) => {
                        wait = if claims.len() < free && !probe {
                            self.idle_wait().await
                        } else {
                            TICK
                        };
                        gate_shut = false;
                        for c in claims {
                            set.spawn(self.clone().attempt(c, probe));
                        }
                    }
                }
            }
            tokio::select! {
                () = &mut notified, if !gate_shut => {}
                Some(first) = set.join_next(), if !set.is_empty() => {
                    recording.waiting.extend(first.ok());
                    while let Some(more) = set.try_join_next() {
                        recording.waiting.extend(more.ok());
                    }
                    recording.start(&self);
                }
                () = recording.finished(), if recording.busy() => recording.start(&self),
                () = tokio::time::sleep(wait) => {}
                _ = renewal.tick(), if !set.is_empty() || recording.busy() => self.renew_leases().await,
                () = shutdown.cancelled() => break,
            }
        }
        let drained = tokio::time::timeout(grace, async {
            recording.finished().await;
            while let Some(joined) = set.join_next().await {
                recording.waiting.extend(joined.ok());
            }
            self.clone().record(std::mem::take(&mut recording.waiting)).await;
        })
        .await;
        if drained.is_err() {
            set.abort_all();
            let keys: Vec<DeliveryKey> = self
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drain()
                .collect();
            tracing::warn!(destination = %self.settings.name, unfinished = keys.len(), "shutdown deadline: releasing leases");
            if let Err(e) = self.store.release(keys).await {
                tracing::error!(error = %e, "cannot release leases; they expire on their own");
            }
        }
    }
}
