//! The circuit breaker of one destination. After `failures` consecutive failed attempts it
//! opens: no attempts but one probe at a time, every `probe` (doubling up to 10 minutes).
//! Attempts while open use no step of any event's schedule; the first success closes it.

use std::time::Duration;

const MAX_PROBE: Duration = Duration::from_secs(600);

/// Whether the worker may attempt deliveries now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Closed: attempt as many as concurrency allows.
    Normal,
    /// Open and a probe is due: attempt exactly one.
    Probe,
    /// Open: wait until this instant (unix ms) or for the probe in flight.
    Wait(i64),
}

#[derive(Debug)]
struct Open {
    next_probe_at: i64,
    interval: Duration,
    probing: bool,
}

#[derive(Debug)]
pub struct Circuit {
    threshold: u32,
    probe: Duration,
    consecutive: u32,
    open: Option<Open>,
}

impl Circuit {
    pub fn new(threshold: u32, probe: Duration) -> Self {
        Circuit {
            threshold: threshold.max(1),
            probe,
            consecutive: 0,
            open: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    pub fn admit(&mut self, now: i64) -> Admit {
        match &mut self.open {
            None => Admit::Normal,
            Some(open) if !open.probing && now >= open.next_probe_at => {
                open.probing = true;
                Admit::Probe
            }
            Some(open) => Admit::Wait(open.next_probe_at),
        }
    }

    /// A probe was admitted but found nothing to attempt.
    pub fn probe_unused(&mut self) {
        if let Some(open) = &mut self.open {
            open.probing = false;
        }
    }

    /// Returns true when this success closed an open circuit.
    pub fn success(&mut self) -> bool {
        self.consecutive = 0;
        self.open.take().is_some()
    }

    /// Returns true when this failure opened the circuit. Only a failed probe backs the
    /// probe interval off: attempts already in flight when the circuit opened do not.
    pub fn failure(&mut self, now: i64, probe: bool) -> bool {
        self.consecutive = self.consecutive.saturating_add(1);
        match &mut self.open {
            Some(_) if !probe => false,
            Some(open) => {
                open.interval = (open.interval * 2).min(MAX_PROBE);
                open.next_probe_at = now + open.interval.as_millis() as i64;
                open.probing = false;
                false
            }
            None if self.consecutive >= self.threshold => {
                self.open = Some(Open {
                    next_probe_at: now + self.probe.as_millis() as i64,
                    interval: self.probe,
                    probing: false,
                });
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_probes_one_at_a_time_and_closes_on_success() {
        let mut c = Circuit::new(3, Duration::from_secs(30));
        assert!(!c.failure(0, false) && !c.failure(0, false));
        assert_eq!(c.admit(0), Admit::Normal);
        assert!(c.failure(0, false), "the third failure opens it");
        assert!(!c.failure(500, false), "attempts in flight when it opened");
        assert_eq!(c.admit(1_000), Admit::Wait(30_000), "do not push the probe back");
        assert_eq!(c.admit(30_000), Admit::Probe);
        assert_eq!(c.admit(30_001), Admit::Wait(30_000), "one probe at a time");
        c.failure(31_000, true);
        assert_eq!(c.admit(31_000), Admit::Wait(91_000), "the probe interval doubles");
        assert_eq!(c.admit(91_000), Admit::Probe);
        assert!(c.success());
        assert_eq!(c.admit(91_001), Admit::Normal);
    }

    #[test]
    fn a_success_resets_the_count() {
        let mut c = Circuit::new(2, Duration::from_secs(1));
        c.failure(0, false);
        c.success();
        assert!(!c.failure(0, false));
    }
}
