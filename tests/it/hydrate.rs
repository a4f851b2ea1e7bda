//! Hydration against a fake provider API: thin webhooks delivered with the object's current
//! state, a 429 that delays without losing or using a step, 404 as `state: null`, failures
//! retried with the reason `hydrate`, placeholders that would ask another URL (`..`, `.`,
//! empty, missing) failing without a request, and the hydration rate limit.

use std::time::Duration;

use inlet::providers::SchemeSpec;
use serde_json::json;

use crate::provider::{FakeApi, Scripted};
use crate::receiver::Receiver;
use crate::support::{TestApp, eventually, now, signed};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(api: &FakeApi, receiver: &str, hydrate_extra: &str, retry: &str) -> String {
    format!(
        r#"
[sources.shop]
kind = "webhook"
scheme = "standard"
secrets = ["{SECRET}"]

[sources.shop.hydrate]
url = "{api}/objects/{{/id}}"
headers = {{ Authorization = "Bearer api-key" }}
{hydrate_extra}

[destinations.app]
kind = "http"
url = "{receiver}"
retry = {retry}

[[routes]]
from = ["shop"]
to = ["app"]
"#,
        api = api.base
    )
}

async fn post_thin(app: &TestApp, id: &str) {
    let body = format!(r#"{{"id":"{id}","type":"order.updated"}}"#);
    post_body(app, &body, &format!("msg_{id}")).await;
}

/// Posts `body` signed, with `msg` as its webhook id; the stored event's id.
async fn post_body(app: &TestApp, body: &str, msg: &str) -> String {
    let headers = signed(&SchemeSpec::named("standard"), SECRET, body.as_bytes(), now(), msg, "");
    let (status, answer) = app.post("shop", &headers, body.as_bytes()).await;
    assert_eq!(status, 200);
    answer["id"].as_str().expect("id").to_string()
}

fn envelope(r: &crate::receiver::Received) -> serde_json::Value {
    serde_json::from_slice(&r.body).expect("envelope JSON")
}

#[tokio::test]
async fn a_thin_webhook_carrying_only_an_id_is_delivered_with_the_current_state() {
    let api = FakeApi::start(10).await;
    api.set_object("o 1/x", json!({"id": "o 1/x", "status": "paid", "total": 120}));
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(&config(&api, &receiver.url, "", r#"["0s"]"#)).await;
    post_thin(&app, "o 1/x").await;
    let got = receiver.wait_for(1).await;
    let e = envelope(&got[0]);
    assert_eq!(e["payload"], json!({"id": "o 1/x", "type": "order.updated"}));
    assert_eq!(e["state"], json!({"id": "o 1/x", "status": "paid", "total": 120}));
    assert!(e.get("state_status").is_none());
    assert_eq!(
        api.calls()[0].path,
        "/objects/o 1/x",
        "the id went as one percent-encoded segment"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_api_answering_429_then_200_delays_the_delivery_without_losing_it_or_using_a_step() {
    let api = FakeApi::start(10).await;
    api.set_object("o_2", json!({"id": "o_2", "status": "paid"}));
    api.script(1, Scripted::Status(429, Some("1")));
    let receiver = Receiver::start().await;
    // One step only: had the 429 used it, the delivery would be dead.
    let app = TestApp::spawn(&config(&api, &receiver.url, "", r#"["0s"]"#)).await;
    post_thin(&app, "o_2").await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(envelope(&got[0])["state"]["status"], "paid");
    let calls = api.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].at - calls[0].at >= Duration::from_secs(1),
        "waited out the Retry-After"
    );
    let id = app.store.event_ids(10).await.expect("ids")[0].clone();
    // The receiver has the event before the worker records the attempt: wait for that.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let stored = loop {
        let stored = app.store.event(&id).await.expect("reads").expect("event");
        if stored.deliveries[0].state == "delivered" || std::time::Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let attempts = &stored.deliveries[0].attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status_code, Some(429));
    assert!(attempts[0].error.as_deref().is_some_and(|e| e.starts_with("hydrate")));
    assert_eq!(stored.deliveries[0].state, "delivered");
    app.stop().await;
}

#[tokio::test]
async fn a_404_delivers_state_null_with_its_status() {
    let api = FakeApi::start(10).await;
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(&config(&api, &receiver.url, "", r#"["0s"]"#)).await;
    post_thin(&app, "gone").await;
    let got = receiver.wait_for(1).await;
    let e = envelope(&got[0]);
    assert!(e["state"].is_null() && e.get("state").is_some(), "{e}");
    assert_eq!(e["state_status"], 404);
    app.stop().await;
}

#[tokio::test]
async fn a_failing_state_call_fails_the_attempt_with_reason_hydrate_and_is_retried_on_the_schedule() {
    let api = FakeApi::start(10).await;
    api.set_object("o_3", json!({"id": "o_3"}));
    api.script(1, Scripted::Status(500, None));
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(&config(&api, &receiver.url, "", r#"["0s", "1s"]"#)).await;
    post_thin(&app, "o_3").await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "delivered on the second step");
    let id = app.store.event_ids(10).await.expect("ids")[0].clone();
    // The receiver answers before the attempt is recorded: wait for the record.
    let stored = eventually(
        "the delivery recorded as delivered",
        Duration::from_secs(10),
        async || {
            let stored = app.store.event(&id).await.expect("reads").expect("event");
            (stored.deliveries[0].state == "delivered").then_some(stored)
        },
    )
    .await;
    let d = &stored.deliveries[0];
    assert_eq!(d.steps_used, 2, "the failure used a step");
    assert_eq!(d.attempts[0].error.as_deref(), Some("hydrate: HTTP 500"));
    app.stop().await;
}

#[tokio::test]
async fn hydration_calls_respect_the_sources_rate_limit() {
    let api = FakeApi::start(10).await;
    for i in 0..6 {
        api.set_object(&format!("r{i}"), json!({"n": i}));
    }
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(&config(&api, &receiver.url, r#"rate_limit = "2/s""#, r#"["0s"]"#)).await;
    for i in 0..6 {
        post_thin(&app, &format!("r{i}")).await;
    }
    receiver.wait_for(6).await;
    let calls = api.calls();
    assert_eq!(calls.len(), 6);
    let span = calls[5].at - calls[0].at;
    // A burst of 1, then one every 500 ms.
    assert!(span >= Duration::from_millis(2400), "6 calls at 2/s took {span:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_placeholder_rendering_dot_dot_dot_empty_or_nothing_fails_the_attempt_and_asks_nothing() {
    let api = FakeApi::start(10).await;
    // Without the check `/objects/..` is `/`, `/objects/.` and `/objects/` the collection:
    // each would be asked with the source's credentials and its answer delivered.
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(&config(&api, &receiver.url, "", r#"["0s"]"#)).await;
    let cases = [
        (r#"{"id":"..","type":"t"}"#, "is \"..\""),
        (r#"{"id":".","type":"t"}"#, "is \".\""),
        (r#"{"id":"","type":"t"}"#, "is empty"),
        (r#"{"type":"t"}"#, "has no value in the event"),
    ];
    let mut ids = Vec::new();
    for (i, (body, _)) in cases.iter().enumerate() {
        ids.push(post_body(&app, body, &format!("msg_escape_{i}")).await);
    }
    for (id, (body, why)) in ids.iter().zip(cases) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let stored = loop {
            let stored = app.store.event(id).await.expect("reads").expect("event");
            if stored.deliveries[0].state == "dead" || std::time::Instant::now() > deadline {
                break stored;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let d = &stored.deliveries[0];
        assert_eq!(d.state, "dead", "{body}: the only step was used");
        let error = d.attempts[0].error.clone().unwrap_or_default();
        assert!(
            error.starts_with(&format!("hydrate: placeholder {{/id}} {why}")),
            "{body}: {error}"
        );
    }
    assert!(api.calls().is_empty(), "no request was made: {:?}", api.calls());
    assert!(receiver.received().is_empty());
    app.stop().await;
}
