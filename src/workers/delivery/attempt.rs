//! One attempt of one claimed delivery, from the rate limit to the [`Completion`] to record:
//! hydration (a provider's pause uses no step), the destination's answer, what the circuit
//! and the Retry-After pause learn from it, the retry rule's next step, and the attempt's
//! metrics, feed item and log line. Claiming, leases and recording are `mod.rs`'s.

use std::sync::Arc;
use std::time::Instant;

use super::DeliveryWorker;
use crate::destinations::{AttemptResult, Delivery};
use crate::domain::{AttemptRecord, Claim, Completion, NextStep, Outcome, next_step};
use crate::sources::hydrate::HydrateError;
use crate::telemetry::feed::FeedItem;
use crate::telemetry::metrics;
use crate::telemetry::traces::{Name, Span, Value};

impl DeliveryWorker {
    pub(super) async fn attempt_inner(self: Arc<Self>, claim: Claim, probe: bool, span: &Span) -> Completion {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let started_at = self.clock.now_ms();
        let started = Instant::now();
        let state = match self.hydrators.get(&claim.event.source) {
            None => Ok(None),
            Some(h) => h
                .fetch(&claim.event, started_at, &span.child(Name::Hydrate))
                .await
                .map(Some),
        };
        let (result, hydrated) = match state {
            Ok(state) => {
                let traceparent = span.traceparent();
                let delivery = Delivery {
                    event: &claim.event,
                    state: state.as_ref(),
                    traceparent: traceparent.as_deref(),
                };
                (self.destination.deliver(&delivery, started_at).await, true)
            }
            Err(HydrateError::Paused { until, status }) => {
                return self.hydration_paused(claim, probe, started_at, until, status);
            }
            Err(HydrateError::Failed { status, error }) => {
                let failed = AttemptResult {
                    outcome: Outcome::Failed {
                        status,
                        error,
                        retry_after: None,
                    },
                    response_excerpt: None,
                };
                (failed, false)
            }
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let now = self.clock.now_ms();
        let name = self.settings.name.as_str();
        if !hydrated {
            // The destination was not asked: its circuit learns nothing.
            if probe {
                self.lock_gate().circuit.probe_unused();
            }
        } else {
            let mut gate = self.lock_gate();
            match &result.outcome {
                Outcome::Delivered { .. } => {
                    self.last_success_at.store(now, std::sync::atomic::Ordering::Relaxed);
                    if gate.circuit.success() {
                        tracing::info!(destination = name, "circuit closed: the destination answers again");
                    }
                }
                Outcome::Throttled { retry_after, .. } => {
                    let until = now + retry_after.min(&crate::domain::MAX_RETRY_AFTER).as_millis() as i64;
                    gate.paused_until = gate.paused_until.max(until);
                    tracing::info!(
                        destination = name,
                        pause_ms = until - now,
                        "destination asked to pause (Retry-After)"
                    );
                }
                Outcome::Gone { .. } => {}
                Outcome::Failed { .. } => {
                    if gate.circuit.failure(now, probe) {
                        tracing::warn!(destination = name, "circuit open: attempts paused, probing");
                    }
                }
            }
        }
        let counts = !probe && !matches!(result.outcome, Outcome::Throttled { .. });
        let steps_used = claim.steps_used + u32::from(counts);
        let next = next_step(
            &self.settings.retry,
            steps_used,
            &result.outcome,
            counts,
            now,
            &mut rand::rng(),
        );
        let outcome = match (&next, &result.outcome) {
            (NextStep::Delivered, _) => "delivered",
            (NextStep::Dead { .. }, _) => "dead",
            (NextStep::RetryAt { .. }, Outcome::Throttled { .. }) => "paused",
            (NextStep::RetryAt { .. }, _) => "retry",
        };
        span.set("inlet.outcome", Value::Static(outcome));
        metrics::inc("inlet_deliveries_total", &[("destination", name), ("outcome", outcome)]);
        let family = if outcome == "delivered" { "delivered" } else { "failed" };
        crate::telemetry::series::record(family, name, now);
        if let Some(feed) = &self.feed {
            feed.publish(FeedItem {
                kind: "delivery",
                source: claim.event.source.clone(),
                event_type: claim.event.event_type.clone(),
                data: serde_json::json!({
                    "event": claim.event.id,
                    "destination": name,
                    "outcome": outcome,
                    "status_code": result.outcome.status(),
                    "error": result.outcome.error(),
                    "latency_ms": latency_ms,
                }),
            });
        }
        metrics::observe(
            "inlet_delivery_duration_seconds",
            &[("destination", name)],
            metrics::LATENCY_BUCKETS,
            latency_ms as f64 / 1000.0,
        );
        match &next {
            NextStep::Dead { reason } => {
                self.last_dead_at.store(now, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(destination = name, event = %claim.event.id, reason = %reason, "delivery dead");
            }
            NextStep::Delivered => {
                tracing::info!(destination = name, event = %claim.event.id, attempts = steps_used, "delivered")
            }
            NextStep::RetryAt { at, .. } => {
                tracing::debug!(destination = name, event = %claim.event.id, retry_in_ms = at - now, error = ?result.outcome.error(), "attempt failed; retrying")
            }
        }
        let attempt = AttemptRecord {
            at: started_at,
            status_code: result.outcome.status(),
            latency_ms,
            error: result.outcome.error(),
            response_excerpt: result.response_excerpt,
        };
        Completion {
            key: claim.key,
            steps_used,
            attempt,
            next,
        }
    }

    /// The source's hydration is paused by the provider: record it, use no step, and try
    /// again when the pause ends.
    fn hydration_paused(&self, claim: Claim, probe: bool, at: i64, until: i64, status: u16) -> Completion {
        if probe {
            self.lock_gate().circuit.probe_unused();
        }
        tracing::debug!(destination = %self.settings.name, event = %claim.event.id, "hydration paused by the provider");
        metrics::inc(
            "inlet_deliveries_total",
            &[("destination", &self.settings.name), ("outcome", "paused")],
        );
        Completion {
            key: claim.key,
            steps_used: claim.steps_used,
            attempt: AttemptRecord {
                at,
                status_code: Some(status),
                latency_ms: 0,
                error: Some(format!("hydrate: paused by the provider's Retry-After until {until}")),
                response_excerpt: None,
            },
            next: NextStep::RetryAt {
                at: until,
                used_step: false,
            },
        }
    }
}
