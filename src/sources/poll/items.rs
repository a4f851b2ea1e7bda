//! Polled items to events: the dedupe key (`id`, or `id@version`, written exactly as webhook
//! intake writes it, so both sides of a group agree), the type, the occurred time, and the
//! item's cursor value. An item without a usable id or version is skipped, not fatal.

use bytes::Bytes;

use super::page::Item;
use crate::config::{EventTypeSpec, PollSource};
use crate::domain::CursorValue;
use crate::sources::fields::{instant_ms, scalar_text};

/// What an item yields.
#[derive(Debug)]
pub enum ItemDraft {
    Event {
        dedupe_key: String,
        event_type: Option<String>,
        occurred_at: Option<i64>,
        body: Bytes,
        cursor: Option<CursorValue>,
    },
    /// Recorded as a rejected request with this error code.
    Skipped {
        error: &'static str,
        size: u64,
        cursor: Option<CursorValue>,
    },
}

pub fn draft(source: &PollSource, item: Item) -> ItemDraft {
    let v = &item.value;
    let cursor = source
        .cursor
        .as_ref()
        .and_then(|c| v.pointer(&c.field))
        .and_then(CursorValue::from_item);
    let size = item.raw.len() as u64;
    let Some(id) = v.pointer(&source.id).and_then(scalar_text) else {
        return ItemDraft::Skipped {
            error: "missing_id",
            size,
            cursor,
        };
    };
    let dedupe_key = match &source.version {
        None => id,
        Some(p) => match v.pointer(p).and_then(scalar_text) {
            Some(version) => format!("{id}@{version}"),
            None => {
                return ItemDraft::Skipped {
                    error: "missing_version",
                    size,
                    cursor,
                };
            }
        },
    };
    let event_type = match &source.event_type {
        EventTypeSpec::None => None,
        EventTypeSpec::Literal(t) => Some(t.clone()),
        EventTypeSpec::Pointer(p) => v.pointer(p).and_then(scalar_text),
    };
    let occurred_at = source
        .occurred_at
        .as_ref()
        .and_then(|p| v.pointer(p))
        .and_then(instant_ms);
    ItemDraft::Event {
        dedupe_key,
        event_type,
        occurred_at,
        body: Bytes::from(item.raw),
        cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn source(extra: &str) -> PollSource {
        let text = format!(
            "[sources.p]\nkind = \"poll\"\nurl = \"https://api.example.com/items\"\nitems = \"/data\"\nid = \"/id\"\n{extra}"
        );
        let settings = Settings::parse(&text, std::path::Path::new("."), &|_| None).expect("valid");
        match &settings.sources["p"] {
            crate::config::SourceSettings::Poll(p) => p.clone(),
            _ => panic!("a poll source"),
        }
    }

    fn item(json: &str) -> Item {
        Item {
            raw: json.as_bytes().to_vec(),
            value: serde_json::from_str(json).expect("json"),
        }
    }

    #[test]
    fn keys_are_id_or_id_at_version_written_like_webhook_keys() {
        let plain = source("");
        let ItemDraft::Event { dedupe_key, .. } = draft(&plain, item(r#"{"id": 42}"#)) else {
            panic!("an event")
        };
        assert_eq!(dedupe_key, "42");
        let versioned = source("version = \"/updated_at\"\n");
        let ItemDraft::Event { dedupe_key, .. } = draft(
            &versioned,
            item(r#"{"id": "o_1", "updated_at": "2026-11-26T10:00:00Z"}"#),
        ) else {
            panic!("an event")
        };
        assert_eq!(dedupe_key, "o_1@2026-11-26T10:00:00Z");
    }

    #[test]
    fn items_without_a_usable_id_or_version_are_skipped_with_a_reason() {
        let s = source("version = \"/v\"\n");
        assert!(matches!(
            draft(&s, item(r#"{"v": 1}"#)),
            ItemDraft::Skipped {
                error: "missing_id",
                ..
            }
        ));
        assert!(matches!(
            draft(&s, item(r#"{"id": {"nested": 1}, "v": 1}"#)),
            ItemDraft::Skipped {
                error: "missing_id",
                ..
            }
        ));
        assert!(matches!(
            draft(&s, item(r#"{"id": 1}"#)),
            ItemDraft::Skipped {
                error: "missing_version",
                ..
            }
        ));
    }

    #[test]
    fn types_come_from_a_pointer_or_a_literal_and_times_from_occurred_at() {
        let s = source("event_type = \"/type\"\noccurred_at = \"/created\"\n");
        let ItemDraft::Event {
            event_type,
            occurred_at,
            ..
        } = draft(
            &s,
            item(r#"{"id": 1, "type": "charge.succeeded", "created": 1700000000}"#),
        )
        else {
            panic!("an event")
        };
        assert_eq!(event_type.as_deref(), Some("charge.succeeded"));
        assert_eq!(occurred_at, Some(1_700_000_000_000));
        let s = source("event_type_literal = \"order.updated\"\n");
        let ItemDraft::Event { event_type, .. } = draft(&s, item(r#"{"id": 1}"#)) else {
            panic!("an event")
        };
        assert_eq!(event_type.as_deref(), Some("order.updated"));
    }
}
