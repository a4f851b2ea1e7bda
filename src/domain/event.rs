//! Events: what ingest hands to the store, and what the store gives back.

use bytes::Bytes;

use super::delivery::{DeliveryView, PendingDelivery};

/// How an event reached inlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Webhook,
    Poll,
    /// An alert's notification (`[alerts]`), made by inlet itself.
    Alert,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Webhook => "webhook",
            Via::Poll => "poll",
            Via::Alert => "alert",
        }
    }

    pub fn parse(s: &str) -> Via {
        match s {
            "poll" => Via::Poll,
            "alert" => Via::Alert,
            _ => Via::Webhook,
        }
    }
}

/// Headers as both stores keep them: JSON `[[name, value], ...]`.
pub fn headers_json(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())
}

/// A fresh event id: `evt_` + a UUIDv7 in hex, so ids sort by creation time.
#[cfg(test)]
impl NewEvent {
    /// A webhook event of `group` and `key` with an empty JSON body and no deliveries.
    pub fn sample(group: &str, key: &str, received_at: i64) -> NewEvent {
        NewEvent {
            id: new_event_id(),
            source: "s".into(),
            dedupe_group: group.into(),
            dedupe_key: key.into(),
            event_type: None,
            via: Via::Webhook,
            received_at,
            occurred_at: None,
            content_type: None,
            headers: Vec::new(),
            body: Bytes::from_static(b"{}"),
            destinations: Vec::new(),
            traceparent: None,
        }
    }
}

pub fn new_event_id() -> String {
    time_ordered_id("evt_")
}

/// `prefix` + a UUIDv7 in hex: the millisecond, then 74 random bits from the thread's
/// CSPRNG (`uuid::Uuid::now_v7` asks the kernel for them, a system call per id).
pub fn time_ordered_id(prefix: &str) -> String {
    let ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let uuid = uuid::Builder::from_unix_timestamp_millis(ms, &rand::random()).into_uuid();
    format!("{prefix}{}", uuid.simple())
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
    /// The W3C `traceparent` of its ingest span, when traces are exported.
    pub traceparent: Option<String>,
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
    /// What verifying it again needs (a request whose body was read): kept only for
    /// `rejected retry`, never shown.
    pub kept: Option<Kept>,
}

/// A rejected request's raw parts: the body as received, every header (signatures
/// included) and the URL a URL-signing provider signed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub url: Option<String>,
}

impl RejectedRequest {
    /// The bytes its record counts against `server.rejected_keep`: what is stored (the
    /// headers as JSON, the source, the error, the kept body, headers and URL) plus a
    /// row's overhead.
    pub fn stored_size(&self, headers_json: &str, kept_headers_json: &str) -> u64 {
        let kept = self
            .kept
            .as_ref()
            .map_or(0, |k| k.body.len() + k.url.as_ref().map_or(0, String::len));
        (headers_json.len() + kept_headers_json.len() + kept + self.source.len() + self.error.len() + 64) as u64
    }

    /// The kept headers as stored (JSON), if any.
    pub fn kept_headers_json(&self) -> Option<String> {
        self.kept.as_ref().map(|k| headers_json(&k.headers))
    }
}

/// A kept rejected request read back for a retry, with its record's id.
#[derive(Clone, Debug)]
pub struct KeptRequest {
    pub id: i64,
    pub source: String,
    pub error: String,
    /// When it was received (unix ms).
    pub at: i64,
    pub kept: Kept,
}

/// Which rejected requests a retry takes: all given conditions hold.
#[derive(Clone, Debug, Default)]
pub struct RejectedFilter {
    pub source: Option<String>,
    pub error: Option<String>,
    /// Received at or after (unix ms).
    pub since: Option<i64>,
    /// Received before (unix ms).
    pub until: Option<i64>,
}

/// How rejected-request records are bounded: all of them together keep at most `keep`
/// bytes; past it the oldest go until `target` (90 %) is left, so pruning is rare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectedKeep {
    pub keep: u64,
}

impl RejectedKeep {
    pub const DEFAULT: RejectedKeep = RejectedKeep { keep: 64 << 20 };

    /// What is left after a prune.
    pub fn target(self) -> u64 {
        self.keep / 10 * 9
    }
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
    /// The W3C `traceparent` its deliveries' spans continue, when traces are exported.
    pub traceparent: Option<String>,
}

/// An event as read back from the store, with its deliveries.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub event: EventRecord,
    pub deliveries: Vec<DeliveryView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_prefixed_uuid_v7s_in_time_order() {
        let first = time_ordered_id("evt_");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let ids: Vec<String> = (0..1000).map(|_| new_event_id()).collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            let hex = id.strip_prefix("evt_").expect("prefixed");
            let uuid = uuid::Uuid::parse_str(hex).expect("a UUID in hex");
            assert_eq!(uuid.get_version_num(), 7);
            assert!(first < *id, "a later millisecond sorts later: {first} {id}");
        }
    }
}
