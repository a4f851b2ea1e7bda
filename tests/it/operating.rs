//! Pausing a destination (nothing attempted, no step used, all delivered on resume, the
//! pause kept across a restart) and retrying rejected requests once the config has the
//! secret they were signed with (ingested once, with their original received time).

use std::time::Duration;

use inlet::providers::SchemeSpec;
use serde_json::{Value, json};

use crate::receiver::Receiver;
use crate::support::{TestApp, destination_view, eventually, now, shop_source, signed};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// `app` (the one paused) and `raw`, a second destination of the same events that keeps
/// delivering: its deliveries show the workers ran while `app` attempted nothing.
fn paused_config(url: &str, witness: &str) -> String {
    format!(
        r#"{}
[destinations.app]
kind = "http"
url = "{url}"

[destinations.raw]
kind = "http"
url = "{witness}"

[[routes]]
from = ["shop"]
to = ["app", "raw"]
"#,
        shop_source(SECRET)
    )
}

async fn admin_post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}{path}", app.admin))
        .bearer_auth("t")
        .json(&body)
        .send()
        .await
        .expect("answered");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_paused_destination_attempts_nothing_keeps_its_pause_across_a_restart_and_delivers_all_on_resume() {
    let (receiver, witness) = (Receiver::start().await, Receiver::start().await);
    let config = paused_config(&receiver.url, &witness.url);
    let app = TestApp::spawn(&config).await;
    let (status, answer) = admin_post(&app, "/api/v1/destinations/app/pause", Value::Null).await;
    assert_eq!((status, answer["paused"].clone()), (200, json!(true)));
    let (status, _) = admin_post(&app, "/api/v1/destinations/nope/pause", Value::Null).await;
    assert_eq!(status, 404, "an unknown destination is not found");

    let mut ids = app.post_many("shop", SECRET, "paused", 5).await;
    app.wait_for_deliveries("raw", "delivered", 5, Duration::from_secs(10))
        .await;
    let view = destination_view(&app.client, &app.admin).await.expect("listed");
    assert_eq!(
        (view["name"].clone(), view["paused"].clone()),
        (json!("app"), json!(true))
    );
    assert_eq!(view["deliveries"]["pending"], 5, "new deliveries wait as pending");
    assert!(receiver.received().is_empty(), "a paused destination is attempted");
    for id in &ids {
        let event = app.store.event(id).await.expect("reads").expect("stored");
        let d = event
            .deliveries
            .iter()
            .find(|d| d.destination == "app")
            .expect("routed to app");
        assert!(d.attempts.is_empty(), "no attempt while paused");
        assert_eq!(
            (d.state.as_str(), d.steps_used),
            ("pending", 0),
            "no step used while paused"
        );
    }

    // The pause is stored: a restart keeps it.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(&config, dir).await;
    let view = destination_view(&app.client, &app.admin).await.expect("listed");
    assert_eq!(view["paused"], true, "the pause survives a restart");
    ids.extend(app.post_many("shop", SECRET, "after-restart", 1).await);
    app.wait_for_deliveries("raw", "delivered", 6, Duration::from_secs(10))
        .await;
    assert!(
        receiver.received().is_empty(),
        "attempted after the restart while paused"
    );

    let (status, answer) = admin_post(&app, "/api/v1/destinations/app/resume", Value::Null).await;
    assert_eq!((status, answer["paused"].clone()), (200, json!(false)));
    app.wait_for_deliveries("app", "delivered", 6, Duration::from_secs(10))
        .await;
    assert_eq!(receiver.received().len(), 6, "each delivered once");
    for id in &ids {
        let event = app.store.event(id).await.expect("reads").expect("stored");
        let d = event
            .deliveries
            .iter()
            .find(|d| d.destination == "app")
            .expect("routed to app");
        assert_eq!(d.attempts.len(), 1, "one attempt after the resume, none before");
    }
    app.stop().await;
}

fn stripe_config(secrets: &[&str]) -> String {
    let secrets: Vec<String> = secrets.iter().map(|s| format!("{s:?}")).collect();
    format!(
        r#"
[admin]
token = "t"

[sources.stripe]
scheme = "stripe"
secrets = [{}]
tolerance = "2s"

[destinations.app]
kind = "file"
path = "out.jsonl"

[[routes]]
from = ["stripe"]
to = ["app"]
"#,
        secrets.join(", ")
    )
}

#[tokio::test]
async fn rejected_requests_signed_with_a_secret_added_later_are_ingested_once_with_their_original_time() {
    let app = TestApp::spawn(&stripe_config(&["whsec_old"])).await;
    // Fresh when received; older than the source's 2 s tolerance by the time of the retry.
    let sent_at = now();
    let mut received = Vec::new();
    let mut requests = Vec::new();
    for i in 0..3 {
        let body = format!(r#"{{"id":"evt_r{i}","type":"charge.succeeded","created":1700000000}}"#);
        let headers = signed(
            &SchemeSpec::named("stripe"),
            "whsec_new",
            body.as_bytes(),
            sent_at,
            "",
            "",
        );
        let (status, answer) = app.post("stripe", &headers, body.as_bytes()).await;
        assert_eq!(status, 401, "signed with a secret the source lacks: {answer}");
        received.push(chrono::Utc::now().timestamp_millis());
        requests.push((headers, body));
    }
    assert_eq!(app.rejected_count(3).await, 3);
    let listed = app.admin_get("/api/v1/rejected").await;
    assert!(
        !listed.to_string().contains("v1="),
        "the kept signature is never shown: {listed}"
    );

    // The secret is added and the gateway restarted; by now the Stripe timestamps are
    // older than the tolerance would allow for a new request.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(&stripe_config(&["whsec_old", "whsec_new"]), dir).await;
    eventually(
        "the signatures to be older than the tolerance",
        Duration::from_secs(10),
        async || (now() - sent_at >= 4).then_some(()),
    )
    .await;
    let (headers, body) = &requests[0];
    let (status, answer) = app.post("stripe", headers, body.as_bytes()).await;
    assert_eq!(
        (status, answer["error"].clone()),
        (401, json!("timestamp_too_old")),
        "sent again now, it is stale"
    );
    assert_eq!(app.rejected_count(4).await, 4);
    let (status, answer) = admin_post(&app, "/api/v1/rejected/retry", json!({ "count": true })).await;
    assert_eq!((status, answer["matching"].clone()), (200, json!(4)));
    let (status, answer) = admin_post(&app, "/api/v1/rejected/retry", json!({ "source": "stripe" })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "retried": 4, "accepted": 3, "duplicates": 0, "still_rejected": 1 }),
        "verified as of when each arrived: the three fresh then pass, the stale one does not"
    );
    let stored = app.stored().await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    for id in app.store.event_ids(10).await.expect("ids") {
        let e = app.store.event(&id).await.expect("reads").expect("stored").event;
        assert!(
            received.iter().any(|r| (e.received_at - r).abs() < 2_000) && e.received_at < received[2] + 1,
            "received_at is the original time: {} vs {received:?}",
            e.received_at
        );
    }
    app.wait_for_deliveries("app", "delivered", 3, Duration::from_secs(10))
        .await;

    let (_, again) = admin_post(&app, "/api/v1/rejected/retry", json!({})).await;
    assert_eq!(
        again,
        json!({ "retried": 4, "accepted": 0, "duplicates": 3, "still_rejected": 1 }),
        "a second retry ingests nothing new"
    );
    assert_eq!(app.stored().await.len(), 3);
    app.stop().await;
}
