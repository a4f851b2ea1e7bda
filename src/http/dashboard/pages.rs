//! The overview (open alerts first, ingest and delivery charts over the last hour, queues,
//! circuits and pauses), the sources page (cursors, efficiency, reset) and rejected
//! requests (with the retry button). Each reads the same
//! JSON the admin API answers, so the two never disagree.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::Value;

use super::html::{bars, esc, page, post_button, table};
use super::{Session, check_csrf};
use crate::http::AppState;
use crate::http::admin::{ApiError, destinations, rejected as rejected_api, sources as sources_api};
use crate::telemetry::series::last_hour;

/// A table cell of a JSON value: strings as they are, null as a dash.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "<span class=\"muted\">–</span>".into(),
        Value::String(s) => esc(s),
        other => esc(&other.to_string()),
    }
}

/// An API error as a dashboard page.
pub fn failed(e: ApiError) -> Response {
    let (status, _, text) = e.parts();
    (
        status,
        Html(page("Error", &format!("<p class=\"dead\">{}</p>", esc(&text)))),
    )
        .into_response()
}

pub async fn overview(session: Session, State(state): State<AppState>) -> Response {
    let now = chrono::Utc::now().timestamp_millis();
    let mut body = super::operating::open_alerts(&state).await;
    body.push_str("<h2>Ingest per source (events per minute, last hour)</h2>");
    let ingest = last_hour("ingest", now);
    for name in state.settings.sources.keys() {
        let counts = ingest
            .iter()
            .find(|(l, _)| l == name)
            .map(|(_, c)| c.clone())
            .unwrap_or(vec![0; 60]);
        body.push_str(&bars(name, &counts));
    }
    body.push_str("<h2>Deliveries per destination (attempts per minute, last hour)</h2>");
    let delivered = last_hour("delivered", now);
    let failed_series = last_hour("failed", now);
    for name in state.settings.destinations.keys() {
        let get = |s: &[(String, Vec<u64>)]| {
            s.iter()
                .find(|(l, _)| l == name)
                .map(|(_, c)| c.clone())
                .unwrap_or(vec![0; 60])
        };
        body.push_str(&bars(&format!("{name}: delivered"), &get(&delivered)));
        body.push_str(&bars(&format!("{name}: failed"), &get(&failed_series)));
    }
    let dests = match destinations::list(State(state.clone())).await {
        Ok(axum::Json(v)) => v,
        Err(e) => return failed(e),
    };
    let rows: Vec<Vec<String>> = dests["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let circuit = d["circuit"].as_str().unwrap_or("closed");
            let name = d["name"].as_str().unwrap_or("");
            let [paused, action] = super::operating::pause_cells(name, d["paused"] == true, &session.csrf);
            vec![
                cell(&d["name"]),
                paused,
                cell(&d["kind"]),
                cell(&d["target"]),
                format!("<span class=\"{0}\">{0}</span>", esc(circuit)),
                cell(&d["deliveries"]["pending"]),
                d["oldest_pending_seconds"]
                    .as_f64()
                    .map_or("–".into(), |s| format!("{s:.0} s")),
                cell(&d["deliveries"]["delivered"]),
                cell(&d["deliveries"]["dead"]),
                cell(&d["deliveries"]["skipped_stale"]),
                action,
            ]
        })
        .collect();
    body.push_str("<h2>Destinations</h2>");
    body.push_str(&table(
        &[
            "Destination",
            "State",
            "Kind",
            "Target",
            "Circuit",
            "Queue depth",
            "Oldest pending",
            "Delivered",
            "Dead",
            "Skipped (stale)",
            "",
        ],
        &rows,
    ));
    Html(page("Overview", &body)).into_response()
}

pub async fn sources(session: Session, State(state): State<AppState>) -> Response {
    let list = match sources_api::list(State(state.clone())).await {
        Ok(axum::Json(v)) => v,
        Err(e) => return failed(e),
    };
    let csrf = session.csrf;
    let rows: Vec<Vec<String>> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let st = &s["stats"];
            let name = s["name"].as_str().unwrap_or("");
            let action = if s["kind"] == "poll" {
                post_button(&format!("/sources/{name}/reset-cursor"), &csrf, "Reset cursor", "")
            } else {
                String::new()
            };
            vec![
                cell(&s["name"]),
                cell(&s["kind"]),
                cell(&s["dedupe_group"]),
                cell(&s["status"]),
                cell(&s["cursor"]),
                cell(&s["last_error"]),
                cell(&st["requests"]),
                cell(&st["empty_polls"]),
                cell(&st["new_events"]),
                cell(&st["duplicates"]),
                cell(&st["rate_limited"]),
                st["requests_per_new_event"]
                    .as_f64()
                    .map_or("–".into(), |r| format!("{r:.2}")),
                cell(&st["recovered"]),
                action,
            ]
        })
        .collect();
    let body = table(
        &[
            "Source",
            "Kind",
            "Group",
            "Status",
            "Cursor",
            "Last error",
            "Requests",
            "Empty polls",
            "New",
            "Duplicates",
            "Rate-limited",
            "Requests/new",
            "Recovered",
            "",
        ],
        &rows,
    );
    Html(page("Sources", &body)).into_response()
}

pub async fn reset_cursor(
    _: Session,
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = check_csrf(&state, &headers, &form) {
        return refused;
    }
    match sources_api::reset_cursor(State(state), Path(name)).await {
        Ok(_) => Redirect::to("/sources").into_response(),
        Err(e) => failed(e),
    }
}

pub async fn rejected(
    session: Session,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let retry = super::operating::retry_button(&state, &session.csrf).await;
    let list = match rejected_api::list(State(state), Query(query)).await {
        Ok(axum::Json(v)) => v,
        Err(e) => return failed(e),
    };
    let rows: Vec<Vec<String>> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let headers: Vec<String> = r["headers"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{}: {}", esc(k), cell(v))).collect())
                .unwrap_or_default();
            vec![
                cell(&r["at"]),
                cell(&r["source"]),
                format!("<span class=\"dead\">{}</span>", cell(&r["error"])),
                cell(&r["body_size"]),
                format!("<code>{}</code>", headers.join("<br>")),
            ]
        })
        .collect();
    let mut body = retry;
    body.push_str(&table(
        &["At", "Source", "Kind", "Body bytes", "Headers (secrets redacted)"],
        &rows,
    ));
    if let Some(next) = list["next_cursor"].as_str() {
        body.push_str(&format!(
            "<p><a href=\"/rejected?cursor={}\">Older →</a></p>",
            esc(next)
        ));
    }
    Html(page("Rejected requests", &body)).into_response()
}
