//! The ingest listener's budget for request bodies (`server.max_inflight_body`): every
//! byte of a body being read is reserved here first, so many slow clients each sending an
//! almost complete body cannot make the process hold more than the budget. A request that
//! cannot reserve its bytes is answered 503 with `Retry-After` instead of being read.
//! Reading the body itself (limits, timeouts) is `ingest.rs`'s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of bodies reserved at once, at most `max`.
#[derive(Debug)]
pub struct BodyBudget {
    used: AtomicU64,
    max: u64,
}

impl BodyBudget {
    pub fn new(max: u64) -> Arc<Self> {
        Arc::new(BodyBudget {
            used: AtomicU64::new(0),
            max,
        })
    }

    /// Bytes reserved now, by every request being read.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// A reservation of nothing yet, to grow as a body of unknown length arrives.
    pub fn empty(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes: 0,
        }
    }
}

/// Bytes held for one request until it is dropped (when its handler is done with the body).
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: u64,
}

impl Reservation {
    /// Reserves `more` bytes; false (and nothing reserved) when the budget would go over.
    pub fn grow(&mut self, more: u64) -> bool {
        let budget = &self.budget;
        let taken = budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|&total| total <= budget.max)
            })
            .is_ok();
        if taken {
            self.bytes += more;
        }
        taken
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_budget_and_return_it_when_dropped() {
        let budget = BodyBudget::new(10);
        let mut a = budget.empty();
        assert!(a.grow(6));
        let mut b = budget.empty();
        assert!(!b.grow(5), "6 + 5 is over 10");
        assert!(b.grow(4));
        assert_eq!(budget.used(), 10);
        drop(a);
        assert_eq!(budget.used(), 4);
        assert!(b.grow(6));
        drop(b);
        assert_eq!(budget.used(), 0);
    }
}
