//! Delivery to real local receivers: signatures a reference library verifies, retries on
//! the schedule, Retry-After, 410, dead after the last step, the circuit breaker, timeouts,
//! concurrency, raw bodies and the file destination. Schedules run on a manual clock.

use std::time::Duration;

use inlet::providers::SchemeSpec;

use crate::receiver::{Receiver, Reply};
use crate::support::{TestApp, now, signed};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(url: &str, extra: &str) -> String {
    format!(
        r#"
[sources.stripe]
scheme = "stripe"
secrets = ["whsec_in"]

[destinations.app]
kind = "http"
url = "{url}"
secret = "{SECRET}"
{extra}

[[routes]]
from = ["stripe"]
to = ["app"]
"#
    )
}

async fn send(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = format!(r#"{{"id":"evt_d{i}","type":"charge.succeeded","created":1700000000}}"#);
        let (status, answer) = app
            .post(
                "stripe",
                &signed(&SchemeSpec::named("stripe"), "whsec_in", body.as_bytes(), now(), "", ""),
                body.as_bytes(),
            )
            .await;
        assert_eq!(status, 200);
        ids.push(answer["id"].as_str().expect("id").to_string());
    }
    ids
}

async fn delivery(app: &TestApp, id: &str) -> inlet::domain::DeliveryView {
    let event = app.store.event(id).await.expect("reads").expect("stored");
    event.deliveries.into_iter().next().expect("one delivery")
}

#[tokio::test]
async fn a_delivery_carries_a_standard_webhooks_signature_the_reference_library_verifies() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(&config(&receiver.url, "")).await;
    let ids = send(&app, 1).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let wh = standardwebhooks::Webhook::new(SECRET).expect("secret");
    wh.verify(&got[0].body, &got[0].headers)
        .expect("the signature verifies");
    assert_eq!(
        got[0].headers["webhook-id"],
        ids[0].as_str(),
        "webhook-id is the event id"
    );
    let envelope: serde_json::Value = serde_json::from_slice(&got[0].body).expect("JSON envelope");
    assert_eq!(envelope["id"], ids[0].as_str());
    assert_eq!(envelope["type"], "charge.succeeded");
    assert_eq!(envelope["dedupe_key"], "evt_d0");
    assert_eq!(envelope["via"], "webhook");
    assert_eq!(envelope["occurred_at"], "2023-11-14T22:13:20Z");
    assert_eq!(envelope["payload"]["id"], "evt_d0");
    for _ in 0..100 {
        if delivery(&app, &ids[0]).await.state == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let d = delivery(&app, &ids[0]).await;
    assert_eq!(d.state, "delivered");
    assert_eq!(d.attempts.len(), 1);
    assert_eq!(d.attempts[0].status_code, Some(200));
    app.stop().await;
}

#[tokio::test]
async fn a_receiver_answering_500_then_200_gets_the_event_on_the_retry_with_the_same_webhook_id() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, r#"retry = ["0s", "5s", "30s"]"#)).await;
    let ids = send(&app, 1).await;
    let worker = app.worker("app");
    assert_eq!(worker.run_once().await, 1);
    assert_eq!(delivery(&app, &ids[0]).await.state, "pending");
    assert_eq!(worker.run_once().await, 0, "the retry is not due yet");
    clock.advance(Duration::from_millis(6_100));
    assert_eq!(worker.run_once().await, 1);
    let d = delivery(&app, &ids[0]).await;
    assert_eq!(d.state, "delivered");
    let codes: Vec<_> = d.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, vec![Some(500), Some(200)]);
    let got = receiver.received();
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    assert_eq!(
        got[0].body, got[1].body,
        "the envelope is the same bytes on every attempt"
    );
    app.stop().await;
}

#[tokio::test]
async fn retry_after_pauses_the_destination_without_using_a_step() {
    let receiver = Receiver::start().await;
    receiver.script([Reply {
        status: 503,
        retry_after: Some("3"),
        delay: Duration::ZERO,
    }]);
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, r#"retry = ["0s"]"#)).await;
    let ids = send(&app, 1).await;
    let worker = app.worker("app");
    assert_eq!(worker.run_once().await, 1);
    clock.advance(Duration::from_millis(2_000));
    assert_eq!(worker.run_once().await, 0, "not before Retry-After");
    clock.advance(Duration::from_millis(1_100));
    assert_eq!(worker.run_once().await, 1);
    let d = delivery(&app, &ids[0]).await;
    assert_eq!(
        d.state, "delivered",
        "a one-step schedule survived the 503: it used no step"
    );
    app.stop().await;
}

#[tokio::test]
async fn gone_is_dead_at_once() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(410));
    let (app, _clock) = TestApp::spawn_manual(&config(&receiver.url, "")).await;
    let ids = send(&app, 1).await;
    app.worker("app").run_once().await;
    let d = delivery(&app, &ids[0]).await;
    assert_eq!(d.state, "dead");
    assert!(d.last_error.as_deref().unwrap_or("").contains("410"));
    app.stop().await;
}

#[tokio::test]
async fn three_short_steps_against_a_dead_receiver_end_dead_after_three_recorded_attempts() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let extra = "retry = [\"0s\", \"1s\", \"1s\"]\ncircuit = { failures = 10 }";
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, extra)).await;
    let ids = send(&app, 1).await;
    let worker = app.worker("app");
    for _ in 0..3 {
        assert_eq!(worker.run_once().await, 1);
        clock.advance(Duration::from_millis(1_300));
    }
    assert_eq!(worker.run_once().await, 0, "nothing left to try");
    let d = delivery(&app, &ids[0]).await;
    assert_eq!(d.state, "dead");
    assert_eq!(d.attempts.len(), 3);
    assert!(
        d.attempts
            .iter()
            .all(|a| a.status_code == Some(500) && a.error.as_deref() == Some("HTTP 500"))
    );
    assert!(d.last_error.as_deref().unwrap_or("").contains("3 attempts"));
    app.stop().await;
}

#[tokio::test]
async fn a_long_outage_opens_the_circuit_kills_nothing_and_drains_when_the_receiver_returns() {
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let extra = "retry = [\"0s\", \"1s\", \"1s\"]\ncircuit = { failures = 2, probe = \"1s\" }";
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, extra)).await;
    let ids = send(&app, 5).await;
    let worker = app.worker("app");
    worker.run_once().await;
    assert!(worker.circuit_open(), "consecutive failures open the circuit");
    for _ in 0..30 {
        clock.advance(Duration::from_millis(1_100));
        assert!(worker.run_once().await <= 1, "one probe at a time while open");
    }
    for id in &ids {
        assert_ne!(
            delivery(&app, id).await.state,
            "dead",
            "an outage of any length kills nothing"
        );
    }
    receiver.always(Reply::status(200));
    for _ in 0..10 {
        clock.advance(Duration::from_secs(700));
        worker.run_once().await;
    }
    assert!(!worker.circuit_open());
    for id in &ids {
        assert_eq!(delivery(&app, id).await.state, "delivered");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_slow_receiver_hits_the_timeout_and_is_retried() {
    let receiver = Receiver::start().await;
    receiver.script([Reply {
        status: 200,
        retry_after: None,
        delay: Duration::from_secs(2),
    }]);
    let extra = "timeout = \"300ms\"\nretry = [\"0s\", \"1s\"]";
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, extra)).await;
    let ids = send(&app, 1).await;
    let worker = app.worker("app");
    worker.run_once().await;
    let d = delivery(&app, &ids[0]).await;
    assert_eq!(d.state, "pending");
    assert!(
        d.attempts[0].error.as_deref().unwrap_or("").contains("timeout"),
        "{:?}",
        d.attempts[0]
    );
    clock.advance(Duration::from_millis(1_300));
    worker.run_once().await;
    assert_eq!(delivery(&app, &ids[0]).await.state, "delivered");
    app.stop().await;
}

#[tokio::test]
async fn per_destination_concurrency_is_never_exceeded() {
    let receiver = Receiver::start().await;
    receiver.always(Reply {
        status: 200,
        retry_after: None,
        delay: Duration::from_millis(100),
    });
    let app = TestApp::spawn(&config(&receiver.url, "concurrency = 3")).await;
    send(&app, 15).await;
    let got = receiver.wait_for(15).await;
    assert_eq!(got.len(), 15);
    assert_eq!(receiver.max_in_flight(), 3, "three at a time, never more");
    app.stop().await;
}

#[tokio::test]
async fn raw_format_forwards_the_body_byte_for_byte_without_signature_headers() {
    let receiver = Receiver::start().await;
    let config = format!(
        "[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"whsec_in\"]\n\
         [destinations.raw]\nkind = \"http\"\nurl = \"{}\"\nformat = \"raw\"\n\
         [[routes]]\nfrom = [\"stripe\"]\nto = [\"raw\"]\n",
        receiver.url
    );
    let app = TestApp::spawn(&config).await;
    let body = b"{\n  \"id\": \"evt_raw\",   \"type\": \"x\"\n}\n";
    let mut headers = signed(&SchemeSpec::named("stripe"), "whsec_in", body, now(), "", "");
    headers.push(("Content-Type".into(), "application/json; charset=utf-8".into()));
    app.post("stripe", &headers, body).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(&got[0].body[..], &body[..]);
    assert_eq!(got[0].headers["content-type"], "application/json; charset=utf-8");
    assert!(got[0].headers.get("stripe-signature").is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_file_destination_appends_one_envelope_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out/events.jsonl");
    let config = format!(
        "[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"whsec_in\"]\n\
         [destinations.file]\nkind = \"file\"\npath = \"{}\"\n\
         [[routes]]\nfrom = [\"stripe\"]\nto = [\"file\"]\n",
        path.display()
    );
    let (app, _clock) = TestApp::spawn_manual(&config).await;
    let ids = send(&app, 3).await;
    app.worker("file").run_once().await;
    let text = std::fs::read_to_string(&path).expect("file written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let written: Vec<&str> = lines.iter().map(|l| l["id"].as_str().expect("id")).collect();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort();
    let mut sorted = written.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    for id in &ids {
        assert_eq!(delivery(&app, id).await.state, "delivered");
    }
    app.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_attempt_finish_and_records_it() {
    let receiver = Receiver::start().await;
    receiver.always(Reply {
        status: 200,
        retry_after: None,
        delay: Duration::from_millis(400),
    });
    let app = TestApp::spawn(&config(&receiver.url, "")).await;
    let ids = send(&app, 1).await;
    receiver.wait_for(1).await;
    let store = app.store.clone();
    let path = app.dir.path().join("inlet.db");
    let dir = app.stop().await;
    drop(store);
    let reopened = inlet::store::sqlite::SqliteStore::open(&path).expect("reopens");
    let event = inlet::store::Store::event(&reopened, &ids[0])
        .await
        .expect("reads")
        .expect("stored");
    assert_eq!(
        event.deliveries[0].state, "delivered",
        "the attempt in flight at shutdown finished and was recorded"
    );
    inlet::store::Store::close(&reopened).await;
    drop(dir);
}

#[tokio::test]
async fn retention_prunes_finished_events_and_their_dedupe_keys_but_keeps_pending_ones() {
    let receiver = Receiver::start().await;
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, "")).await;
    let ids = send(&app, 2).await;
    app.worker("app").run_once().await;
    // A third event whose delivery stays pending.
    receiver.always(Reply::status(500));
    let pending = send_one(&app, "evt_pending").await;
    app.worker("app").run_once().await;
    clock.advance(Duration::from_secs(15 * 86_400));
    let pruned =
        inlet::workers::retention::prune_once(app.store.as_ref(), clock.as_ref(), Duration::from_secs(14 * 86_400))
            .await;
    assert_eq!(pruned, 2);
    for id in &ids {
        assert!(app.store.event(id).await.expect("reads").is_none());
    }
    assert!(
        app.store.event(&pending).await.expect("reads").is_some(),
        "pending deliveries are never pruned"
    );
    let again = send(&app, 1).await;
    assert_ne!(again[0], ids[0], "once pruned, the dedupe key is free again");
    app.stop().await;
}

async fn send_one(app: &TestApp, key: &str) -> String {
    let body = format!(r#"{{"id":"{key}","type":"charge.succeeded"}}"#);
    let (_, answer) = app
        .post(
            "stripe",
            &signed(&SchemeSpec::named("stripe"), "whsec_in", body.as_bytes(), now(), "", ""),
            body.as_bytes(),
        )
        .await;
    answer["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn redirects_are_not_followed_and_count_as_failures() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(302)]);
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, r#"retry = ["0s", "1s"]"#)).await;
    let ids = send(&app, 1).await;
    let worker = app.worker("app");
    worker.run_once().await;
    let d = delivery(&app, &ids[0]).await;
    assert_eq!((d.state.as_str(), d.attempts[0].status_code), ("pending", Some(302)));
    clock.advance(Duration::from_millis(1_300));
    worker.run_once().await;
    assert_eq!(delivery(&app, &ids[0]).await.state, "delivered");
    assert_eq!(receiver.received().len(), 2, "the Location was never fetched");
    app.stop().await;
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again_and_a_live_one_is_not() {
    let receiver = Receiver::start().await;
    let (app, clock) = TestApp::spawn_manual(&config(&receiver.url, "")).await;
    send(&app, 1).await;
    let now = inlet::workers::Clock::now_ms(clock.as_ref());
    let first = app.store.claim("app", now, 10, now + 40_000).await.expect("claims");
    assert_eq!(
        first.len(),
        1,
        "a worker claims the delivery, then dies without finishing"
    );
    assert!(
        app.store
            .claim("app", now + 39_000, 10, now + 80_000)
            .await
            .expect("claims")
            .is_empty(),
        "the lease holds"
    );
    let again = app
        .store
        .claim("app", now + 41_000, 10, now + 80_000)
        .await
        .expect("claims");
    assert_eq!(again.len(), 1, "after the lease expires another worker takes it");
    assert_eq!(again[0].event.id, first[0].event.id);
    app.stop().await;
}

#[tokio::test]
async fn a_destination_rate_limit_spaces_attempts_out() {
    let receiver = Receiver::start().await;
    // 10/s with a burst of 1: six deliveries need at least five refills of 100 ms.
    let app = TestApp::spawn(&config(&receiver.url, "rate_limit = \"10/s\"")).await;
    let started = std::time::Instant::now();
    send(&app, 6).await;
    let got = receiver.wait_for(6).await;
    assert_eq!(got.len(), 6);
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "took {:?}",
        started.elapsed()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_running_worker_wakes_for_a_scheduled_retry_without_new_events() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let app = TestApp::spawn(&config(&receiver.url, r#"retry = ["0s", "1s"]"#)).await;
    let ids = send(&app, 1).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2, "the retry came on its own");
    for _ in 0..100 {
        if delivery(&app, &ids[0]).await.state == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(delivery(&app, &ids[0]).await.state, "delivered");
    app.stop().await;
}

/// Five events to a destination at `6/min` (one every 10 s) with `concurrency = 5` and
/// `timeout = "1s"`: the last waits 40 s on the rate limit, past its first lease (31 s).
/// Each `webhook-id` arrives exactly once, because the lease is renewed while it waits.
async fn rate_limited_deliveries_arrive_once_each(app: &TestApp, receiver: &Receiver) {
    let ids = send(app, 5).await;
    let mut delivered = 0;
    for _ in 0..700 {
        delivered = 0;
        for id in &ids {
            if delivery(app, id).await.state == "delivered" {
                delivered += 1;
            }
        }
        if delivered == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered, 5, "all five delivered within 70 s");
    // A second claim of a lease that expired while its attempt waited would still be in
    // flight here (waiting for its own token): wait until nothing is.
    let worker = app.worker("app");
    for _ in 0..300 {
        if worker.running() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(worker.running(), 0, "no attempt left running");
    let got = receiver.received();
    let mut webhook_ids: Vec<String> = got
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap_or("").to_string())
        .collect();
    webhook_ids.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(webhook_ids, expected, "each webhook-id exactly once");
}

const RATE_LIMITED: &str = "rate_limit = \"6/min\"\nconcurrency = 5\ntimeout = \"1s\"";

#[tokio::test]
async fn a_delivery_waiting_on_the_rate_limit_past_its_lease_is_attempted_once_on_sqlite() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(&config(&receiver.url, RATE_LIMITED)).await;
    rate_limited_deliveries_arrive_once_each(&app, &receiver).await;
    app.stop().await;
}

#[tokio::test]
async fn a_delivery_waiting_on_the_rate_limit_past_its_lease_is_attempted_once_on_postgres() {
    let Some((store, url, schema)) = crate::conformance::postgres_store("ratelimit").await else {
        return;
    };
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = crate::support::settings(&config(&receiver.url, RATE_LIMITED), dir.path());
    let app = TestApp::spawn_with_store(settings, store, dir).await;
    rate_limited_deliveries_arrive_once_each(&app, &receiver).await;
    app.stop().await;
    crate::conformance::drop_schema(&url, &schema).await;
}
