//! The vocabulary shared by every subsystem: events as they enter the store, the answer
//! the store gives, rejected requests. Pure data; no I/O and no framework types.

mod event;

pub use event::{Ingested, NewEvent, RejectedRequest, StoredEvent, Via, new_event_id};
