//! The envelope of CONTRACT §5: the same bytes on every attempt of a delivery. The
//! provider's JSON body is embedded as it arrived (no re-serialisation); other bodies go
//! as `payload_base64`.

use base64::Engine;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::domain::{EventRecord, Hydrated};

#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: Option<&'a str>,
    dedupe_key: &'a str,
    received_at: String,
    occurred_at: Option<String>,
    via: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<String>,
    /// Absent without hydration; `null` (with `state_status`) when the object is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<Option<&'a RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_status: Option<u16>,
}

pub use crate::domain::rfc3339_ms;

fn rfc3339(ms: i64) -> String {
    let format = if ms % 1000 == 0 {
        chrono::SecondsFormat::Secs
    } else {
        chrono::SecondsFormat::Millis
    };
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(format, true)
}

/// The envelope's JSON bytes for `event`.
pub fn envelope_bytes(event: &EventRecord, state: Option<&Hydrated>) -> Vec<u8> {
    let raw: Option<&RawValue> = serde_json::from_slice(&event.body).ok();
    let (state, state_status) = match state {
        None => (None, None),
        Some(Hydrated::State(bytes)) => (Some(serde_json::from_slice::<&RawValue>(bytes).ok()), None),
        Some(Hydrated::Gone { status }) => (Some(None), Some(*status)),
    };
    let envelope = Envelope {
        id: &event.id,
        source: &event.source,
        event_type: event.event_type.as_deref(),
        dedupe_key: &event.dedupe_key,
        received_at: rfc3339_ms(event.received_at),
        occurred_at: event.occurred_at.map(rfc3339),
        via: event.via.as_str(),
        payload: raw,
        payload_base64: raw
            .is_none()
            .then(|| base64::engine::general_purpose::STANDARD.encode(&event.body)),
        state,
        state_status,
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Via;

    fn event(body: &[u8]) -> EventRecord {
        EventRecord {
            id: "evt_1".into(),
            source: "stripe".into(),
            event_type: Some("charge.succeeded".into()),
            dedupe_key: "evt_S".into(),
            via: Via::Webhook,
            received_at: 1_795_723_200_123,
            occurred_at: Some(1_795_723_198_000),
            content_type: None,
            headers: vec![],
            body: body.to_vec(),
            traceparent: None,
        }
    }

    #[test]
    fn a_json_body_is_embedded_byte_for_byte() {
        let bytes = envelope_bytes(&event(br#"{"b": 1,  "a":[2]}"#), None);
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(
            text,
            r#"{"id":"evt_1","source":"stripe","type":"charge.succeeded","dedupe_key":"evt_S","received_at":"2026-11-26T20:00:00.123Z","occurred_at":"2026-11-26T19:59:58Z","via":"webhook","payload":{"b": 1,  "a":[2]}}"#
        );
    }

    #[test]
    fn hydrated_state_is_embedded_and_a_gone_object_is_null_with_its_status() {
        let e = event(br#"{"id": 1}"#);
        let found = String::from_utf8(envelope_bytes(
            &e,
            Some(&Hydrated::State(br#"{"paid": true}"#.to_vec())),
        ))
        .expect("utf-8");
        assert!(
            found.ends_with(r#""payload":{"id": 1},"state":{"paid": true}}"#),
            "{found}"
        );
        let gone = String::from_utf8(envelope_bytes(&e, Some(&Hydrated::Gone { status: 404 }))).expect("utf-8");
        assert!(gone.ends_with(r#""state":null,"state_status":404}"#), "{gone}");
    }

    #[test]
    fn other_bodies_go_as_base64() {
        let text = String::from_utf8(envelope_bytes(&event(b"a=1&b=2"), None)).expect("utf-8");
        assert!(text.ends_with(r#""payload_base64":"YT0xJmI9Mg=="}"#), "{text}");
        assert!(!text.contains("\"payload\""));
    }
}
