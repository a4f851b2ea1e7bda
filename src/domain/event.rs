//! Events: what ingest hands to the store, and what the store gives back.

use bytes::Bytes;

use super::delivery::{DeliveryView, PendingDelivery};

/// How an event reached inlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Webhook,
    Poll,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Webhook => "webhook",
            Via::Poll => "poll",
        }
    }

    pub fn parse(s: &str) -> Via {
        if s == "poll" { Via::Poll } else { Via::Webhook }
    }
}

/// A fresh event id: `evt_` + a UUIDv7 in hex, so ids sort by creation time.
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

/// A verified event about to be committed, with the destinations its routes name.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: String,
    pub source: String,
    pub dedupe_group: String,
    pub dedupe_key: String,
    pub event_type: Option<String>,
    pub via: Via,
    /// Unix milliseconds.
    pub received_at: i64,
    /// Unix milliseconds, when the provider says.
    pub occurred_at: Option<i64>,
    pub content_type: Option<String>,
    /// The provider's headers worth keeping; signatures and credentials are never here.
    pub headers: Vec<(String, String)>,
    /// The raw body, byte for byte as received.
    pub body: Bytes,
    /// One pending delivery per entry, created in the same transaction as the event.
    pub destinations: Vec<PendingDelivery>,
}

/// The store's answer to an ingest: the event's id, and whether its dedupe key was known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub id: String,
    pub duplicate: bool,
}

/// A request that failed verification or could not be read, kept for debugging.
#[derive(Clone, Debug)]
pub struct RejectedRequest {
    pub source: String,
    pub error: String,
    pub at: i64,
    /// Headers with signature and credential values replaced by `[redacted]`.
    pub headers: Vec<(String, String)>,
    pub body_size: u64,
}

/// An event's stored fields: what destinations render and what the admin views show.
#[derive(Clone, Debug)]
pub struct EventRecord {
    pub id: String,
    pub source: String,
    pub event_type: Option<String>,
    pub dedupe_key: String,
    pub via: Via,
    pub received_at: i64,
    pub occurred_at: Option<i64>,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An event as read back from the store, with its deliveries.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub event: EventRecord,
    pub deliveries: Vec<DeliveryView>,
}
