//! `GET /api/v1/stream` (server-sent events): new events (`event: event`) and delivery
//! outcomes (`event: delivery`) as they happen, optionally only of one `source` or `type`.
//! A listener that falls behind gets `event: lagged` with how many items it missed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::http::AppState;

pub async fn stream(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.feed.subscribe();
    let source = query.get("source").filter(|s| !s.is_empty()).cloned();
    let event_type = query.get("type").filter(|s| !s.is_empty()).cloned();
    let events = futures::stream::unfold(rx, move |mut rx| {
        let (source, event_type) = (source.clone(), event_type.clone());
        async move {
            loop {
                match rx.recv().await {
                    Ok(item) => {
                        if source.as_ref().is_some_and(|s| *s != item.source)
                            || event_type.as_ref().is_some_and(|t| item.event_type.as_ref() != Some(t))
                        {
                            continue;
                        }
                        let event = Event::default().event(item.kind).data(item.data.to_string());
                        return Some((Ok(event), rx));
                    }
                    Err(RecvError::Lagged(n)) => {
                        let event = Event::default().event("lagged").data(n.to_string());
                        return Some((Ok(event), rx));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    // Ends when the app stops, so the admin listener can drain.
    let events = events.take_until(state.closing.clone().cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
