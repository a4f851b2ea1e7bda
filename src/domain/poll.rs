//! Poll sources' durable state: the cursor (with a generation, so a reset wins over a run
//! that was in flight), a `Retry-After` pause, and the efficiency counters; and what a
//! poller writes per page and at the end of a run.

use super::event::{Ingested, NewEvent};

/// Counters of one poll source since it was first polled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollCounts {
    /// Runs that ended (completed or failed).
    pub runs: u64,
    pub requests: u64,
    /// Completed runs that found no new event.
    pub empty_polls: u64,
    /// Items read from answers (duplicates and rejected items included).
    pub items: u64,
    pub new_events: u64,
    pub duplicates: u64,
    /// Answers 429/503 that paused or failed a run.
    pub rate_limited: u64,
    /// Failed runs.
    pub errors: u64,
    /// Items skipped because their id (or version) was missing.
    pub rejected_items: u64,
    /// New events of a group with a webhook source: ones its webhooks never brought.
    pub recovered: u64,
}

impl PollCounts {
    pub fn add(&mut self, d: &PollCounts) {
        self.runs += d.runs;
        self.requests += d.requests;
        self.empty_polls += d.empty_polls;
        self.items += d.items;
        self.new_events += d.new_events;
        self.duplicates += d.duplicates;
        self.rate_limited += d.rate_limited;
        self.errors += d.errors;
        self.rejected_items += d.rejected_items;
        self.recovered += d.recovered;
    }

    /// The counters from the ten columns after the first six of [`POLL_STATE_COLUMNS`],
    /// read by `column(index)` (negative values read as 0).
    pub fn read<E>(mut column: impl FnMut(usize) -> Result<i64, E>) -> Result<PollCounts, E> {
        let mut n = |i: usize| column(i).map(|v| v.max(0) as u64);
        Ok(PollCounts {
            runs: n(6)?,
            requests: n(7)?,
            empty_polls: n(8)?,
            items: n(9)?,
            new_events: n(10)?,
            duplicates: n(11)?,
            rate_limited: n(12)?,
            errors: n(13)?,
            rejected_items: n(14)?,
            recovered: n(15)?,
        })
    }

    /// Requests per new event (`None` before the first new event).
    pub fn requests_per_new_event(&self) -> Option<f64> {
        (self.new_events > 0).then(|| self.requests as f64 / self.new_events as f64)
    }
}

/// The `poll_state` columns both stores select, in the order [`PollCounts::read`] and the
/// stores' row readers expect.
pub const POLL_STATE_COLUMNS: &str =
    "source, cursor, generation, paused_until, last_run_at, last_error, runs, requests,
    empty_polls, items, new_events, duplicates, rate_limited, errors, rejected_items, recovered,
    next_run_at, failures";

/// A poll source's stored state; a source never polled has the default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PollState {
    /// The committed cursor, as JSON text (`"2026-…"` or `1700000000`).
    pub cursor: Option<String>,
    /// Bumped by each reset; a run commits its cursor only if it is unchanged.
    pub generation: i64,
    /// No request before this (unix ms): the provider's `Retry-After`.
    pub paused_until: Option<i64>,
    pub last_run_at: Option<i64>,
    /// Why the last run failed; `None` after a completed run.
    pub last_error: Option<String>,
    pub counts: PollCounts,
    /// When the next run is due (unix ms), as the node that ran last scheduled it.
    pub next_run_at: Option<i64>,
    /// Runs failed in a row, for the backoff.
    pub failures: u32,
}

/// One write of a poller: a page's events with its counters, and (on the last page of a
/// completed run, or for a failed run) how the run ended. All in one transaction.
#[derive(Clone, Debug)]
pub struct PollWrite {
    pub source: String,
    pub events: Vec<NewEvent>,
    /// The source's group has a webhook source: new events here count as recovered.
    pub recovers: bool,
    /// Counted by the poller (requests, items, rejected items, rate-limited); the store
    /// adds new events, duplicates and recovered from what it inserts.
    pub counts: PollCounts,
    pub end: Option<RunEnd>,
}

impl PollWrite {
    /// The counters to add once `ingested` (the answers for `events`, in order) is known:
    /// new events and duplicates, recovered ones in a group with a webhook source, and the
    /// run itself (empty when it ended without error and found nothing new in any page).
    pub fn counts_after(&self, ingested: &[Ingested]) -> PollCounts {
        let mut counts = self.counts;
        for answer in ingested {
            if answer.duplicate {
                counts.duplicates += 1;
            } else {
                counts.new_events += 1;
                counts.recovered += u64::from(self.recovers);
            }
        }
        if let Some(end) = &self.end {
            counts.runs += 1;
            if end.error.is_none() && end.new_before + counts.new_events == 0 {
                counts.empty_polls += 1;
            }
        }
        counts
    }
}

#[derive(Clone, Debug)]
pub struct RunEnd {
    pub at: i64,
    /// Completed run: the new cursor, committed only if the generation still matches.
    pub cursor: Option<CursorCommit>,
    /// New events stored by earlier pages of this run (to tell an empty poll).
    pub new_before: u64,
    /// Failed run: why.
    pub error: Option<String>,
    pub paused_until: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct CursorCommit {
    /// JSON text; `None` keeps the cursor as it is.
    pub value: Option<String>,
    pub generation: i64,
}

/// The store's answer to a [`PollWrite`].
#[derive(Clone, Debug)]
pub struct PollWritten {
    pub ingested: Vec<Ingested>,
}
