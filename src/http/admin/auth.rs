//! The admin token: `Authorization: Bearer TOKEN` (or the dashboard's session cookie),
//! compared in constant time. Without a configured token (allowed only on a loopback
//! listener) every request passes.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::http::AppState;

pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.settings.admin.token else {
        return next.run(request).await;
    };
    // The dashboard's session cookie also opens the API (its pages' scripts, if any).
    if crate::http::dashboard::has_session(&state, request.headers()) {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(g) if bool::from(g.as_bytes().ct_eq(token.expose().as_bytes())) => next.run(request).await,
        Some(_) => ApiError::Unauthorized("the token is wrong".into()).into_response(),
        None => ApiError::Unauthorized("send Authorization: Bearer <admin token>".into()).into_response(),
    }
}
