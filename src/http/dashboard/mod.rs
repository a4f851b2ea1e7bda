//! The dashboard on the admin listener: server-rendered pages (`pages.rs`, `events.rs`,
//! HTML in `html.rs`), a login with the admin token that sets an HttpOnly, SameSite=Strict
//! session cookie, and actions that are POSTs carrying a CSRF token (and refused when the
//! browser says they come from another origin). Reads and actions go through the same
//! store calls as the admin API.

mod events;
mod html;
mod pages;

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

use super::AppState;

pub const COOKIE: &str = "inlet_session";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/", get(pages::overview))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::show))
        .route("/events/{id}/replay", post(events::replay))
        .route("/dead", get(events::dead))
        .route("/dead/replay", post(events::replay_dead))
        .route("/rejected", get(pages::rejected))
        .route("/sources", get(pages::sources))
        .route("/sources/{name}/reset-cursor", post(pages::reset_cursor))
}

/// The key sessions and CSRF tokens are derived from: the admin token, or (without one, on
/// a loopback listener) a random key of this process.
fn key(state: &AppState) -> Vec<u8> {
    static RANDOM: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    match &state.settings.admin.token {
        Some(t) => t.expose().as_bytes().to_vec(),
        None => RANDOM.get_or_init(rand::random).to_vec(),
    }
}

fn derive(state: &AppState, purpose: &str) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&key(state)).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(purpose.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The session cookie's value: a MAC of the token, never the token itself.
pub fn session_value(state: &AppState) -> String {
    derive(state, "inlet dashboard session")
}

pub fn csrf_value(state: &AppState) -> String {
    derive(state, "inlet dashboard csrf")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// True when the request carries a valid session cookie (or no token is configured).
pub fn has_session(state: &AppState, headers: &HeaderMap) -> bool {
    if state.settings.admin.token.is_none() {
        return true;
    }
    cookie(headers, COOKIE).is_some_and(|c| bool::from(c.as_bytes().ct_eq(session_value(state).as_bytes())))
}

/// A signed-in dashboard user; without a session, pages redirect to `/login`.
pub struct Session;

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if has_session(state, &parts.headers) {
            Ok(Session)
        } else {
            Err(Redirect::to("/login").into_response())
        }
    }
}

/// The refusal of a form POST without this dashboard's CSRF token or from another origin.
pub fn check_csrf(state: &AppState, headers: &HeaderMap, form: &HashMap<String, String>) -> Option<Response> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let foreign_origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| o != "null" && o.split("://").nth(1) != Some(host));
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    let token_ok = form
        .get("csrf")
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(csrf_value(state).as_bytes())));
    if token_ok && !foreign_origin && !cross_site {
        None
    } else {
        let body = html::page("Refused", "<p>This action must come from the dashboard itself.</p>");
        Some((StatusCode::FORBIDDEN, Html(body)).into_response())
    }
}

async fn login_form(State(state): State<AppState>) -> Response {
    if state.settings.admin.token.is_none() {
        return Redirect::to("/").into_response();
    }
    Html(html::page(
        "Sign in",
        "<form method=\"post\" action=\"/login\"><p><label>Admin token <input type=\"password\" name=\"token\" autofocus></label> \
         <button type=\"submit\">Sign in</button></p></form>",
    ))
    .into_response()
}

async fn login(State(state): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let Some(token) = &state.settings.admin.token else {
        return Redirect::to("/").into_response();
    };
    let given = form.get("token").map(String::as_str).unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
        let body = "<p class=\"dead\">That is not the admin token.</p><form method=\"post\" action=\"/login\"><p><label>Admin token \
                    <input type=\"password\" name=\"token\" autofocus></label> <button type=\"submit\">Sign in</button></p></form>";
        return (StatusCode::UNAUTHORIZED, Html(html::page("Sign in", body))).into_response();
    }
    let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", session_value(&state));
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = check_csrf(&state, &headers, &form) {
        return refused;
    }
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}
