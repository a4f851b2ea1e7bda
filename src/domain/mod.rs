//! The vocabulary shared by every subsystem: events as they enter the store, the answer
//! the store gives, rejected requests, deliveries and their attempts, and the retry rule.
//! Pure data and pure functions; no I/O and no framework types.

mod alert;
pub mod compare;
mod cursor;
mod delivery;
mod event;
pub mod mask;
mod poll;
mod query;
mod retry;
pub mod settings;
pub mod template;
mod time;
pub mod values;

pub use alert::{Alert, AlertFilter, AlertKind, AlertState};
pub use cursor::{CursorUnit, CursorValue};
pub use delivery::{
    AttemptRecord, Claim, Completion, DeliveryKey, DeliveryState, DeliveryView, DestinationStats, Hydrated, OrderSlot,
    PendingDelivery, stale_reason,
};
pub use event::{
    EventRecord, Ingested, Kept, KeptRequest, NewEvent, RejectedFilter, RejectedKeep, RejectedRequest, StoredEvent,
    Via, headers_json, new_event_id, time_ordered_id,
};
pub use mask::mask_url;
pub use poll::{CursorCommit, POLL_STATE_COLUMNS, PollCounts, PollState, PollWrite, PollWritten, RunEnd};
pub use query::{EventFilter, EventPage, EventStatus, EventSummary, PageStart, RejectedPage, ReplaySelection, page_of};
pub use retry::{MAX_RETRY_AFTER, NextStep, Outcome, next_step, parse_retry_after};
pub use time::rfc3339_ms;
