//! The admin API's event routes against a running app: auth, every filter, pages, one
//! event in full, replay of one event and bulk replay by filter (same `webhook-id`, new
//! attempts), and rejected requests.

use std::collections::HashSet;
use std::time::Duration;

use inlet::providers::SchemeSpec;
use serde_json::Value;

use crate::receiver::{Receiver, Reply};
use crate::support::{TestApp, now, signed, standard_post};

pub const TOKEN: &str = "api-token";
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub struct Fixture {
    pub app: TestApp,
    pub good: Receiver,
    pub failing: Receiver,
    /// Event ids as posted: three `shop`, then three `billing`.
    pub ids: Vec<String>,
}

/// `shop` → good; `billing` → good and failing (500, one step: dead at once).
pub async fn fixture() -> Fixture {
    let good = Receiver::start().await;
    let failing = Receiver::start().await;
    failing.always(Reply::status(500));
    let cfg = format!(
        r#"
[admin]
token = "{TOKEN}"

[sources.shop]
scheme = "standard"
secrets = ["{SECRET}"]
event_type = "/type"

[sources.billing]
scheme = "standard"
secrets = ["{SECRET}"]
event_type = "/type"

[destinations.good]
kind = "http"
url = "{}"
retry = ["0s"]

[destinations.failing]
kind = "http"
url = "{}"
secret = "{SECRET}"
retry = ["0s"]

[[routes]]
from = ["shop", "billing"]
to = ["good"]

[[routes]]
from = ["billing"]
to = ["failing"]
"#,
        good.url, failing.url
    );
    let app = TestApp::spawn(&cfg).await;
    let mut ids = Vec::new();
    for (source, n, t) in [
        ("shop", 1, "order.created"),
        ("shop", 2, "order.updated"),
        ("shop", 3, "order.updated"),
        ("billing", 4, "invoice.paid"),
        ("billing", 5, "invoice.paid"),
        ("billing", 6, "invoice.paid"),
    ] {
        let body = format!(r#"{{"n":{n},"type":"{t}"}}"#);
        let headers = signed(
            &SchemeSpec::named("standard"),
            SECRET,
            body.as_bytes(),
            now(),
            &format!("msg_{n}"),
            "",
        );
        let (status, answer) = app.post(source, &headers, body.as_bytes()).await;
        assert_eq!(status, 200);
        ids.push(answer["id"].as_str().expect("id").to_string());
    }
    good.wait_for(6).await;
    failing.wait_for(3).await;
    let f = Fixture {
        app,
        good,
        failing,
        ids,
    };
    // Wait until the three billing deliveries to `failing` are recorded dead.
    for _ in 0..300 {
        if items(&f, "/api/v1/events?status=dead").await.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f
}

async fn get(f: &Fixture, path: &str) -> (u16, Value) {
    let resp = f
        .app
        .client
        .get(format!("{}{path}", f.app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answered");
    (resp.status().as_u16(), resp.json().await.unwrap_or_default())
}

async fn post(f: &Fixture, path: &str, body: &str) -> (u16, Value) {
    let resp = f
        .app
        .client
        .post(format!("{}{path}", f.app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("answered");
    (resp.status().as_u16(), resp.json().await.unwrap_or_default())
}

async fn items(f: &Fixture, path: &str) -> Vec<Value> {
    let (status, body) = get(f, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

fn ids_of(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn event_routes_need_the_token_and_filter_by_every_field() {
    let f = fixture().await;
    let bare = f
        .app
        .client
        .get(format!("{}/api/v1/events", f.app.admin))
        .send()
        .await
        .expect("answered");
    assert_eq!(bare.status().as_u16(), 401);
    let wrong = f
        .app
        .client
        .get(format!("{}/api/v1/events", f.app.admin))
        .bearer_auth("nope")
        .send()
        .await
        .expect("answered");
    assert_eq!(wrong.status().as_u16(), 401);
    let body: Value = wrong.json().await.expect("JSON error");
    assert_eq!(body["error"], "unauthorized");

    let all = items(&f, "/api/v1/events").await;
    let mut newest_first = f.ids.clone();
    newest_first.reverse();
    assert_eq!(ids_of(&all), newest_first);
    assert_eq!(all[0]["via"], "webhook");
    assert_eq!(all[0]["status"], "dead");
    assert_eq!(all[5]["status"], "delivered");
    assert_eq!(
        ids_of(&items(&f, "/api/v1/events?source=shop").await),
        newest_first[3..].to_vec()
    );
    assert_eq!(items(&f, "/api/v1/events?type=order.updated").await.len(), 2);
    assert_eq!(
        ids_of(&items(&f, "/api/v1/events?status=dead").await),
        newest_first[..3].to_vec()
    );
    assert_eq!(items(&f, "/api/v1/events?status=delivered").await.len(), 3);
    assert_eq!(items(&f, "/api/v1/events?destination=failing").await.len(), 3);
    assert_eq!(items(&f, "/api/v1/events?dedupe_key=msg_2").await.len(), 1);
    assert_eq!(items(&f, "/api/v1/events?since=1h").await.len(), 6);
    assert_eq!(items(&f, "/api/v1/events?until=2020-01-01T00:00:00Z").await.len(), 0);
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(items(&f, &format!("/api/v1/events?since={later}")).await.len(), 0);
    let (status, body) = get(&f, "/api/v1/events?status=lost").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));

    let ingest = f
        .app
        .client
        .get(format!("{}/api/v1/events", f.app.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(ingest.status().as_u16(), 404, "never on the ingest listener");
    f.app.stop().await;
}

#[tokio::test]
async fn pages_follow_the_cursor_until_it_is_null_and_cover_every_event_once() {
    let f = fixture().await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/events?limit=4".to_string();
    let mut pages = 0;
    loop {
        let (status, body) = get(&f, &path).await;
        assert_eq!(status, 200);
        pages += 1;
        seen.extend(ids_of(body["items"].as_array().expect("items")));
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/events?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6);
    let (status, _) = get(&f, "/api/v1/events?limit=0").await;
    assert_eq!(status, 400);
    f.app.stop().await;
}

#[tokio::test]
async fn after_a_cursor_events_come_oldest_first_and_each_item_carries_the_cursor_that_resumes_after_it() {
    let f = fixture().await;
    let newest_first = ids_of(&items(&f, "/api/v1/events?limit=100").await);
    let oldest = items(&f, "/api/v1/events?after=0&limit=2").await;
    let mut ids = ids_of(&oldest);
    let cursor = oldest[1]["cursor"].as_str().expect("a cursor").to_string();
    ids.extend(ids_of(
        &items(&f, &format!("/api/v1/events?after={cursor}&limit=100")).await,
    ));
    let mut reversed = newest_first.clone();
    reversed.reverse();
    assert_eq!(ids, reversed, "oldest first, each once, across the cursor");
    let newest = items(&f, "/api/v1/events?limit=1").await;
    let head = newest[0]["cursor"].as_str().expect("a cursor");
    assert!(
        items(&f, &format!("/api/v1/events?after={head}")).await.is_empty(),
        "nothing after the newest"
    );
    let (status, body) = get(&f, "/api/v1/events?after=1&cursor=5").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = get(&f, "/api/v1/events?after=-3").await;
    assert_eq!(status, 400);
    f.app.stop().await;
}

#[tokio::test]
async fn an_events_body_reads_back_byte_for_byte_with_its_content_type() {
    let f = fixture().await;
    let body = b"{\"type\":\"order.paid\",   \"n\": 7}";
    let resp = standard_post(&f.app.client, &f.app.base, "shop", SECRET, body, "msg_raw_body")
        .header("content-type", "application/json; charset=utf-8")
        .send()
        .await
        .expect("answered");
    let id = resp.json::<Value>().await.expect("JSON")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let resp = f
        .app
        .client
        .get(format!("{}/api/v1/events/{id}/body", f.app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8");
    assert_eq!(&resp.bytes().await.expect("bytes")[..], &body[..]);
    let resp = f
        .app
        .client
        .get(format!("{}/api/v1/events/evt_missing/body", f.app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 404);
    let resp = f
        .app
        .client
        .get(format!("{}/api/v1/events/{id}/body", f.app.admin))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 401, "the body needs the token");
    f.app.stop().await;
}

#[tokio::test]
async fn one_event_shows_headers_payload_deliveries_and_attempts_and_a_missing_one_is_404() {
    let f = fixture().await;
    let (status, e) = get(&f, &format!("/api/v1/events/{}", f.ids[3])).await;
    assert_eq!(status, 200);
    assert_eq!(e["payload"], serde_json::json!({"n": 4, "type": "invoice.paid"}));
    assert_eq!(e["type"], "invoice.paid");
    assert!(e["headers"].get("webhook-signature").is_none(), "{e}");
    assert_eq!(e["headers"]["webhook-id"], "msg_4");
    let deliveries = e["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 2);
    let failing = deliveries
        .iter()
        .find(|d| d["destination"] == "failing")
        .expect("failing");
    assert_eq!(failing["status"], "dead");
    assert_eq!(failing["attempts"][0]["status_code"], 500);
    assert_eq!(failing["attempts"][0]["response_excerpt"], "ok");
    let (status, body) = get(&f, "/api/v1/events/evt_nope").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    f.app.stop().await;
}

#[tokio::test]
async fn replay_re_queues_one_event_or_a_filter_with_the_same_webhook_id_and_new_attempts() {
    let f = fixture().await;
    let first_ids: HashSet<String> = f
        .failing
        .received()
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(first_ids.len(), 3);

    let (status, body) = post(
        &f,
        &format!("/api/v1/events/{}/replay", f.ids[3]),
        r#"{"destination":"failing"}"#,
    )
    .await;
    assert_eq!((status, body["replayed"].as_u64()), (200, Some(1)));
    let got = f.failing.wait_for(4).await;
    assert_eq!(got[3].headers["webhook-id"], f.ids[3].as_str(), "the same webhook-id");
    assert_eq!(
        got[3].body,
        got.iter()
            .find(|r| r.headers["webhook-id"] == f.ids[3].as_str())
            .expect("first")
            .body
    );

    let (status, body) = post(
        &f,
        "/api/v1/replay",
        r#"{"delivery_status":"dead","destination":"failing","source":"billing","count":true}"#,
    )
    .await;
    assert_eq!(status, 200);
    let matching = body["matching"].as_u64().expect("a count");
    assert!(matching >= 2, "{body}");
    let (status, body) = post(&f, "/api/v1/replay", r#"{"destination":"failing"}"#).await;
    assert_eq!(status, 200);
    assert!(body["replayed"].as_u64().is_some_and(|n| n >= 2), "{body}");
    let got = f.failing.wait_for(6).await;
    let replayed: HashSet<String> = got[3..]
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap_or("").to_string())
        .collect();
    assert!(replayed.is_subset(&first_ids), "replays keep their webhook-id");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, e) = get(&f, &format!("/api/v1/events/{}", f.ids[4])).await;
    let failing = e["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["destination"] == "failing")
        .cloned()
        .expect("failing");
    assert_eq!(
        failing["attempts"].as_array().map(Vec::len),
        Some(2),
        "a new attempt, the first kept"
    );
    assert_eq!(f.good.received().len(), 6, "the good destination was not replayed");
    let (status, _) = post(&f, "/api/v1/events/evt_nope/replay", "").await;
    assert_eq!(status, 404);
    let (status, body) = post(&f, "/api/v1/replay", r#"{"delivery_status":"lost"}"#).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    f.app.stop().await;
}

#[tokio::test]
async fn rejected_requests_are_listed_with_their_kind_and_no_signature() {
    let f = fixture().await;
    let body = br#"{"n":9}"#;
    let forged = signed(
        &SchemeSpec::named("standard"),
        "whsec_d3Jvbmd3cm9uZ3dyb25n",
        body,
        now(),
        "msg_9",
        "",
    );
    assert_eq!(f.app.post("shop", &forged, body).await.0, 401);
    let mut rejected = Vec::new();
    for _ in 0..200 {
        rejected = items(&f, "/api/v1/rejected").await;
        if !rejected.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["source"], "shop");
    assert_eq!(rejected[0]["error"], "invalid_signature");
    assert_eq!(rejected[0]["body_size"], 7);
    let signature = forged
        .iter()
        .find(|(k, _)| k == "webhook-signature")
        .expect("signed")
        .1
        .clone();
    assert!(!rejected[0].to_string().contains(&signature));
    assert_eq!(rejected[0]["headers"]["webhook-signature"], "[redacted]");
    f.app.stop().await;
}
