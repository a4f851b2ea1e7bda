//! `GET /api/v1/alerts`: alerts newest first (`state=open|resolved`, cursor pages as every
//! list), and the open alerts by kind for `/metrics` and the dashboard. When alerts open
//! and resolve is `workers::alerts`'s.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use super::ApiError;
use super::events::limit;
use crate::domain::{Alert, AlertFilter, AlertKind, AlertState};
use crate::http::AppState;

/// A page's cursor: the last alert's opening time and id.
fn cursor(query: &HashMap<String, String>) -> Result<Option<(i64, String)>, ApiError> {
    let Some(text) = query.get("cursor").filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let bad = || ApiError::BadRequest(format!("cursor {text:?} is not one this API gave"));
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok(Some((at.parse().map_err(|_| bad())?, id.to_string())))
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let wanted = match query.get("state").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(
            AlertState::parse(s).ok_or_else(|| ApiError::BadRequest(format!("state {s:?}: use open or resolved")))?,
        ),
    };
    let limit = limit(&query)?;
    let mut alerts = state
        .store
        .alerts(AlertFilter {
            state: wanted,
            before: cursor(&query)?,
            limit: limit + 1,
        })
        .await?;
    let next = (alerts.len() > limit).then(|| {
        alerts.truncate(limit);
        alerts.last().map(|a| format!("{}_{}", a.opened_at, a.id))
    });
    let items: Vec<Value> = alerts.iter().map(Alert::to_json).collect();
    Ok(Json(json!({ "items": items, "next_cursor": next.flatten() })))
}

/// The open alerts, newest first.
pub async fn open(state: &AppState) -> Result<Vec<Alert>, ApiError> {
    Ok(state
        .store
        .alerts(AlertFilter {
            state: Some(AlertState::Open),
            before: None,
            limit: 1000,
        })
        .await?)
}

/// How many alerts of each kind are open, every kind listed.
pub fn open_by_kind(open: &[Alert]) -> Vec<(AlertKind, usize)> {
    AlertKind::ALL
        .into_iter()
        .map(|k| (k, open.iter().filter(|a| a.kind == k).count()))
        .collect()
}
