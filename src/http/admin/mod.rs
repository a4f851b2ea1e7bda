//! The admin listener: `/api/v1/*` behind the bearer token, health checks without it. Only
//! routing, auth and the JSON error shape live here; each resource has its own file.

pub(crate) mod alerts;
mod auth;
pub(crate) mod destinations;
pub(crate) mod events;
mod metrics;
pub mod openapi;
pub(crate) mod rejected;
pub(crate) mod sources;
mod stream;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::AppState;

/// The routes of CONTRACT §6 (events, replay, rejected, stream, sources and `reset-cursor`,
/// destinations, `/metrics`: all behind the token), `/healthz`, `/readyz`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/events", get(events::list))
        .route("/api/v1/events/{id}", get(events::show))
        .route("/api/v1/events/{id}/body", get(events::body))
        .route("/api/v1/events/{id}/replay", post(events::replay_one))
        .route("/api/v1/replay", post(events::replay_matching))
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/rejected", get(rejected::list))
        .route("/api/v1/rejected/retry", post(rejected::retry))
        .route("/api/v1/stream", get(stream::stream))
        .route("/api/v1/sources", get(sources::list))
        .route("/api/v1/sources/{name}/reset-cursor", post(sources::reset_cursor))
        .route("/api/v1/destinations", get(destinations::list))
        .route("/api/v1/destinations/{name}/pause", post(destinations::pause))
        .route("/api/v1/destinations/{name}/resume", post(destinations::resume))
        .route("/metrics", get(metrics::scrape))
        .route("/api/openapi.json", get(openapi::serve))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .merge(api)
        .merge(super::dashboard::routes())
        .merge(super::health::routes())
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::loopback_host_only,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), read_body_in_time))
        .with_state(state)
}

/// Request bodies on the admin listener: at most this many bytes (a replay filter, a login).
const ADMIN_BODY: usize = 64 * 1024;

/// Reads the whole request body within `server.read_timeout` (a stalled `POST /login`
/// cannot hold a connection and its task) and at most [`ADMIN_BODY`], before any handler.
async fn read_body_in_time(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, ADMIN_BODY);
    match tokio::time::timeout(state.settings.server.read_timeout, read).await {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => ApiError::BadRequest("the body is unreadable or over 64 KiB".into()).into_response(),
        Err(_) => ApiError::Timeout("the body did not arrive in time".into()).into_response(),
    }
}

/// The admin API's errors: `{"error": CODE, "detail": TEXT}`.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized(String),
    /// 403: authenticated the wrong way for this request (a cookie write without its CSRF
    /// token, a foreign `Host` without a configured token).
    Forbidden(String),
    NotFound(String),
    /// 408: the request body did not arrive within the read timeout.
    Timeout(String),
    /// 415: a POST without `Content-Type: application/json`.
    UnsupportedMediaType(String),
    Unavailable(String),
}

impl ApiError {
    /// The HTTP status, the error code and the detail: the API answers them as JSON, the
    /// dashboard as a page.
    pub fn parts(self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest(d) => (StatusCode::BAD_REQUEST, "bad_request", d),
            ApiError::Unauthorized(d) => (StatusCode::UNAUTHORIZED, "unauthorized", d),
            ApiError::Forbidden(d) => (StatusCode::FORBIDDEN, "unauthorized", d),
            ApiError::Timeout(d) => (StatusCode::REQUEST_TIMEOUT, "bad_request", d),
            ApiError::UnsupportedMediaType(d) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_request", d),
            ApiError::NotFound(d) => (StatusCode::NOT_FOUND, "not_found", d),
            ApiError::Unavailable(d) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", d),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        (status, Json(json!({ "error": code, "detail": detail }))).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}
