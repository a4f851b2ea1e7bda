//! `GET /api/v1/sources`: every configured source with, for poll sources, the cursor, the
//! pause, the last error and the efficiency and reconciliation counters (the URL masked,
//! never a header).
//! `POST /api/v1/sources/{name}/reset-cursor`: the only way a cursor goes back.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::ApiError;
use crate::config::SourceSettings;
use crate::domain::PollState;
use crate::http::AppState;

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let polled: HashMap<String, PollState> = state.store.poll_states().await?.into_iter().collect();
    let now = chrono::Utc::now().timestamp_millis();
    let items: Vec<Value> = state
        .settings
        .sources
        .iter()
        .map(|(name, source)| match source {
            SourceSettings::Webhook(w) => json!({
                "name": name,
                "kind": "webhook",
                "dedupe_group": w.dedupe_group,
                "scheme": w.spec.name(),
                "path": format!("/webhooks/{name}"),
            }),
            SourceSettings::Poll(p) => {
                let st = polled.get(name).cloned().unwrap_or_default();
                let c = st.counts;
                let status = match (&st.last_error, st.paused_until, st.last_run_at) {
                    (_, Some(until), _) if until > now => "paused",
                    (Some(_), _, _) => "failing",
                    (None, _, None) => "not_run_yet",
                    (None, _, Some(_)) => "ok",
                };
                json!({
                    "name": name,
                    "kind": "poll",
                    "dedupe_group": p.dedupe_group,
                    // Masked: a password or a key in the query stays inside; headers never shown.
                    "url": p.shown_url(),
                    "interval_seconds": p.interval.as_secs(),
                    "idle_interval_seconds": p.idle_interval.as_secs(),
                    "status": status,
                    "cursor": st.cursor.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()),
                    "paused_until": st.paused_until.filter(|u| *u > now).map(rfc3339),
                    "last_run_at": st.last_run_at.map(rfc3339),
                    "next_run_at": st.next_run_at.map(rfc3339),
                    "last_error": st.last_error,
                    "stats": {
                        "runs": c.runs,
                        "requests": c.requests,
                        "empty_polls": c.empty_polls,
                        "items": c.items,
                        "new_events": c.new_events,
                        "duplicates": c.duplicates,
                        "rate_limited": c.rate_limited,
                        "errors": c.errors,
                        "rejected_items": c.rejected_items,
                        "recovered": c.recovered,
                        "requests_per_new_event": c.requests_per_new_event(),
                    },
                })
            }
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

pub async fn reset_cursor(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    match state.settings.sources.get(&name) {
        Some(SourceSettings::Poll(_)) => {}
        Some(SourceSettings::Webhook(_)) => {
            return Err(ApiError::NotFound(format!(
                "{name:?} is a webhook source: it has no cursor"
            )));
        }
        None => return Err(ApiError::NotFound(format!("no source named {name:?}"))),
    }
    state.store.reset_cursor(&name).await?;
    tracing::info!(source = %name, "poll cursor reset");
    Ok(Json(json!({ "source": name, "cursor": null })))
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
