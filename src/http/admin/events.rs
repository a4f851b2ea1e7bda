//! `GET /api/v1/events` (filters, cursor pages newest first, or oldest first `after` a
//! cursor), `GET /api/v1/events/{id}` (headers, payload, deliveries and every attempt),
//! `GET /api/v1/events/{id}/body` (the raw body), `POST /api/v1/events/{id}/replay` and
//! `POST /api/v1/replay` (bulk, by filter and delivery status). A replay re-queues the same
//! deliveries: same event id, same `webhook-id`, same envelope bytes, schedule restarted.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::ApiError;
use crate::config::values::parse_duration;
use crate::destinations::rfc3339_ms;
use crate::domain::{EventFilter, EventStatus, EventSummary, PageStart, ReplaySelection, StoredEvent};
use crate::http::AppState;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

/// An instant from RFC 3339 or a duration back from `now` ("15m").
pub(crate) fn instant(key: &str, text: &str, now: i64) -> Result<i64, ApiError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    parse_duration(text).map(|d| now - d.as_millis() as i64).map_err(|_| {
        ApiError::BadRequest(format!(
            "{key}: {text:?} is neither RFC 3339 nor a duration like \"15m\""
        ))
    })
}

/// The event filters of a query string or a JSON body, as text fields.
pub fn filter_from(fields: &HashMap<String, String>, state: &AppState) -> Result<EventFilter, ApiError> {
    let now = chrono::Utc::now().timestamp_millis();
    let text = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
    let status = match text("status") {
        None => None,
        Some(s) => Some(
            EventStatus::parse(&s)
                .ok_or_else(|| ApiError::BadRequest(format!("status {s:?}: use pending, dead or delivered")))?,
        ),
    };
    let mut groups: Vec<String> = state
        .settings
        .sources
        .values()
        .map(|s| s.dedupe_group().to_string())
        .collect();
    groups.sort();
    groups.dedup();
    Ok(EventFilter {
        source: text("source"),
        event_type: text("type"),
        status,
        destination: text("destination"),
        since: text("since").map(|v| instant("since", &v, now)).transpose()?,
        until: text("until").map(|v| instant("until", &v, now)).transpose()?,
        dedupe_key: text("dedupe_key"),
        dedupe_groups: groups,
    })
}

/// The scalar fields of an event's JSON ([`summary`]), in the order people read them:
/// the CLI's `events show` and the dashboard's event page list these.
pub const FACTS: [&str; 8] = [
    "id",
    "source",
    "type",
    "status",
    "via",
    "dedupe_key",
    "received_at",
    "occurred_at",
];

fn summary(e: &EventSummary) -> Value {
    json!({
        "id": e.id,
        "source": e.source,
        "type": e.event_type,
        "dedupe_key": e.dedupe_key,
        "status": e.status.as_str(),
        "via": e.via.as_str(),
        "received_at": rfc3339_ms(e.received_at),
        "occurred_at": e.occurred_at.map(rfc3339_ms),
    })
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let filter = filter_from(&query, &state)?;
    let limit = limit(&query)?;
    let start = match (cursor(&query, "cursor")?, cursor(&query, "after")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give cursor (older, newest first) or after (newer, oldest first), not both".into(),
            ));
        }
        (Some(before), None) => PageStart::Before(before),
        (None, Some(after)) => PageStart::After(after),
        (None, None) => PageStart::Newest,
    };
    let page = state.store.list_events(filter, start, limit).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|(position, e)| {
            let mut item = summary(e);
            item["cursor"] = Value::String(position.to_string());
            item
        })
        .collect();
    Ok(Json(json!({
        "items": items,
        "next_cursor": page.next.map(|n| n.to_string()),
    })))
}

pub fn limit(query: &HashMap<String, String>) -> Result<usize, ApiError> {
    Ok(positive(query, "limit")?.map_or(DEFAULT_LIMIT, |n| n.min(MAX_LIMIT)))
}

/// `fields[key]` as a positive number, if given.
fn positive(fields: &HashMap<String, String>, key: &str) -> Result<Option<usize>, ApiError> {
    fields
        .get(key)
        .map(|v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::BadRequest(format!("{key} {v:?} is not a positive number")))
        })
        .transpose()
}

/// The cursor in `query[key]`, if given.
pub fn cursor(query: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ApiError> {
    query
        .get(key)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::BadRequest(format!("{key} {c:?} is not a cursor this API gave")))
        })
        .transpose()
}

pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let stored = state
        .store
        .event(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no event {id:?}")))?;
    Ok(Json(detail(&stored)))
}

/// `GET /api/v1/events/{id}/body`: the body exactly as it arrived, with its content type
/// (what `inlet listen` forwards byte for byte).
pub async fn body(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let stored = state
        .store
        .event(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no event {id:?}")))?;
    let event = stored.event;
    let content_type = event
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let headers = [
        (http::header::CONTENT_TYPE, content_type),
        (
            http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    Ok((headers, event.body).into_response())
}

/// One event as the API and the dashboard show it.
pub fn detail(stored: &StoredEvent) -> Value {
    let e = &stored.event;
    let mut out = match summary(&EventSummary {
        id: e.id.clone(),
        source: e.source.clone(),
        event_type: e.event_type.clone(),
        dedupe_key: e.dedupe_key.clone(),
        status: EventStatus::of(stored.deliveries.iter().map(|d| d.state.as_str())),
        via: e.via,
        received_at: e.received_at,
        occurred_at: e.occurred_at,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut headers = Map::new();
    for (k, v) in &e.headers {
        headers.insert(k.clone(), Value::String(v.clone()));
    }
    out.insert("headers".into(), Value::Object(headers));
    match serde_json::from_slice::<Value>(&e.body) {
        Ok(payload) => out.insert("payload".into(), payload),
        Err(_) => out.insert(
            "payload_base64".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(&e.body)),
        ),
    };
    let deliveries: Vec<Value> = stored
        .deliveries
        .iter()
        .map(|d| {
            json!({
                "id": format!("{}/{}", e.id, d.destination),
                "destination": d.destination,
                "status": d.state,
                "next_attempt_at": (d.state == "pending").then(|| rfc3339_ms(d.next_attempt_at)),
                "last_error": d.last_error,
                "attempts": d.attempts.iter().map(|a| json!({
                    "at": rfc3339_ms(a.at),
                    "status_code": a.status_code,
                    "latency_ms": a.latency_ms,
                    "error": a.error,
                    "response_excerpt": a.response_excerpt,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    out.insert("deliveries".into(), Value::Array(deliveries));
    Value::Object(out)
}

/// The JSON body of a replay request as text fields (`{}` or empty: none).
pub(crate) fn body_fields(body: &Bytes) -> Result<HashMap<String, String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(HashMap::new());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::BadRequest("the body must be a JSON object".into()));
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

pub async fn replay_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let fields = body_fields(&body)?;
    replay_event(&state, id, fields.get("destination").cloned()).await
}

/// Re-queues one event's deliveries (to `destination` only, if given); 404 for an
/// unknown event. The API and the dashboard's Replay button.
pub async fn replay_event(state: &AppState, id: String, destination: Option<String>) -> Result<Json<Value>, ApiError> {
    if state.store.event(&id).await?.is_none() {
        return Err(ApiError::NotFound(format!("no event {id:?}")));
    }
    replay(state, ReplaySelection::Event { id, destination }).await
}

pub async fn replay_matching(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let fields = body_fields(&body)?;
    let filter = filter_from(&fields, &state)?;
    let delivery_status = fields.get("delivery_status").cloned().unwrap_or_else(|| "dead".into());
    if !["dead", "delivered", "skipped_stale"].contains(&delivery_status.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "delivery_status {delivery_status:?}: use dead, delivered or skipped_stale"
        )));
    }
    let destination = fields.get("destination").cloned();
    if fields.get("count").is_some_and(|c| c == "true") {
        let n = state.store.count_replay(filter, delivery_status, destination).await?;
        return Ok(Json(json!({ "matching": n })));
    }
    // A bulk replay's limit is not capped like a page's: it is how many to re-queue.
    let limit = positive(&fields, "limit")?;
    let selection = ReplaySelection::Matching {
        filter,
        state: delivery_status,
        destination,
        limit,
    };
    replay(&state, selection).await
}

/// Re-queues the selection now and wakes the delivery workers (on this node; the store's
/// `listen` wakes the others).
pub async fn replay(state: &AppState, selection: ReplaySelection) -> Result<Json<Value>, ApiError> {
    let n = state
        .store
        .replay(selection, chrono::Utc::now().timestamp_millis())
        .await?;
    state.wakeup.notify_waiters();
    Ok(Json(json!({ "replayed": n })))
}
