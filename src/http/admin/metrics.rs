//! `GET /metrics`: the registry's counters and histograms, plus the gauges read at scrape
//! time: queue depth, oldest pending age and circuit state per destination (labelled with
//! its name and kind), and the open alerts per kind.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::http::AppState;
use crate::telemetry::metrics::{Gauge, render};

pub async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut depth = Vec::new();
    let mut oldest = Vec::new();
    let mut circuit = Vec::new();
    for row in super::destinations::rows(&state).await? {
        let labels = vec![
            ("destination".to_string(), row.name.to_string()),
            ("kind".to_string(), row.kind.to_string()),
        ];
        depth.push(Gauge {
            name: "inlet_queue_depth",
            labels: labels.clone(),
            value: row.stats.pending as f64,
        });
        oldest.push(Gauge {
            name: "inlet_queue_oldest_seconds",
            labels: labels.clone(),
            value: row.oldest_pending_seconds.unwrap_or(0.0),
        });
        circuit.push(Gauge {
            name: "inlet_circuit_open",
            labels,
            value: if row.circuit_open { 1.0 } else { 0.0 },
        });
    }
    depth.extend(oldest);
    depth.extend(circuit);
    for (kind, n) in super::alerts::open_by_kind(&super::alerts::open(&state).await?) {
        depth.push(Gauge {
            name: "inlet_alerts_open",
            labels: vec![("kind".to_string(), kind.as_str().to_string())],
            value: n as f64,
        });
    }
    let text = render(&depth);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response())
}
