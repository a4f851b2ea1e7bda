//! `GET /api/v1/rejected`: requests that failed verification or could not be read, newest
//! first, with their KIND and their headers with signatures and secrets redacted (what was
//! kept whole for a retry is never shown). `POST /api/v1/rejected/retry`: each kept request
//! verified again with the source's current config, as of when it was received, and those
//! that pass ingested as if they had arrived then.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::ApiError;
use super::events::{body_fields, cursor, instant, limit};
use crate::destinations::rfc3339_ms;
use crate::domain::{KeptRequest, RejectedFilter};
use crate::http::AppState;
use crate::sources::Accepted;

/// Kept requests read from the store at once during a retry.
const CHUNK: usize = 100;

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let page = state
        .store
        .rejected_page(cursor(&query, "cursor")?, limit(&query)?)
        .await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|(id, r)| {
            let headers: Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            json!({
                "id": id.to_string(),
                "source": r.source,
                "error": r.error,
                "at": rfc3339_ms(r.at),
                "headers": headers,
                "body_size": r.body_size,
            })
        })
        .collect();
    Ok(Json(
        json!({ "items": items, "next_cursor": page.next.map(|n| n.to_string()) }),
    ))
}

/// The retry's filters (`source`, `error`, `since`, `until`) from a JSON body.
fn retry_filter(state: &AppState, body: &Bytes) -> Result<(RejectedFilter, bool), ApiError> {
    let fields = body_fields(body)?;
    let now = chrono::Utc::now().timestamp_millis();
    let text = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
    let source = text("source");
    if let Some(s) = &source
        && !state.intakes.contains_key(s)
    {
        return Err(ApiError::NotFound(format!("no webhook source named {s:?}")));
    }
    let filter = RejectedFilter {
        source,
        error: text("error"),
        since: text("since").map(|v| instant("since", &v, now)).transpose()?,
        until: text("until").map(|v| instant("until", &v, now)).transpose()?,
    };
    Ok((filter, fields.get("count").is_some_and(|c| c == "true")))
}

/// What became of one retried request.
enum Retried {
    Accepted,
    Duplicate,
    StillRejected,
}

pub async fn retry(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let (filter, count_only) = retry_filter(&state, &body)?;
    if count_only {
        let n = state.store.count_kept(filter).await?;
        return Ok(Json(json!({ "matching": n })));
    }
    let (mut retried, mut accepted, mut duplicates, mut still) = (0u64, 0u64, 0u64, 0u64);
    let mut after = 0;
    loop {
        let chunk = state.store.kept_requests(filter.clone(), after, CHUNK).await?;
        let Some(last) = chunk.last() else { break };
        after = last.id;
        for kept in chunk {
            retried += 1;
            match retry_one(&state, kept).await? {
                Retried::Accepted => accepted += 1,
                Retried::Duplicate => duplicates += 1,
                Retried::StillRejected => still += 1,
            }
        }
    }
    if accepted > 0 {
        state.wakeup.notify_waiters();
    }
    tracing::info!(
        retried,
        accepted,
        duplicates,
        still_rejected = still,
        "rejected requests retried"
    );
    Ok(Json(json!({
        "retried": retried,
        "accepted": accepted,
        "duplicates": duplicates,
        "still_rejected": still,
    })))
}

/// Verifies one kept request with its source's current config as of when it arrived, and
/// ingests it as received then (dedupe as usual).
async fn retry_one(state: &AppState, request: KeptRequest) -> Result<Retried, ApiError> {
    let Some(intake) = state.intakes.get(&request.source) else {
        return Ok(Retried::StillRejected);
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &request.kept.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.append(n, v);
        }
    }
    let body = Bytes::from(request.kept.body);
    let at_seconds = request.at.div_euclid(1000);
    let draft = match intake.accept(&headers, &body, request.kept.url.as_deref(), at_seconds) {
        Ok(Accepted::Event(draft)) => draft,
        Ok(Accepted::Handshake(_)) | Err(_) => return Ok(Retried::StillRejected),
    };
    let event = crate::http::ingest::new_event(state, intake, draft, body, request.at, None);
    let ingested = state.store.ingest(event).await?;
    if ingested.duplicate {
        return Ok(Retried::Duplicate);
    }
    crate::telemetry::event_committed(Some(&state.feed), &request.source, request.at, None);
    Ok(Retried::Accepted)
}
