//! `GET /api/v1/rejected`: requests that failed verification or could not be read, newest
//! first, with their KIND; signatures and secrets were redacted before they were stored.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Map, Value, json};

use super::ApiError;
use super::events::{cursor, limit};
use crate::destinations::rfc3339_ms;
use crate::http::AppState;

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let page = state.store.rejected_page(cursor(&query)?, limit(&query)?).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|(id, r)| {
            let headers: Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            json!({
                "id": id.to_string(),
                "source": r.source,
                "error": r.error,
                "at": rfc3339_ms(r.at),
                "headers": headers,
                "body_size": r.body_size,
            })
        })
        .collect();
    Ok(Json(
        json!({ "items": items, "next_cursor": page.next.map(|n| n.to_string()) }),
    ))
}
