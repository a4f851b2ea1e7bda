//! `GET /api/v1/destinations`: every configured destination with its kind, circuit state,
//! deliveries by state (pending, delivered, dead, skipped_stale) and the age of its oldest
//! pending delivery.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::ApiError;
use crate::http::AppState;

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let stats = state.store.destination_stats().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let items: Vec<Value> = state
        .settings
        .destinations
        .iter()
        .map(|(name, d)| {
            let s = stats
                .iter()
                .find(|s| &s.destination == name)
                .cloned()
                .unwrap_or_default();
            let kind = d.kind.name();
            let circuit_open = state
                .workers
                .iter()
                .find(|w| w.name() == name)
                .is_some_and(|w| w.circuit_open());
            json!({
                "name": name,
                "kind": kind,
                "circuit": if circuit_open { "open" } else { "closed" },
                "deliveries": {
                    "pending": s.pending,
                    "delivered": s.delivered,
                    "dead": s.dead,
                    "skipped_stale": s.skipped_stale,
                },
                "oldest_pending_seconds": s.oldest_pending_at.map(|at| ((now - at).max(0) as f64) / 1000.0),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}
