//! `GET /api/v1/destinations`: every configured destination with its kind, its target
//! (credentials masked), circuit state, whether it is paused,
//! deliveries by state (pending, delivered, dead, skipped_stale) and the age of its oldest
//! pending delivery. `POST /api/v1/destinations/{name}/pause` and `…/resume`.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::ApiError;
use crate::domain::DestinationStats;
use crate::http::AppState;

/// One configured destination as the API and `/metrics` report it.
pub struct DestinationRow<'a> {
    pub name: &'a str,
    pub kind: &'static str,
    /// Where it delivers, credentials masked.
    pub target: String,
    pub circuit_open: bool,
    pub paused: bool,
    pub stats: DestinationStats,
    pub oldest_pending_seconds: Option<f64>,
}

/// Every configured destination, in config order, with its store counts and circuit.
pub async fn rows(state: &AppState) -> Result<Vec<DestinationRow<'_>>, ApiError> {
    let stats = state.store.destination_stats().await?;
    let now = chrono::Utc::now().timestamp_millis();
    Ok(state
        .settings
        .destinations
        .iter()
        .map(|(name, d)| {
            let stats = stats
                .iter()
                .find(|s| &s.destination == name)
                .cloned()
                .unwrap_or_default();
            DestinationRow {
                name,
                kind: d.kind.name(),
                target: d.kind.target(),
                circuit_open: state.workers.iter().any(|w| w.name() == name && w.circuit_open()),
                paused: state.workers.iter().any(|w| w.name() == name && w.is_paused()),
                oldest_pending_seconds: stats.oldest_pending_at.map(|at| (now - at).max(0) as f64 / 1000.0),
                stats,
            }
        })
        .collect())
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = rows(&state)
        .await?
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "kind": r.kind,
                "target": r.target,
                "circuit": if r.circuit_open { "open" } else { "closed" },
                "paused": r.paused,
                "deliveries": {
                    "pending": r.stats.pending,
                    "delivered": r.stats.delivered,
                    "dead": r.stats.dead,
                    "skipped_stale": r.stats.skipped_stale,
                },
                "oldest_pending_seconds": r.oldest_pending_seconds,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

pub async fn pause(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    set_paused(&state, &name, true).await
}

pub async fn resume(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    set_paused(&state, &name, false).await
}

/// Stores the pause (every node's claims honour it), applies it to this node's worker at
/// once, and on a resume wakes the workers.
pub async fn set_paused(state: &AppState, name: &str, paused: bool) -> Result<Json<Value>, ApiError> {
    let Some(worker) = state.workers.iter().find(|w| w.name() == name) else {
        return Err(ApiError::NotFound(format!("no destination named {name:?}")));
    };
    state
        .store
        .set_paused(name, paused, chrono::Utc::now().timestamp_millis())
        .await?;
    worker.set_paused(paused);
    if !paused {
        state.wakeup.notify_waiters();
    }
    tracing::info!(
        destination = name,
        paused,
        "destination {}",
        if paused { "paused" } else { "resumed" }
    );
    Ok(Json(json!({ "name": name, "paused": paused })))
}
