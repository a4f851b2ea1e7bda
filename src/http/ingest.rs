//! `POST /webhooks/{source}`: read the body within `max_body`, the read timeout and the
//! listener's body budget, verify, commit the event with its pending deliveries, and only
//! then answer 200. Every status of the contract's ingest table is decided here.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use serde_json::json;

use super::AppState;
use super::budget::Reservation;
use crate::domain::{Kept, NewEvent, RejectedRequest, Via, new_event_id, time_ordered_id};
use crate::sources::handshake::Answer;
use crate::sources::headers::{REJECTED_HEADER_BYTES, redacted};
use crate::sources::{Accepted, EventDraft, WebhookIntake};
use crate::store::StoreError;
use crate::telemetry::feed::FeedItem;
use crate::telemetry::metrics;
use crate::telemetry::traces::{Name, Span, SpanContext, Value};

/// How long a handler waits for its commit before answering 503 (the sender retries, and
/// dedupe absorbs the retry if the commit did land).
const COMMIT_WAIT: Duration = Duration::from_secs(10);

pub async fn receive(State(state): State<AppState>, Path(source): Path<String>, request: Request) -> Response {
    // Given by the caller (a proxy) or made here; echoed in every answer and in log lines.
    let request_id = parts_request_id(request.headers());
    // A valid `traceparent` makes the provider's span this one's parent.
    let span = Span::start(Name::Ingest, || SpanContext::from_headers(request.headers()));
    span.set("inlet.source", source.as_str());
    let mut response = handle(state, source, request, &request_id, &span).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn handle(state: AppState, source: String, request: Request, request_id: &str, span: &Span) -> Response {
    let Some(intake) = state.intakes.get(&source) else {
        return error(StatusCode::NOT_FOUND, "unknown_source");
    };
    let started = std::time::Instant::now();
    let count = |outcome: &'static str| {
        span.set("inlet.outcome", Value::Static(outcome));
        metrics::inc(
            "inlet_ingest_requests_total",
            &[("source", &source), ("outcome", outcome)],
        )
    };
    let (parts, body) = request.into_parts();
    let max = state.settings.server.max_body;
    let reject = |code: &str, size: u64, kept: Option<Kept>| {
        tracing::info!(source = %source, request_id = %request_id, error = code, body_size = size, "webhook rejected");
        state.store.record_rejected(RejectedRequest {
            source: source.clone(),
            error: code.to_string(),
            at: chrono::Utc::now().timestamp_millis(),
            headers: redacted(&intake.source.spec, &parts.headers),
            body_size: size,
            kept,
        });
    };

    let declared = content_length(&parts.headers);
    if declared.is_some_and(|n| n > max) {
        reject("body_too_large", declared.unwrap_or(0), None);
        count("too_large");
        return error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    }
    // Held until the handler is done with the body: the bytes count against the budget.
    let mut reservation = state.bodies.empty();
    if !reservation.grow(declared.unwrap_or(0)) {
        count("unavailable");
        return unavailable(1);
    }
    let body = match read_body(
        body,
        declared,
        max,
        state.settings.server.read_timeout,
        &mut reservation,
    )
    .await
    {
        Ok(b) => b,
        Err(BodyError::OverBudget) => {
            count("unavailable");
            return unavailable(1);
        }
        Err(BodyError::TooLarge) => {
            reject("body_too_large", max + 1, None);
            count("too_large");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
        }
        Err(BodyError::Timeout) => {
            count("rejected");
            return error(StatusCode::REQUEST_TIMEOUT, "body_timeout");
        }
        Err(BodyError::Broken) => {
            count("rejected");
            return error(StatusCode::BAD_REQUEST, "body_unreadable");
        }
    };

    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = intake.signed_url(state.settings.server.public_url.as_deref(), path_and_query);
    let now = chrono::Utc::now();
    let verified = {
        let _verify = span.child(Name::Verify);
        intake.accept(&parts.headers, &body, url.as_deref(), now.timestamp())
    };
    let draft =
        match verified {
            Ok(Accepted::Event(draft)) => draft,
            Ok(Accepted::Handshake(mut answer)) => {
                if let Some((name, value)) = answer.reveal.take() {
                    // The provider's setup secret, for the operator to read on the admin API.
                    state.store.record_rejected(RejectedRequest {
                        source: source.clone(),
                        error: "handshake_secret".into(),
                        at: chrono::Utc::now().timestamp_millis(),
                        headers: vec![(name.to_string(), value)],
                        body_size: body.len() as u64,
                        kept: None,
                    });
                }
                return handshake(answer);
            }
            Err(refusal) => {
                // Kept whole, so `inlet rejected retry` can verify it again once the config
                // is fixed (a wrong or rotated secret loses nothing).
                // Headers over the record's 16 KiB are no provider's: not kept.
                let headers = all_headers(&parts.headers);
                let kept = (headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>() <= REJECTED_HEADER_BYTES)
                    .then(|| Kept {
                        headers,
                        body: body.to_vec(),
                        url: url.clone(),
                    });
                reject(refusal.code(), body.len() as u64, kept);
                count("rejected");
                let status = match refusal {
                    crate::sources::Refusal::Unverified(_) => StatusCode::UNAUTHORIZED,
                    crate::sources::Refusal::MalformedBody(_) => StatusCode::BAD_REQUEST,
                };
                return error(status, refusal.code());
            }
        };

    let event = new_event(&state, intake, draft, body, now.timestamp_millis(), span.traceparent());
    let received_at = event.received_at;
    // Built only while someone follows the stream.
    let feed_item = state.feed.is_listened().then(|| {
        let e = &event;
        FeedItem::new_event(
            &source,
            &e.id,
            e.event_type.clone(),
            &e.dedupe_key,
            "webhook",
            received_at,
        )
    });
    let (response, outcome) = commit(&state, intake, event, request_id, span).await;
    if outcome == "accepted" {
        crate::telemetry::event_committed(Some(&state.feed), &source, received_at, feed_item);
    }
    count(outcome);
    if outcome != "unavailable" {
        metrics::observe(
            "inlet_ingest_duration_seconds",
            &[],
            metrics::LATENCY_BUCKETS,
            started.elapsed().as_secs_f64(),
        );
    }
    response
}

/// A verified request's event, received at `received_at` (unix ms), with the deliveries
/// its routes give it. A rejected request retried later is built the same way.
pub(crate) fn new_event(
    state: &AppState,
    intake: &WebhookIntake,
    draft: EventDraft,
    body: Bytes,
    received_at: i64,
    traceparent: Option<String>,
) -> NewEvent {
    let source = intake.source.name.as_str();
    NewEvent {
        id: new_event_id(),
        destinations: state.settings.pending_deliveries(
            source,
            draft.event_type.as_deref(),
            &body,
            received_at,
            draft.occurred_at,
        ),
        source: source.to_string(),
        dedupe_group: intake.source.dedupe_group.clone(),
        dedupe_key: draft.dedupe_key,
        event_type: draft.event_type,
        via: Via::Webhook,
        received_at,
        occurred_at: draft.occurred_at,
        content_type: draft.content_type,
        headers: draft.headers,
        body,
        traceparent,
    }
}

/// The 200 answer's body: `{"received": true, "id": …, "duplicate": …}`.
#[derive(serde::Serialize)]
struct Received<'a> {
    received: bool,
    id: &'a str,
    duplicate: bool,
}

/// Commits the event; the answer and its metrics outcome.
async fn commit(
    state: &AppState,
    intake: &WebhookIntake,
    event: NewEvent,
    request_id: &str,
    span: &Span,
) -> (Response, &'static str) {
    let source = intake.source.name.as_str();
    let committing = span.child(Name::Commit);
    let stored = tokio::time::timeout(COMMIT_WAIT, state.store.ingest(event)).await;
    drop(committing);
    match stored {
        Ok(Ok(ingested)) => {
            span.set("inlet.event_id", ingested.id.as_str());
            if !ingested.duplicate {
                state.wakeup.notify_waiters();
            }
            tracing::debug!(source, request_id, id = %ingested.id, duplicate = ingested.duplicate, "webhook accepted");
            let outcome = if ingested.duplicate { "duplicate" } else { "accepted" };
            let answer = Received {
                received: true,
                id: &ingested.id,
                duplicate: ingested.duplicate,
            };
            (Json(answer).into_response(), outcome)
        }
        Ok(Err(StoreError::Busy)) => {
            tracing::warn!(source, request_id, "write queue full: answering 503");
            (unavailable(1), "unavailable")
        }
        Ok(Err(e)) => {
            tracing::error!(source, request_id, error = %e, "commit failed: answering 503");
            (unavailable(5), "unavailable")
        }
        Err(_) => {
            tracing::error!(
                source,
                request_id,
                "commit took longer than {COMMIT_WAIT:?}: answering 503"
            );
            (unavailable(5), "unavailable")
        }
    }
}

/// The caller's `X-Request-Id` when it is short and printable, else a new one.
fn parts_request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| time_ordered_id("req_"), str::to_string)
}

enum BodyError {
    TooLarge,
    Timeout,
    Broken,
    /// The listener's body budget has no room for more bytes.
    OverBudget,
}

/// Reads at most `max` bytes within `timeout`, every byte reserved in `reservation`
/// (which already holds the declared length) before it is buffered; never buffers more
/// than `max`. A body that arrives in one frame is not copied.
async fn read_body(
    mut body: Body,
    declared: Option<u64>,
    max: u64,
    timeout: Duration,
    reservation: &mut Reservation,
) -> Result<Bytes, BodyError> {
    let read = async {
        let mut reserved = declared.unwrap_or(0);
        let mut first: Option<Bytes> = None;
        let mut rest = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| BodyError::Broken)?.into_data() else {
                continue; // trailers
            };
            let len = first.as_ref().map_or(0, Bytes::len) as u64 + rest.len() as u64 + data.len() as u64;
            if len > max {
                return Err(BodyError::TooLarge);
            }
            if len > reserved {
                if !reservation.grow(len - reserved) {
                    return Err(BodyError::OverBudget);
                }
                reserved = len;
            }
            match first.take() {
                None if rest.is_empty() => first = Some(data),
                None => rest.extend_from_slice(&data),
                Some(head) => {
                    rest.reserve(usize::try_from(reserved).unwrap_or(0).saturating_sub(head.len()));
                    rest.extend_from_slice(&head);
                    rest.extend_from_slice(&data);
                }
            }
        }
        Ok(first.unwrap_or_else(|| rest.freeze()))
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

fn unavailable(retry_after: u32) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// A handshake's answer as an HTTP response.
fn handshake(answer: Answer) -> Response {
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.body,
    )
        .into_response();
    for (name, value) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// `GET /webhooks/{source}`: the provider's GET handshake (Meta's `hub.challenge`, X's
/// CRC, Dropbox's `challenge`), or 405 for a provider that has none. Nothing is stored.
pub async fn probe(State(state): State<AppState>, Path(source): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(intake) = state.intakes.get(&source) else {
        return error(StatusCode::NOT_FOUND, "unknown_source");
    };
    match intake.on_get(query.as_deref().unwrap_or("")) {
        Some(answer) => handshake(answer),
        None => error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    }
}

/// Every header of a request as text (a value that is not UTF-8 is read lossily).
fn all_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
