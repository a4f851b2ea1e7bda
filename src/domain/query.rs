//! What the admin surface asks the store: event filters, event summaries, replays, and
//! pages of rejected requests.

use super::event::{RejectedRequest, Via};

/// An event's status: `pending` while any delivery is pending, else `dead` if any is dead,
/// else `delivered` (a `skipped_stale` delivery counts as done).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    Pending,
    Dead,
    Delivered,
}

impl EventStatus {
    /// The status of an event whose deliveries are in these states. (The stores compute
    /// the same rule in SQL for filtered lists.)
    pub fn of<'a>(states: impl IntoIterator<Item = &'a str> + Clone) -> EventStatus {
        if states.clone().into_iter().any(|s| s == "pending") {
            EventStatus::Pending
        } else if states.into_iter().any(|s| s == "dead") {
            EventStatus::Dead
        } else {
            EventStatus::Delivered
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "pending",
            EventStatus::Dead => "dead",
            EventStatus::Delivered => "delivered",
        }
    }

    pub fn parse(s: &str) -> Option<EventStatus> {
        [EventStatus::Pending, EventStatus::Dead, EventStatus::Delivered]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Every field narrows the selection; `None` does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub status: Option<EventStatus>,
    /// Has a delivery to this destination.
    pub destination: Option<String>,
    /// Received at or after (unix ms).
    pub since: Option<i64>,
    /// Received before (unix ms).
    pub until: Option<i64>,
    pub dedupe_key: Option<String>,
    /// The configured dedupe groups: lets a `dedupe_key` search use the (group, key) index.
    pub dedupe_groups: Vec<String>,
}

/// An event in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSummary {
    pub id: String,
    pub source: String,
    pub event_type: Option<String>,
    pub dedupe_key: String,
    pub status: EventStatus,
    pub via: Via,
    pub received_at: i64,
    pub occurred_at: Option<i64>,
}

/// Where a page of events starts. A cursor is an event's position in arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// The newest first.
    Newest,
    /// Older than this cursor, newest first (the next page of a list).
    Before(i64),
    /// Newer than this cursor, oldest first (following the stream; `After(0)`: from the
    /// oldest).
    After(i64),
}

/// A page of events, each with its cursor, and the cursor that continues the list in the
/// page's direction when there is more.
#[derive(Clone, Debug, Default)]
pub struct EventPage {
    pub items: Vec<(i64, EventSummary)>,
    pub next: Option<i64>,
}

/// Which deliveries a replay re-queues.
#[derive(Clone, Debug)]
pub enum ReplaySelection {
    /// One event's finished deliveries (optionally only to one destination).
    Event { id: String, destination: Option<String> },
    /// Deliveries in `state` of the events matching `filter`, at most `limit`.
    Matching {
        filter: EventFilter,
        state: String,
        destination: Option<String>,
        limit: Option<usize>,
    },
}

/// A page of rejected requests, newest first, with their ids.
#[derive(Clone, Debug, Default)]
pub struct RejectedPage {
    pub items: Vec<(i64, RejectedRequest)>,
    pub next: Option<i64>,
}

/// Cuts rows fetched as `limit + 1` (newest first, each with its sequence or id) to a page:
/// the items and, when there are more, the cursor of the next page (older than the last).
pub fn page_of<T>(mut rows: Vec<(i64, T)>, limit: usize) -> (Vec<(i64, T)>, Option<i64>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|(seq, _)| *seq);
        (rows, next)
    } else {
        (rows, None)
    }
}
