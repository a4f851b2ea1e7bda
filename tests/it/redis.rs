//! The `redis` destination against this machine's Redis, read back with the redis crate.
//! Skipped (and says so) unless INLET_TEST_REDIS names a server, e.g.
//! redis://127.0.0.1:6379/0 (`.ci/run` sets it).

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncCommands;
use redis::streams::StreamRangeReply;

use crate::support::{TestApp, shop_source};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn server() -> Option<String> {
    crate::support::service("INLET_TEST_REDIS", "redis://127.0.0.1:6379/0", "Redis")
}

fn config(url: &str, stream: &str, extra: &str) -> String {
    let shop = shop_source(SECRET);
    format!(
        r#"{shop}
[destinations.stream]
kind = "redis"
url = "{url}"
stream = "{stream}:{{source}}"
retry = ["0s", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms"]
{extra}

[[routes]]
from = ["shop"]
to = ["stream"]
"#
    )
}

async fn client(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis is reachable")
}

/// Kills every connection whose last command was an XADD (inlet's); returns how many.
async fn kill_writers(redis: &mut redis::aio::MultiplexedConnection) -> usize {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(redis)
        .await
        .expect("client list");
    let mut killed = 0;
    for line in list.lines().filter(|l| l.contains(" cmd=xadd")) {
        let id = line.split(' ').find_map(|f| f.strip_prefix("id=")).expect("an id");
        let n: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(redis)
            .await
            .expect("kill");
        killed += n as usize;
    }
    killed
}

fn field(fields: &HashMap<String, redis::Value>, name: &str) -> String {
    match fields.get(name) {
        Some(redis::Value::BulkString(bytes)) => String::from_utf8(bytes.clone()).expect("UTF-8"),
        other => panic!("field {name}: {other:?}"),
    }
}

#[tokio::test]
async fn a_thousand_events_land_in_the_stream_with_their_fields_across_killed_connections() {
    let Some(url) = server() else { return };
    let stream = format!("inlet-test-{}", uuid::Uuid::now_v7().simple());
    let mut redis = client(&url).await;
    let app = TestApp::spawn(&config(&url, &stream, "")).await;

    let mut ids = app.post_many("shop", SECRET, "a", 500).await;
    app.wait_for_deliveries("stream", "delivered", 100, Duration::from_secs(30))
        .await;
    let killed = kill_writers(&mut redis).await;
    assert!(killed >= 1, "inlet's connection was found and killed");
    ids.extend(app.post_many("shop", SECRET, "b", 500).await);
    app.wait_for_deliveries("stream", "delivered", 1000, Duration::from_secs(60))
        .await;

    let key = format!("{stream}:shop");
    let entries: StreamRangeReply = redis.xrange_all(&key).await.expect("xrange");
    let mut seen: HashMap<String, u32> = HashMap::new();
    for entry in &entries.ids {
        let id = field(&entry.map, "id");
        assert_eq!(field(&entry.map, "source"), "shop");
        assert_eq!(field(&entry.map, "type"), "order.created");
        let envelope: serde_json::Value = serde_json::from_str(&field(&entry.map, "envelope")).expect("the envelope");
        assert_eq!(
            envelope["id"],
            id.as_str(),
            "the envelope is the event's the entry names"
        );
        *seen.entry(id).or_default() += 1;
    }
    for id in &ids {
        assert!(seen.contains_key(id), "{id} never arrived ({} of 1000 did)", seen.len());
    }
    assert_eq!(seen.len(), 1000);
    // An XADD cut off by the kill may have been applied before its answer was lost; it is
    // then tried again, and consumers dedupe on `id`. Nothing else repeats.
    let repeats = entries.ids.len() - seen.len();
    assert!(
        repeats <= killed,
        "{repeats} repeated entries for {killed} killed connection(s)"
    );
    app.stop().await;
    let _: () = redis.del(&key).await.expect("deleted");
}

#[tokio::test]
async fn maxlen_trims_the_stream_and_an_event_without_a_type_has_an_empty_type_field() {
    let Some(url) = server() else { return };
    let stream = format!("inlet-test-{}", uuid::Uuid::now_v7().simple());
    let mut redis = client(&url).await;
    let app = TestApp::spawn(&config(&url, &stream, "maxlen = 10")).await;
    app.post_many("shop", SECRET, "m", 400).await;
    app.wait_for_deliveries("stream", "delivered", 400, Duration::from_secs(30))
        .await;
    let key = format!("{stream}:shop");
    let length: usize = redis.xlen(&key).await.expect("xlen");
    assert!(
        (10..400).contains(&length),
        "trimmed to about 10 (whole nodes at a time): {length}"
    );

    let body = br#"{"n":1}"#;
    let headers = crate::support::signed(
        &inlet::providers::SchemeSpec::named("standard"),
        SECRET,
        body,
        crate::support::now(),
        "untyped",
        "",
    );
    let (status, answer) = app.post("shop", &headers, body).await;
    assert_eq!(status, 200);
    app.wait_for_deliveries("stream", "delivered", 401, Duration::from_secs(30))
        .await;
    let last: StreamRangeReply = redis.xrevrange_count(&key, "+", "-", 1).await.expect("xrevrange");
    let entry = &last.ids[0];
    assert_eq!(field(&entry.map, "id"), answer["id"].as_str().expect("id"));
    assert_eq!(field(&entry.map, "type"), "");
    app.stop().await;
    let _: () = redis.del(&key).await.expect("deleted");
}
