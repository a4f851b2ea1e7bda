//! `GET /metrics`: the registry's counters and histograms, plus the gauges read at scrape
//! time: queue depth, oldest pending age and circuit state per destination.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::http::AppState;
use crate::telemetry::metrics::{Gauge, render};

pub async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let stats = state.store.destination_stats().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut depth = Vec::new();
    let mut oldest = Vec::new();
    let mut circuit = Vec::new();
    for name in state.settings.destinations.keys() {
        let labels = vec![("destination".to_string(), name.clone())];
        let s = stats.iter().find(|s| &s.destination == name);
        depth.push(Gauge {
            name: "inlet_queue_depth",
            labels: labels.clone(),
            value: s.map_or(0.0, |s| s.pending as f64),
        });
        oldest.push(Gauge {
            name: "inlet_queue_oldest_seconds",
            labels: labels.clone(),
            value: s
                .and_then(|s| s.oldest_pending_at)
                .map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0),
        });
        let open = state.workers.iter().any(|w| w.name() == name && w.circuit_open());
        circuit.push(Gauge {
            name: "inlet_circuit_open",
            labels,
            value: if open { 1.0 } else { 0.0 },
        });
    }
    depth.extend(oldest);
    depth.extend(circuit);
    let text = render(&depth);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response())
}
