//! A real HTTP receiver on 127.0.0.1:0 standing in for the user's endpoint: it records
//! every request, answers from a script (status, Retry-After, delay), and counts how many
//! requests it holds at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<&'static str>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            retry_after: None,
            delay: Duration::ZERO,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Inner {
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<Reply>>,
    received: Mutex<Vec<Received>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}/events", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, inner }
    }

    /// Answers the next requests with these replies, then with the fallback (200).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.script.lock().expect("script").extend(replies);
    }

    /// Answers every request not scripted with `reply`.
    pub fn always(&self, reply: Reply) {
        *self.inner.fallback.lock().expect("fallback") = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().expect("received").clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// Waits (up to 20 s) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..2000 {
            if self.received().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.received()
    }
}

async fn handle(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let reply = inner
        .script
        .lock()
        .expect("script")
        .pop_front()
        .or_else(|| inner.fallback.lock().expect("fallback").clone())
        .unwrap_or(Reply::status(200));
    inner
        .received
        .lock()
        .expect("received")
        .push(Received { headers, body });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut response = (StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK), "ok").into_response();
    if let Some(ra) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", ra.parse().expect("header value"));
    }
    response
}
