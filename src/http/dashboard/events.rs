//! Events with filters and search (an event id or a dedupe key), one event with its pretty
//! payload, headers, deliveries, every attempt and a replay button, and dead letters with
//! bulk replay.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::Value;

use super::html::{esc, page, post_button, q, table};
use super::pages::{cell, failed};
use super::{Session, check_csrf};
use crate::domain::{EventFilter, ReplaySelection};
use crate::http::AppState;
use crate::http::admin::events as api;

fn status_cell(v: &Value) -> String {
    let s = v.as_str().unwrap_or("");
    format!("<span class=\"{0}\">{0}</span>", esc(s))
}

fn event_rows(items: &[Value]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|e| {
            let id = e["id"].as_str().unwrap_or("");
            vec![
                format!("<a href=\"/events/{}\"><code>{}</code></a>", esc(id), esc(id)),
                cell(&e["source"]),
                cell(&e["type"]),
                status_cell(&e["status"]),
                cell(&e["via"]),
                cell(&e["received_at"]),
                format!("<code>{}</code>", cell(&e["dedupe_key"])),
            ]
        })
        .collect()
}

const HEADER: &[&str] = &["Event", "Source", "Type", "Status", "Via", "Received", "Dedupe key"];

pub async fn list(
    _: Session,
    State(state): State<AppState>,
    Query(mut query): Query<HashMap<String, String>>,
) -> Response {
    // One search box: an event id, else a dedupe key.
    if let Some(search) = query.remove("q").filter(|s| !s.trim().is_empty()) {
        let search = search.trim().to_string();
        if matches!(state.store.event(&search).await, Ok(Some(_))) {
            return Redirect::to(&format!("/events/{}", q(&search))).into_response();
        }
        query.insert("dedupe_key".into(), search);
    }
    let answer = match api::list(State(state.clone()), Query(query.clone())).await {
        Ok(axum::Json(v)) => v,
        Err(e) => return failed(e),
    };
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    let value = |k: &str| esc(query.get(k).map(String::as_str).unwrap_or(""));
    let options = |current: &str| {
        ["", "pending", "dead", "delivered"]
            .iter()
            .map(|s| {
                let selected = if *s == current { " selected" } else { "" };
                format!(
                    "<option value=\"{s}\"{selected}>{}</option>",
                    if s.is_empty() { "any status" } else { s }
                )
            })
            .collect::<String>()
    };
    let mut body = format!(
        "<form method=\"get\" action=\"/events\"><p><input name=\"q\" placeholder=\"event id or dedupe key\" value=\"{}\"> \
         <input name=\"source\" placeholder=\"source\" value=\"{}\"> <input name=\"type\" placeholder=\"type\" value=\"{}\"> \
         <select name=\"status\">{}</select> <input name=\"since\" placeholder=\"since (1h)\" value=\"{}\"> \
         <button type=\"submit\">Filter</button></p></form>",
        value("dedupe_key"),
        value("source"),
        value("type"),
        options(query.get("status").map(String::as_str).unwrap_or("")),
        value("since"),
    );
    body.push_str(&table(HEADER, &event_rows(&items)));
    if let Some(next) = answer["next_cursor"].as_str() {
        let mut params: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "cursor")
            .map(|(k, v)| format!("{}={}", q(k), q(v)))
            .collect();
        params.push(format!("cursor={}", q(next)));
        body.push_str(&format!(
            "<p><a href=\"/events?{}\">Older →</a></p>",
            esc(&params.join("&"))
        ));
    }
    Html(page("Events", &body)).into_response()
}

pub async fn show(session: Session, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let e = match api::show(State(state.clone()), Path(id.clone())).await {
        Ok(axum::Json(v)) => v,
        Err(e) => return failed(e),
    };
    let csrf = session.csrf;
    let mut body = String::new();
    let facts: Vec<Vec<String>> = api::FACTS
        .iter()
        .map(|k| {
            vec![
                esc(k),
                if *k == "status" {
                    status_cell(&e[*k])
                } else {
                    cell(&e[*k])
                },
            ]
        })
        .collect();
    body.push_str(&table(&["", ""], &facts));
    body.push_str("<p>");
    body.push_str(&post_button(&format!("/events/{id}/replay"), &csrf, "Replay", ""));
    body.push_str("</p><h2>Payload</h2>");
    let payload = e
        .get("payload")
        .or_else(|| e.get("payload_base64"))
        .cloned()
        .unwrap_or(Value::Null);
    body.push_str(&format!(
        "<pre id=\"payload\">{}</pre>",
        esc(&serde_json::to_string_pretty(&payload).unwrap_or_default())
    ));
    body.push_str("<h2>Headers</h2>");
    let headers: Vec<Vec<String>> = e["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| vec![format!("<code>{}</code>", esc(k)), cell(v)])
                .collect()
        })
        .unwrap_or_default();
    body.push_str(&table(&["Name", "Value (signatures are never kept)"], &headers));
    for d in e["deliveries"].as_array().cloned().unwrap_or_default() {
        let dest = d["destination"].as_str().unwrap_or("");
        body.push_str(&format!(
            "<h2>Delivery to {} — {}</h2>",
            esc(dest),
            status_cell(&d["status"])
        ));
        if let Some(err) = d["last_error"].as_str() {
            body.push_str(&format!("<p class=\"muted\">last error: {}</p>", esc(err)));
        }
        let attempts: Vec<Vec<String>> = d["attempts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|a| {
                vec![
                    cell(&a["at"]),
                    cell(&a["status_code"]),
                    format!("{} ms", cell(&a["latency_ms"])),
                    cell(&a["error"]),
                    format!("<code>{}</code>", cell(&a["response_excerpt"])),
                ]
            })
            .collect();
        body.push_str(&format!("<div class=\"attempts\" data-destination=\"{}\">", esc(dest)));
        body.push_str(&table(
            &["Attempt at", "Status", "Latency", "Error", "Response (first KiB)"],
            &attempts,
        ));
        body.push_str("</div><p>");
        let only = format!("<input type=\"hidden\" name=\"destination\" value=\"{}\">", esc(dest));
        body.push_str(&post_button(
            &format!("/events/{id}/replay"),
            &csrf,
            &format!("Replay to {dest}"),
            &only,
        ));
        body.push_str("</p>");
    }
    Html(page(&format!("Event {id}"), &body)).into_response()
}

pub async fn replay(
    _: Session,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = check_csrf(&state, &headers, &form) {
        return refused;
    }
    let destination = form.get("destination").filter(|d| !d.is_empty()).cloned();
    match api::replay_event(&state, id.clone(), destination).await {
        Ok(_) => Redirect::to(&format!("/events/{}", q(&id))).into_response(),
        Err(e) => failed(e),
    }
}

pub async fn dead(
    session: Session,
    State(state): State<AppState>,
    Query(mut query): Query<HashMap<String, String>>,
) -> Response {
    query.insert("status".into(), "dead".into());
    let answer = match api::list(State(state.clone()), Query(query)).await {
        Ok(axum::Json(v)) => v,
        Err(e) => return failed(e),
    };
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    let mut body = String::from("<p>Events with a delivery that used its whole schedule (or met a 410).</p><p>");
    body.push_str(&post_button(
        "/dead/replay",
        &session.csrf,
        "Replay every dead delivery",
        "",
    ));
    body.push_str("</p>");
    body.push_str(&table(HEADER, &event_rows(&items)));
    if let Some(next) = answer["next_cursor"].as_str() {
        body.push_str(&format!("<p><a href=\"/dead?cursor={}\">Older →</a></p>", esc(next)));
    }
    Html(page("Dead letters", &body)).into_response()
}

pub async fn replay_dead(
    _: Session,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = check_csrf(&state, &headers, &form) {
        return refused;
    }
    let selection = ReplaySelection::Matching {
        filter: EventFilter::default(),
        state: "dead".into(),
        destination: None,
        limit: None,
    };
    match api::replay(&state, selection).await {
        Ok(_) => Redirect::to("/dead").into_response(),
        Err(e) => failed(e),
    }
}
