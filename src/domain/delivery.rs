//! Deliveries: one per (event, destination), the attempts made, and what the store hands
//! the delivery worker when it claims one.

use super::event::EventRecord;

/// A delivery to create with its event: the destination and when the first attempt is due
/// (unix ms: received + the schedule's first delay).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingDelivery {
    pub destination: String,
    pub due_at: i64,
    /// Set when the route orders its deliveries and the payload has the key.
    pub order: Option<OrderSlot>,
}

/// Where a delivery stands in its key's order: deliveries of one destination sharing `key`
/// go one at a time, earliest `at` (then earliest stored) first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSlot {
    /// The route's index and the key's text (`"0:ord_1"`).
    pub key: String,
    /// The payload's version as JSON text; not newer than the last delivered ⇒ stale.
    pub version: Option<String>,
    /// The event's occurred time, else its received time (unix ms).
    pub at: i64,
}

/// Identifies a delivery: its event's store sequence and its destination.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryKey {
    pub event_seq: i64,
    pub destination: String,
}

/// A leased delivery, with its event, ready for an attempt.
#[derive(Clone, Debug)]
pub struct Claim {
    pub key: DeliveryKey,
    /// Schedule steps used so far.
    pub steps_used: u32,
    pub event: EventRecord,
}

/// The result of one attempt, to record: the attempt and what it leads to.
#[derive(Clone, Debug)]
pub struct Completion {
    pub key: DeliveryKey,
    /// The delivery's new count of schedule steps used.
    pub steps_used: u32,
    pub attempt: AttemptRecord,
    pub next: super::NextStep,
}

impl Completion {
    /// What the delivery becomes: its state, when it is next due (a retry only), and the
    /// error it keeps (a retry's attempt error, a dead delivery's reason).
    pub fn written(&self) -> (DeliveryState, Option<i64>, Option<String>) {
        match &self.next {
            super::NextStep::Delivered => (DeliveryState::Delivered, None, None),
            super::NextStep::RetryAt { at, .. } => (DeliveryState::Pending, Some(*at), self.attempt.error.clone()),
            super::NextStep::Dead { reason } => (DeliveryState::Dead, None, Some(reason.clone())),
        }
    }
}

/// Why an ordered delivery ended `skipped_stale`: its `version` is not newer than the
/// key's `last` delivered one.
pub fn stale_reason(version: &str, last: &str) -> String {
    format!("stale: version {version} is not newer than {last}, already delivered")
}

/// One attempt as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Unix ms.
    pub at: i64,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Delivery states of CONTRACT §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Dead,
    SkippedStale,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::SkippedStale => "skipped_stale",
        }
    }
}

/// A delivery as read back, with every attempt.
#[derive(Clone, Debug)]
pub struct DeliveryView {
    pub destination: String,
    pub state: String,
    pub steps_used: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub attempts: Vec<AttemptRecord>,
}

/// The current state of an event's object, fetched from the provider before an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hydrated {
    /// The API's JSON answer, as its bytes.
    State(Vec<u8>),
    /// The object is gone (404): delivered with `state: null` and this status.
    Gone { status: u16 },
}

/// A destination's deliveries by state, and how long the oldest pending one has waited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationStats {
    pub destination: String,
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
    pub skipped_stale: u64,
    /// When the oldest pending delivery's event was received (unix ms).
    pub oldest_pending_at: Option<i64>,
}

impl DestinationStats {
    /// Per destination, from (destination, state, count) rows and (destination, oldest
    /// pending received time) rows.
    pub fn tally(counts: Vec<(String, String, u64)>, oldest: Vec<(String, Option<i64>)>) -> Vec<DestinationStats> {
        let mut out: Vec<DestinationStats> = Vec::new();
        for (destination, state, n) in counts {
            let i = match out.iter().position(|s| s.destination == destination) {
                Some(i) => i,
                None => {
                    out.push(DestinationStats {
                        destination,
                        ..DestinationStats::default()
                    });
                    out.len() - 1
                }
            };
            match state.as_str() {
                "pending" => out[i].pending = n,
                "delivered" => out[i].delivered = n,
                "dead" => out[i].dead = n,
                "skipped_stale" => out[i].skipped_stale = n,
                _ => {}
            }
        }
        for (destination, at) in oldest {
            if let Some(s) = out.iter_mut().find(|s| s.destination == destination) {
                s.oldest_pending_at = at;
            }
        }
        out
    }
}
