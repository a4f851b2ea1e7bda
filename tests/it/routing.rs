//! Routes that read the payload: filters, and ordering (one delivery in flight per key, in
//! occurred order; stale versions skipped; a dead delivery releases its key). A receiver
//! that knows each payload's key checks what arrived and how much ran at once per key.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use inlet::providers::SchemeSpec;
use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::receiver::Receiver;
use crate::support::{TestApp, now, signed};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Default)]
struct Seen {
    in_flight: HashMap<String, usize>,
    /// (key, seq) in arrival order.
    order: Vec<(String, i64)>,
    two_in_flight_for_one_key: bool,
    total_in_flight: usize,
    max_total_in_flight: usize,
    /// Event ids answered 500.
    fail: HashSet<String>,
}

/// A receiver that reads `payload.key` / `payload.seq` of each envelope.
async fn keyed_receiver() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = axum::Router::new().fallback(handle).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn handle(State(seen): State<Arc<Mutex<Seen>>>, body: Bytes) -> StatusCode {
    let e: serde_json::Value = serde_json::from_slice(&body).expect("envelope");
    let key = e["payload"]["key"].as_str().unwrap_or("").to_string();
    let seq = e["payload"]["seq"].as_i64().unwrap_or(-1);
    let fail = {
        let mut s = seen.lock().expect("seen");
        let n = s.in_flight.entry(key.clone()).or_default();
        *n += 1;
        if *n > 1 {
            s.two_in_flight_for_one_key = true;
        }
        s.total_in_flight += 1;
        s.max_total_in_flight = s.max_total_in_flight.max(s.total_in_flight);
        s.fail.contains(e["payload"]["event_id"].as_str().unwrap_or(""))
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut s = seen.lock().expect("seen");
    *s.in_flight.entry(key.clone()).or_default() -= 1;
    s.total_in_flight -= 1;
    s.order.push((key, seq));
    if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

fn config(receiver: &str, retry: &str, route_extra: &str) -> String {
    format!(
        r#"
[sources.orders]
kind = "webhook"
scheme = "standard"
secrets = ["{SECRET}"]
id = "/event_id"
occurred_at = "/at"

[destinations.app]
kind = "http"
url = "{receiver}"
concurrency = 16
retry = {retry}

[[routes]]
from = ["orders"]
to = ["app"]
{route_extra}
"#
    )
}

fn order_body(key: &str, seq: i64) -> Vec<u8> {
    serde_json::json!({ "event_id": format!("{key}-{seq}"), "key": key, "seq": seq, "at": 1_700_000_000 + seq })
        .to_string()
        .into_bytes()
}

async fn post(app: &TestApp, body: &[u8]) -> serde_json::Value {
    let headers = signed(&SchemeSpec::named("standard"), SECRET, body, now(), "msg", "");
    let (status, answer) = app.post("orders", &headers, body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn delivery_state(app: &TestApp, id: &str) -> String {
    let e = app.store.event(id).await.expect("reads").expect("event");
    e.deliveries[0].state.clone()
}

#[tokio::test]
async fn two_hundred_events_for_ten_keys_posted_shuffled_arrive_in_per_key_order_one_at_a_time_per_key() {
    let (url, seen) = keyed_receiver().await;
    let ordering = r#"ordering = { key = "/key", version = "/seq" }"#;
    // The first delay lets all 200 be stored before the first is due.
    let app = Arc::new(TestApp::spawn(&config(&url, r#"["2s", "1s"]"#, ordering)).await);
    let mut bodies: Vec<Vec<u8>> = (0..10)
        .flat_map(|k| (0..20).map(move |seq| order_body(&format!("k{k}"), seq)))
        .collect();
    bodies.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    let mut posts = tokio::task::JoinSet::new();
    for chunk in bodies.chunks(20).map(<[Vec<u8>]>::to_vec) {
        let app = app.clone();
        posts.spawn(async move {
            for body in chunk {
                post(&app, &body).await;
            }
        });
    }
    while posts.join_next().await.is_some() {}
    wait_until(|| seen.lock().expect("seen").order.len() >= 200).await;

    {
        let s = seen.lock().expect("seen");
        assert_eq!(s.order.len(), 200);
        assert!(!s.two_in_flight_for_one_key, "never two in flight for one key");
        assert!(
            s.max_total_in_flight > 1,
            "keys run in parallel: {}",
            s.max_total_in_flight
        );
        for k in 0..10 {
            let key = format!("k{k}");
            let seqs: Vec<i64> = s.order.iter().filter(|(kk, _)| *kk == key).map(|(_, q)| *q).collect();
            assert_eq!(seqs, (0..20).collect::<Vec<_>>(), "key {key} in occurred order");
        }
    }

    // An older version arriving late is skipped as stale; a newer one is delivered.
    let stale = post(&app, &order_body("k3", 5)).await;
    assert_eq!(stale["duplicate"], true, "the same event id is a duplicate");
    let old = serde_json::json!({ "event_id": "k3-late", "key": "k3", "seq": 4, "at": 1_700_000_100 }).to_string();
    let old_id = post(&app, old.as_bytes()).await["id"].as_str().expect("id").to_string();
    let new = serde_json::json!({ "event_id": "k3-new", "key": "k3", "seq": 30, "at": 1_700_000_101 }).to_string();
    post(&app, new.as_bytes()).await;
    wait_until(|| seen.lock().expect("seen").order.len() >= 201).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let s = seen.lock().expect("seen");
        assert_eq!(s.order.len(), 201);
        assert_eq!(s.order.last(), Some(&("k3".to_string(), 30)));
    }
    assert_eq!(delivery_state(&app, &old_id).await, "skipped_stale");
    // Counted where people look: the destinations view.
    let view: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/destinations", app.admin))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    let d = &view["items"][0];
    assert_eq!(d["name"], "app");
    assert_eq!(d["deliveries"]["skipped_stale"], 1, "{view}");
    assert_eq!(d["deliveries"]["delivered"], 201, "{view}");
    assert_eq!(d["deliveries"]["pending"], 0, "{view}");
    assert_eq!(d["circuit"], "closed");
    let app = Arc::try_unwrap(app).unwrap_or_else(|_| panic!("the posting tasks are done"));
    app.stop().await;
}

#[tokio::test]
async fn a_key_whose_delivery_went_dead_continues_with_its_next_event() {
    let (url, seen) = keyed_receiver().await;
    seen.lock().expect("seen").fail.insert("kd-1".into());
    let app = TestApp::spawn(&config(&url, r#"["0s"]"#, r#"ordering = { key = "/key" }"#)).await;
    let first = post(&app, &order_body("kd", 1)).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    post(&app, &order_body("kd", 2)).await;
    post(&app, &order_body("kd", 3)).await;
    wait_until(|| seen.lock().expect("seen").order.len() >= 3).await;
    let seqs: Vec<i64> = seen.lock().expect("seen").order.iter().map(|(_, q)| *q).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(delivery_state(&app, &first).await, "dead", "visible as dead");
    app.stop().await;
}

#[tokio::test]
async fn a_filter_passes_only_orders_over_100_in_eur_or_usd() {
    let receiver = Receiver::start().await;
    let filter = r#"filter = [{ at = "/amount", gt = 100 }, { at = "/currency", in = ["eur", "usd"] }]"#;
    let app = TestApp::spawn(&config(&receiver.url, r#"["0s"]"#, filter)).await;
    for (id, amount, currency) in [
        ("f1", "150", "eur"),
        ("f2", "50", "eur"),
        ("f3", "150", "gbp"),
        ("f4", "\"200\"", "usd"),
    ] {
        let body = format!(r#"{{"event_id":"{id}","amount":{amount},"currency":"{currency}"}}"#);
        post(&app, body.as_bytes()).await;
    }
    receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| {
            let e: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
            e["payload"]["event_id"].as_str().unwrap_or("").to_string()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["f1", "f4"]);
    assert_eq!(app.stored().await.len(), 4, "filtered events are still stored");
    app.stop().await;
}
