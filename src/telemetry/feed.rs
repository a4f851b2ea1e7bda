//! The live feed behind `GET /api/v1/stream` (and `inlet tail`): new events and delivery
//! outcomes as they happen on this node, broadcast to whoever listens. Publishing never
//! waits; a listener that falls behind misses items (and is told how many).

use serde_json::Value;
use tokio::sync::broadcast;

/// One thing that happened.
#[derive(Clone, Debug)]
pub struct FeedItem {
    /// `event` (a new event stored) or `delivery` (an attempt's outcome).
    pub kind: &'static str,
    pub source: String,
    pub event_type: Option<String>,
    pub data: Value,
}

impl FeedItem {
    /// A newly stored event.
    pub fn new_event(
        source: &str,
        id: &str,
        event_type: Option<String>,
        dedupe_key: &str,
        via: &str,
        received_at: i64,
    ) -> FeedItem {
        FeedItem {
            kind: "event",
            source: source.to_string(),
            data: serde_json::json!({
                "id": id,
                "source": source,
                "type": event_type,
                "dedupe_key": dedupe_key,
                "via": via,
                "received_at": crate::domain::rfc3339_ms(received_at),
            }),
            event_type,
        }
    }
}

pub struct Feed {
    tx: broadcast::Sender<FeedItem>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            tx: broadcast::channel(1024).0,
        }
    }
}

impl Feed {
    /// Whether anyone listens: producers build items only then (the ingest path stays lean).
    pub fn is_listened(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn publish(&self, item: FeedItem) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(item);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.tx.subscribe()
    }
}
