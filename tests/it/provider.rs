//! A fake provider API on 127.0.0.1:0 for poll tests: a list of items the test edits while
//! inlet polls, served like real APIs serve them (a strict `updated_after` filter, pages of
//! `page_size` by `after_id` or `page`), answers scripted by call number, and a log of calls.
//! `/endless` has new items on every page (`/endless-newest-first`: each page older); `/first-page-only` ignores `page` and answers
//! page 1 forever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A scripted answer for one call.
#[derive(Clone, Debug)]
pub enum Scripted {
    /// This status (with this Retry-After) instead of the page.
    Status(u16, Option<&'static str>),
    /// The page, after this delay.
    Hold(Duration),
}

#[derive(Clone, Debug)]
pub struct Call {
    pub at: Instant,
    pub path: String,
    pub query: HashMap<String, String>,
}

#[derive(Default)]
struct Inner {
    items: Mutex<Vec<Value>>,
    objects: Mutex<HashMap<String, Value>>,
    script: Mutex<HashMap<usize, Scripted>>,
    calls: Mutex<Vec<Call>>,
    page_size: usize,
    /// Every `/items` answer waits this long (0 = none).
    delay_ms: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicUsize,
    max_in_flight: std::sync::atomic::AtomicUsize,
}

#[derive(Clone)]
pub struct FakeApi {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    inner: Arc<Inner>,
}

impl FakeApi {
    pub async fn start(page_size: usize) -> FakeApi {
        let inner = Arc::new(Inner {
            page_size,
            ..Inner::default()
        });
        let app = axum::Router::new()
            .route("/items", axum::routing::get(items))
            .route("/endless", axum::routing::get(endless))
            .route("/endless-newest-first", axum::routing::get(endless_newest_first))
            .route("/first-page-only", axum::routing::get(first_page_only))
            .route("/objects/{id}", axum::routing::get(object))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeApi { base, inner }
    }

    /// Adds an item `{"id", "updated", "type": "item.updated"}`.
    pub fn put(&self, id: &str, updated: i64) {
        self.inner
            .items
            .lock()
            .expect("items")
            .push(json!({ "id": id, "updated": updated, "type": "item.updated" }));
    }

    /// Makes every `/items` answer wait `d`.
    pub fn delay_all(&self, d: Duration) {
        self.inner
            .delay_ms
            .store(d.as_millis() as u64, std::sync::atomic::Ordering::SeqCst);
    }

    /// The most `/items` calls that were answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sets the current state of object `id` (served at `/objects/{id}`).
    pub fn set_object(&self, id: &str, state: Value) {
        self.inner
            .objects
            .lock()
            .expect("objects")
            .insert(id.to_string(), state);
    }

    /// Answers call number `n` (1-based, counting every call) with `answer`.
    pub fn script(&self, n: usize, answer: Scripted) {
        self.inner.script.lock().expect("script").insert(n, answer);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.calls.lock().expect("calls").clone()
    }

    /// Waits (up to 20 s) until at least `n` calls arrived.
    pub async fn wait_for_calls(&self, n: usize) -> Vec<Call> {
        for _ in 0..2000 {
            if self.calls().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.calls()
    }
}

/// Records the call and returns its scripted answer, if any.
fn record(inner: &Inner, path: &str, query: &HashMap<String, String>) -> Option<Scripted> {
    let mut calls = inner.calls.lock().expect("calls");
    calls.push(Call {
        at: Instant::now(),
        path: path.to_string(),
        query: query.clone(),
    });
    inner.script.lock().expect("script").remove(&calls.len())
}

/// Plays a scripted answer: a status replaces the normal answer, a hold delays it.
async fn play(answer: Option<Scripted>) -> Option<Response> {
    match answer {
        Some(Scripted::Status(status, retry_after)) => {
            let mut r = (StatusCode::from_u16(status).expect("status"), "scripted").into_response();
            if let Some(ra) = retry_after {
                r.headers_mut().insert("retry-after", ra.parse().expect("value"));
            }
            Some(r)
        }
        Some(Scripted::Hold(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        None => None,
    }
}

async fn items(State(inner): State<Arc<Inner>>, Query(q): Query<HashMap<String, String>>) -> Response {
    use std::sync::atomic::Ordering::SeqCst;
    let now = inner.in_flight.fetch_add(1, SeqCst) + 1;
    inner.max_in_flight.fetch_max(now, SeqCst);
    let delay = inner.delay_ms.load(SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let answer = page(&inner, q).await;
    inner.in_flight.fetch_sub(1, SeqCst);
    answer
}

async fn page(inner: &Inner, q: HashMap<String, String>) -> Response {
    if let Some(r) = play(record(inner, "/items", &q)).await {
        return r;
    }
    let mut list = inner.items.lock().expect("items").clone();
    list.sort_by_key(|i| {
        (
            i["updated"].as_i64().unwrap_or(0),
            i["id"].as_str().unwrap_or("").to_string(),
        )
    });
    if let Some(after) = q.get("updated_after").and_then(|v| v.parse::<i64>().ok()) {
        list.retain(|i| i["updated"].as_i64().unwrap_or(0) > after);
    }
    if let Some(after_id) = q.get("after_id")
        && let Some(pos) = list.iter().position(|i| i["id"].as_str() == Some(after_id.as_str()))
    {
        list.drain(..=pos);
    }
    if let Some(page) = q.get("page").and_then(|p| p.parse::<usize>().ok()) {
        let skip = page.saturating_sub(1) * inner.page_size;
        list.drain(..skip.min(list.len()));
    }
    let has_more = list.len() > inner.page_size;
    list.truncate(inner.page_size);
    Json(json!({ "data": list, "has_more": has_more })).into_response()
}

/// An object's current state, or 404.
async fn object(State(inner): State<Arc<Inner>>, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    let path = format!("/objects/{id}");
    if let Some(r) = play(record(&inner, &path, &HashMap::new())).await {
        return r;
    }
    match inner.objects.lock().expect("objects").get(&id) {
        Some(state) => Json(state.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "no such object").into_response(),
    }
}

/// Pages that never end: page N holds `page_size` new items.
async fn endless(State(inner): State<Arc<Inner>>, Query(q): Query<HashMap<String, String>>) -> Response {
    record(&inner, "/endless", &q);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let data: Vec<Value> = (0..inner.page_size)
        .map(|i| json!({ "id": format!("p{page}-{i}"), "updated": page }))
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// An API that ignores the `page` parameter: every call gets the first `page_size` items.
async fn first_page_only(State(inner): State<Arc<Inner>>, Query(q): Query<HashMap<String, String>>) -> Response {
    record(&inner, "/first-page-only", &q);
    let mut list = inner.items.lock().expect("items").clone();
    list.truncate(inner.page_size);
    Json(json!({ "data": list })).into_response()
}

async fn endless_newest_first(State(inner): State<Arc<Inner>>, Query(q): Query<HashMap<String, String>>) -> Response {
    record(&inner, "/endless-newest-first", &q);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let data: Vec<Value> = (0..inner.page_size)
        .map(|i| json!({ "id": format!("n{page}-{i}"), "updated": 1_000_000 - page }))
        .collect();
    Json(json!({ "data": data })).into_response()
}
