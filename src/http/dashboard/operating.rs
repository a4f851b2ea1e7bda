//! The dashboard's operating controls: the open alerts shown first on the overview, each
//! destination's Pause/Resume button, and the rejected page's Retry button with the count
//! it would retry. Every button posts with the session's CSRF token and calls the same
//! handler as the admin API.

use std::collections::HashMap;

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::html::{esc, page, post_button, table};
use super::pages::{cell, failed};
use super::{Session, check_csrf};
use crate::domain::rfc3339_ms;
use crate::http::AppState;
use crate::http::admin::{alerts, destinations, rejected};

/// The open alerts as the overview's first section.
pub async fn open_alerts(state: &AppState) -> String {
    let open = match alerts::open(state).await {
        Ok(o) => o,
        Err(e) => return format!("<p class=\"dead\">cannot read the alerts: {}</p>", esc(&e.parts().2)),
    };
    if open.is_empty() {
        return "<h2>Open alerts</h2><p>None.</p>".into();
    }
    let rows: Vec<Vec<String>> = open
        .iter()
        .map(|a| {
            vec![
                format!("<span class=\"dead\">{}</span>", esc(a.kind.as_str())),
                esc(&a.subject),
                esc(&rfc3339_ms(a.opened_at)),
                esc(&a.detail),
            ]
        })
        .collect();
    format!(
        "<h2>Open alerts ({})</h2>{}",
        open.len(),
        table(&["Kind", "Subject", "Since", "Detail"], &rows)
    )
}

/// A destination's state and its Pause or Resume button.
pub fn pause_cells(name: &str, paused: bool, csrf: &str) -> [String; 2] {
    if paused {
        [
            "<span class=\"dead\">paused</span>".into(),
            post_button(&format!("/destinations/{name}/resume"), csrf, "Resume", ""),
        ]
    } else {
        [
            "running".into(),
            post_button(&format!("/destinations/{name}/pause"), csrf, "Pause", ""),
        ]
    }
}

/// `POST /destinations/{name}/pause` and `…/resume`: the buttons of the overview.
pub async fn set_paused(
    _: Session,
    State(state): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = check_csrf(&state, &headers, &form) {
        return refused;
    }
    let paused = match action.as_str() {
        "pause" => true,
        "resume" => false,
        other => return failed(crate::http::admin::ApiError::NotFound(format!("no action {other:?}"))),
    };
    match destinations::set_paused(&state, &name, paused).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => failed(e),
    }
}

/// The rejected page's Retry button, naming how many kept requests it would verify again.
pub async fn retry_button(state: &AppState, csrf: &str) -> String {
    let count = rejected::retry(State(state.clone()), Bytes::from_static(b"{\"count\": true}")).await;
    match count {
        Ok(axum::Json(v)) if v["matching"].as_u64().unwrap_or(0) > 0 => format!(
            "<p>{} ({} kept whole; each is verified again with the current config, as of when it arrived)</p>",
            post_button(
                "/rejected/retry",
                csrf,
                &format!("Retry {} rejected requests", cell(&v["matching"])),
                ""
            ),
            cell(&v["matching"])
        ),
        Ok(_) => "<p>No rejected request is kept for a retry.</p>".into(),
        Err(e) => format!("<p class=\"dead\">{}</p>", esc(&e.parts().2)),
    }
}

pub async fn retry(
    _: Session,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = check_csrf(&state, &headers, &form) {
        return refused;
    }
    match rejected::retry(State(state), Bytes::from_static(b"{}")).await {
        Ok(axum::Json(v)) => {
            let body = format!(
                "<p>Retried {}: {} accepted as new events, {} already stored, {} still rejected.</p><p><a href=\"/rejected\">Back to rejected requests</a></p>",
                cell(&v["retried"]),
                cell(&v["accepted"]),
                cell(&v["duplicates"]),
                cell(&v["still_rejected"])
            );
            Html(page("Rejected requests retried", &body)).into_response()
        }
        Err(e) => failed(e),
    }
}
