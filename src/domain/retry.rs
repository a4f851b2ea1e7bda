//! What happens after an attempt: the destination's retry schedule with ±20 % jitter, never
//! sooner than a `Retry-After`, `410 Gone` and an exhausted schedule as dead. Pure and
//! table-tested; the delivery worker applies what [`next_step`] decides.

use std::time::Duration;

use rand::Rng;

/// The longest `Retry-After` honoured; longer ones are capped.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How one attempt ended, as the destination reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        status: Option<u16>,
    },
    /// 429 or 503 with `Retry-After`: the whole destination pauses; no step is used.
    Throttled {
        status: u16,
        retry_after: Duration,
    },
    /// Retrying cannot help (410 Gone).
    Gone {
        status: u16,
    },
    /// Any other failure: uses one step of the schedule.
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Delivered { status } => *status,
            Outcome::Throttled { status, .. } | Outcome::Gone { status } => Some(*status),
            Outcome::Failed { status, .. } => *status,
        }
    }

    pub fn error(&self) -> Option<String> {
        match self {
            Outcome::Delivered { .. } => None,
            Outcome::Throttled { status, retry_after } => {
                Some(format!("{status}: throttled for {}s", retry_after.as_secs()))
            }
            Outcome::Gone { status } => Some(format!("{status}: the destination is gone")),
            Outcome::Failed { error, .. } => Some(error.clone()),
        }
    }
}

/// What to do with a delivery after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    /// Try again at this unix-ms instant; `used_step` says whether the attempt counted.
    RetryAt {
        at: i64,
        used_step: bool,
    },
    Dead {
        reason: String,
    },
}

/// Decides the next step after attempt number `attempts_used` (steps used so far, this
/// attempt included when it counts) ended with `outcome` at `now` (unix ms).
/// `counts` is false while the destination's circuit is open (a probe uses no step).
pub fn next_step(
    schedule: &[Duration],
    attempts_used: u32,
    outcome: &Outcome,
    counts: bool,
    now: i64,
    rng: &mut impl Rng,
) -> NextStep {
    match outcome {
        Outcome::Delivered { .. } => NextStep::Delivered,
        Outcome::Gone { status } => NextStep::Dead {
            reason: format!("{status} Gone"),
        },
        Outcome::Throttled { retry_after, .. } => NextStep::RetryAt {
            at: now + millis((*retry_after).min(MAX_RETRY_AFTER)),
            used_step: false,
        },
        Outcome::Failed { error, retry_after, .. } => {
            if !counts {
                return NextStep::RetryAt {
                    at: now,
                    used_step: false,
                };
            }
            let Some(delay) = schedule.get(attempts_used as usize) else {
                return NextStep::Dead {
                    reason: format!("gave up after {attempts_used} attempts: {error}"),
                };
            };
            let jittered = millis(*delay) as f64 * rng.random_range(0.8..=1.2);
            let floor = retry_after.map_or(0, |r| millis(r.min(MAX_RETRY_AFTER)));
            NextStep::RetryAt {
                at: now + (jittered as i64).max(floor),
                used_step: true,
            }
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Parses `Retry-After`: delta seconds or an HTTP date, relative to `now` (unix ms).
pub fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp_millis();
    Some(Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn schedule() -> Vec<Duration> {
        [0, 5, 30].iter().map(|s| Duration::from_secs(*s)).collect()
    }

    fn failed(retry_after: Option<u64>) -> Outcome {
        Outcome::Failed {
            status: Some(500),
            error: "500".into(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn each_failure_waits_the_next_step_within_twenty_percent() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            match next_step(&schedule(), 1, &failed(None), true, 0, &mut rng) {
                NextStep::RetryAt { at, used_step: true } => assert!((4_000..=6_000).contains(&at), "{at}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn an_exhausted_schedule_is_dead_with_the_last_error() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        match next_step(&schedule(), 3, &failed(None), true, 0, &mut rng) {
            NextStep::Dead { reason } => {
                assert!(reason.contains("3 attempts") && reason.contains("500"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_is_a_floor_and_is_capped_at_an_hour() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert_eq!(
            next_step(&schedule(), 1, &failed(Some(60)), true, 0, &mut rng),
            NextStep::RetryAt {
                at: 60_000,
                used_step: true
            }
        );
        let throttled = Outcome::Throttled {
            status: 429,
            retry_after: Duration::from_secs(86_400),
        };
        assert_eq!(
            next_step(&schedule(), 1, &throttled, true, 0, &mut rng),
            NextStep::RetryAt {
                at: 3_600_000,
                used_step: false
            }
        );
    }

    #[test]
    fn gone_is_dead_at_once_and_probes_use_no_step() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert!(matches!(
            next_step(&schedule(), 1, &Outcome::Gone { status: 410 }, true, 0, &mut rng),
            NextStep::Dead { .. }
        ));
        assert_eq!(
            next_step(&schedule(), 3, &failed(None), false, 9, &mut rng),
            NextStep::RetryAt {
                at: 9,
                used_step: false
            }
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("3", 0), Some(Duration::from_secs(3)));
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T20:00:00Z")
            .expect("date")
            .timestamp_millis();
        assert_eq!(
            parse_retry_after("Thu, 26 Nov 2026 20:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
