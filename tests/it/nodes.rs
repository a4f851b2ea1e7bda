//! Several nodes on one PostgreSQL database (INLET_TEST_POSTGRES; skipped without it): every
//! event delivered once whichever node took it in, and one poll source polled by one node
//! at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use inlet::signature::SchemeSpec;
use inlet::store::Store;

use crate::conformance::{drop_schema, postgres_store};
use crate::provider::FakeApi;
use crate::receiver::Receiver;
use crate::support::{TestApp, now, settings, signed};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A node: the app on its own store handle (its own node name) over the shared schema.
async fn node(config: &str, url: &str, schema: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = settings(config, dir.path());
    let store: Arc<dyn Store> = Arc::new(
        inlet::store::postgres::PgStore::open_in_schema(url, schema)
            .await
            .expect("PostgreSQL"),
    );
    TestApp::spawn_with_store(s, store, dir).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_deliver_every_event_once_whichever_node_took_it_in() {
    let Some((first, url, schema)) = postgres_store("nodes").await else {
        return;
    };
    first.close().await;
    let receiver = Receiver::start().await;
    let cfg = format!(
        r#"
[sources.shop]
scheme = "standard"
secrets = ["{SECRET}"]

[destinations.app]
kind = "http"
url = "{}"
concurrency = 8
retry = ["0s", "1s"]

[[routes]]
from = ["shop"]
to = ["app"]
"#,
        receiver.url
    );
    let a = node(&cfg, &url, &schema).await;
    let b = node(&cfg, &url, &schema).await;
    let total = 300;
    for n in 0..total {
        let body = format!(r#"{{"n":{n}}}"#);
        let headers = signed(
            &SchemeSpec::Standard,
            SECRET,
            body.as_bytes(),
            now(),
            &format!("m{n}"),
            "",
        );
        let app = if n % 2 == 0 { &a } else { &b };
        assert_eq!(app.post("shop", &headers, body.as_bytes()).await.0, 200);
    }
    // The same webhook to the other node is a duplicate there too.
    let body = br#"{"n":0}"#;
    let headers = signed(&SchemeSpec::Standard, SECRET, body, now(), "m0", "");
    let (_, answer) = b.post("shop", &headers, body).await;
    assert_eq!(answer["duplicate"], true);

    receiver.wait_for(total).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        let e: serde_json::Value = serde_json::from_slice(&r.body).expect("envelope");
        *seen.entry(e["id"].as_str().unwrap_or("").to_string()).or_default() += 1;
    }
    assert_eq!(seen.len(), total, "every event delivered");
    assert!(
        seen.values().all(|&n| n == 1),
        "each once: no node took another's lease"
    );
    a.stop().await;
    b.stop().await;
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_poll_source_is_never_polled_by_two_nodes_at_once() {
    let Some((first, url, schema)) = postgres_store("pollnodes").await else {
        return;
    };
    first.close().await;
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    api.delay_all(Duration::from_millis(300));
    let cfg = format!(
        r#"
[sources.items]
kind = "poll"
url = "{}/items"
items = "/data"
id = "/id"
interval = "1s"
idle_interval = "1s"
"#,
        api.base
    );
    let a = node(&cfg, &url, &schema).await;
    let b = node(&cfg, &url, &schema).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    a.stop().await;
    b.stop().await;
    let calls = api.calls().len();
    assert!(calls >= 2, "the source was polled ({calls} calls)");
    assert_eq!(api.max_in_flight(), 1, "never two nodes at once");
    drop_schema(&url, &schema).await;
}
