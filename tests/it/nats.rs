//! The NATS JetStream destination against this machine's NATS server. Skipped (and says
//! so) unless INLET_TEST_NATS names a server, e.g. nats://127.0.0.1:4222 (`.ci/run` sets it).

use std::time::Duration;

use inlet::providers::SchemeSpec;

use crate::support::{TestApp, now, settings, shop_source, signed};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn server() -> Option<String> {
    crate::support::service("INLET_TEST_NATS", "nats://127.0.0.1:4222", "NATS")
}

fn config(url: &str, prefix: &str) -> String {
    let shop = shop_source(SECRET);
    format!(
        r#"{shop}
[destinations.bus]
kind = "nats"
url = "{url}"
subject = "{prefix}.{{source}}.{{type}}"
retry = ["0s", "1s"]

[[routes]]
from = ["shop"]
to = ["bus"]
"#
    )
}

#[tokio::test]
async fn events_land_in_the_stream_with_their_headers_and_a_redelivery_is_deduplicated_by_the_server() {
    let Some(url) = server() else { return };
    let prefix = format!("inlettest{}", uuid::Uuid::now_v7().simple());
    let client = async_nats::connect(&url).await.expect("NATS is reachable");
    let js = async_nats::jetstream::new(client);
    let stream_name = prefix.to_uppercase();
    let mut stream = js
        .create_stream(async_nats::jetstream::stream::Config {
            name: stream_name.clone(),
            subjects: vec![format!("{prefix}.>")],
            ..Default::default()
        })
        .await
        .expect("stream created");

    let app = TestApp::spawn(&config(&url, &prefix)).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let body = format!(r#"{{"n":{n},"type":"order.created"}}"#);
        let headers = signed(
            &SchemeSpec::named("standard"),
            SECRET,
            body.as_bytes(),
            now(),
            &format!("m{n}"),
            "",
        );
        let (status, answer) = app.post("shop", &headers, body.as_bytes()).await;
        assert_eq!(status, 200);
        ids.push(answer["id"].as_str().expect("id").to_string());
    }
    let mut messages = 0;
    for _ in 0..300 {
        messages = stream.info().await.expect("info").state.messages;
        if messages == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(messages, 3);
    let first = stream.get_raw_message(1).await.expect("message 1");
    assert_eq!(
        first.subject.as_str(),
        format!("{prefix}.shop.order.created"),
        "a type's dots make deeper subjects"
    );
    assert_eq!(
        first.headers.get("Nats-Msg-Id").map(|v| v.as_str()),
        Some(ids[0].as_str())
    );
    assert_eq!(first.headers.get("Inlet-Source").map(|v| v.as_str()), Some("shop"));
    let envelope: serde_json::Value = serde_json::from_slice(&first.payload).expect("envelope");
    assert_eq!(envelope["id"], ids[0].as_str());

    // Replay makes inlet publish again; the stream keeps one copy.
    let resp = app
        .client
        .post(format!("{}/api/v1/events/{}/replay", app.admin, ids[0]))
        .bearer_auth("t")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    let mut excerpt = String::new();
    for _ in 0..300 {
        let e = app.store.event(&ids[0]).await.expect("reads").expect("event");
        if let Some(a) = e.deliveries[0].attempts.get(1) {
            excerpt = a.response_excerpt.clone().unwrap_or_default();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(excerpt.contains("duplicate"), "{excerpt}");
    assert_eq!(stream.info().await.expect("info").state.messages, 3);
    app.stop().await;
    js.delete_stream(&stream_name).await.expect("stream deleted");
}

#[tokio::test]
async fn a_subject_no_stream_covers_stops_the_gateway_with_a_clear_error() {
    let Some(url) = server() else { return };
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = format!("inletnostream{}", uuid::Uuid::now_v7().simple());
    let s = settings(&config(&url, &prefix), dir.path());
    let store = std::sync::Arc::new(inlet::store::sqlite::SqliteStore::open(&s.storage.sqlite_path).expect("store"));
    let built = inlet::App::build_with(s, store, std::sync::Arc::new(inlet::workers::SystemClock)).await;
    let error = format!("{:#}", built.err().expect("refused"));
    assert!(
        error.contains("destination bus") && error.contains("no JetStream stream covers subject"),
        "{error}"
    );
    assert!(error.contains(&format!("{prefix}.shop.none")), "{error}");
}

#[tokio::test]
async fn a_stream_deleted_while_running_fails_the_attempt_naming_the_subject() {
    let Some(url) = server() else { return };
    let prefix = format!("inletgone{}", uuid::Uuid::now_v7().simple());
    let client = async_nats::connect(&url).await.expect("NATS is reachable");
    let js = async_nats::jetstream::new(client);
    let stream_name = prefix.to_uppercase();
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream_name.clone(),
        subjects: vec![format!("{prefix}.>")],
        ..Default::default()
    })
    .await
    .expect("stream created");
    let app = TestApp::spawn(&config(&url, &prefix)).await;
    js.delete_stream(&stream_name).await.expect("stream deleted");

    let body = br#"{"n":1,"type":"order.created"}"#;
    let headers = signed(&SchemeSpec::named("standard"), SECRET, body, now(), "gone1", "");
    let (status, answer) = app.post("shop", &headers, body).await;
    assert_eq!(status, 200);
    let id = answer["id"].as_str().expect("id").to_string();
    let mut error = String::new();
    for _ in 0..300 {
        let e = app.store.event(&id).await.expect("reads").expect("event");
        if let Some(a) = e.deliveries[0].attempts.first() {
            error = a.error.clone().unwrap_or_default();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        error.contains("no JetStream stream covers subject") && error.contains(&prefix),
        "{error}"
    );
    app.stop().await;
}
