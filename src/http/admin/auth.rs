//! Who may use the admin API, and how browsers and other sites are kept out:
//! - `Authorization: Bearer TOKEN`, compared in constant time, opens everything;
//! - the dashboard's session cookie opens reads, and writes only with the session's
//!   `X-CSRF-Token` (so a page elsewhere that rides the cookie cannot write);
//! - every `POST` needs `Content-Type: application/json` (a cross-site form or a
//!   `text/plain` fetch cannot send one without a preflight, which is never answered);
//! - without a configured token (a loopback listener only), a request whose `Host` is not
//!   a loopback name or address is refused, so a DNS-rebinding page cannot read the API or
//!   the dashboard ([`loopback_host_only`], layered over the whole admin listener but health).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::http::AppState;
use crate::http::dashboard::Session;

pub const CSRF_HEADER: &str = "x-csrf-token";

pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if writes && !is_json(request.headers()) {
        return ApiError::UnsupportedMediaType("POSTs to the admin API need Content-Type: application/json".into())
            .into_response();
    }
    let Some(token) = &state.settings.admin.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(g) if bool::from(g.as_bytes().ct_eq(token.expose().as_bytes())) => return next.run(request).await,
        Some(_) => return ApiError::Unauthorized("the token is wrong".into()).into_response(),
        None => {}
    }
    match Session::of(&state, request.headers()) {
        Some(_) if !writes => next.run(request).await,
        Some(session) => {
            let csrf = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if csrf.is_some_and(|c| session.csrf_matches(c)) {
                next.run(request).await
            } else {
                ApiError::Forbidden("a write with the dashboard's session needs its X-CSRF-Token".into())
                    .into_response()
            }
        }
        None => ApiError::Unauthorized("send Authorization: Bearer <admin token>".into()).into_response(),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// Without a configured token: refuses (403) a request whose `Host` is not a loopback name
/// or address. With a token, the token is the guard and any `Host` passes.
pub async fn loopback_host_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.settings.admin.token.is_some() || matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok());
    if host.is_some_and(is_loopback_host) {
        next.run(request).await
    } else {
        ApiError::Forbidden(
            "without admin.token only a loopback Host (localhost, 127.0.0.1, [::1]) is served; set admin.token to \
             serve other names"
                .into(),
        )
        .into_response()
    }
}

/// `localhost`, `*.localhost`, 127.0.0.0/8 or `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    let lower = name.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_names_and_addresses_are_loopback_hosts() {
        for ok in [
            "localhost",
            "localhost:8081",
            "127.0.0.1:8081",
            "127.5.6.7",
            "[::1]:8081",
            "[::1]",
            "app.localhost",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for no in [
            "evil.example",
            "evil.example:8081",
            "10.0.0.1:8081",
            "localhost.evil.example",
            "[::2]:80",
            "",
        ] {
            assert!(!is_loopback_host(no), "{no}");
        }
    }
}
