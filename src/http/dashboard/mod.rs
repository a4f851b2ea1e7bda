//! The dashboard on the admin listener: server-rendered pages (`pages.rs`, `events.rs`,
//! HTML in `html.rs`), a login with the admin token that starts a random session
//! (`session.rs`) in an HttpOnly, SameSite=Strict cookie (`Secure` behind an https proxy),
//! and actions that are POSTs carrying the session's CSRF token (and refused when the
//! browser says they come from another origin). Every answer carries a
//! `Content-Security-Policy` with `frame-ancestors 'none'`. Reads and actions go through
//! the same store calls as the admin API.

mod events;
mod html;
mod operating;
mod pages;
pub mod session;

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
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
        .route("/destinations/{name}/{action}", post(operating::set_paused))
        .route("/rejected/retry", post(operating::retry))
        .layer(axum::middleware::map_response(security_headers))
}

/// The CSRF token when no admin token is configured (a loopback listener, no sign-in):
/// random for this process.
fn process_csrf() -> String {
    static RANDOM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RANDOM.get_or_init(|| hex::encode(rand::random::<[u8; 32]>())).clone()
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

/// A signed-in dashboard user (or anyone, when no token is configured) and the CSRF token
/// its forms carry; without a session, pages redirect to `/login`.
pub struct Session {
    /// The session's id; `None` without a configured token.
    id: Option<String>,
    pub csrf: String,
}

impl Session {
    /// The live session the request's cookie names (any request when no token is set).
    pub fn of(state: &AppState, headers: &HeaderMap) -> Option<Session> {
        if state.settings.admin.token.is_none() {
            return Some(Session {
                id: None,
                csrf: process_csrf(),
            });
        }
        let id = cookie(headers, COOKIE)?;
        let csrf = state.sessions.csrf(&id)?;
        Some(Session { id: Some(id), csrf })
    }

    /// True when `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Session::of(state, &parts.headers).ok_or_else(|| Redirect::to("/login").into_response())
    }
}

/// The refusal of a form POST without its session's CSRF token or from another origin.
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
    let token_ok = Session::of(state, headers)
        .zip(form.get("csrf"))
        .is_some_and(|(session, given)| session.csrf_matches(given));
    if token_ok && !foreign_origin && !cross_site {
        None
    } else {
        let body = html::page("Refused", "<p>This action must come from the dashboard itself.</p>");
        Some((StatusCode::FORBIDDEN, Html(body)).into_response())
    }
}

/// True when the browser reached the admin listener over https (through a proxy that says
/// so): the session cookie then carries `Secure`.
fn over_https(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    text("x-forwarded-proto").eq_ignore_ascii_case("https")
        || text("forwarded")
            .split([';', ','])
            .any(|kv| kv.trim().eq_ignore_ascii_case("proto=https"))
}

fn session_cookie(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

/// The headers every dashboard page and answer carries: no framing, no scripts, nothing
/// loaded from elsewhere.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
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

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(token) = &state.settings.admin.token else {
        return Redirect::to("/").into_response();
    };
    let given = form.get("token").map(String::as_str).unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
        let body = "<p class=\"dead\">That is not the admin token.</p><form method=\"post\" action=\"/login\"><p><label>Admin token \
                    <input type=\"password\" name=\"token\" autofocus></label> <button type=\"submit\">Sign in</button></p></form>";
        return (StatusCode::UNAUTHORIZED, Html(html::page("Sign in", body))).into_response();
    }
    let (id, _) = state.sessions.start();
    let cookie = session_cookie(&id, session::LIFETIME.as_secs(), over_https(&headers));
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
    if let Some(id) = Session::of(&state, &headers).and_then(|s| s.id) {
        state.sessions.end(&id);
    }
    let cookie = session_cookie("", 0, over_https(&headers));
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}
