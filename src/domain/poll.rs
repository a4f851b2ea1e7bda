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

    /// The counters in the column order both stores use: runs, requests, empty polls,
    /// items, new events, duplicates, rate-limited, errors, rejected items, recovered.
    pub fn from_columns(c: [u64; 10]) -> PollCounts {
        PollCounts {
            runs: c[0],
            requests: c[1],
            empty_polls: c[2],
            items: c[3],
            new_events: c[4],
            duplicates: c[5],
            rate_limited: c[6],
            errors: c[7],
            rejected_items: c[8],
            recovered: c[9],
        }
    }

    /// Requests per new event (`None` before the first new event).
    pub fn requests_per_new_event(&self) -> Option<f64> {
        (self.new_events > 0).then(|| self.requests as f64 / self.new_events as f64)
    }
}

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
