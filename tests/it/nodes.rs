//! Several nodes on one PostgreSQL database (INLET_TEST_POSTGRES; skipped without it): every
//! event delivered once whichever node took it in, and one poll source polled by one node
//! at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use inlet::providers::SchemeSpec;
use inlet::store::Store;

use crate::conformance::{drop_schema, postgres_store};
use crate::provider::FakeApi;
use crate::receiver::Receiver;
use crate::support::{TestApp, now, settings, signed, standard_post};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A fresh schema the nodes of a test share (created and migrated), or `None` to skip.
pub async fn shared_schema(label: &str) -> Option<(String, String)> {
    let (store, url, schema) = postgres_store(label).await?;
    store.close().await;
    Some((url, schema))
}

/// A node: the app on its own store handle (its own node name) over the shared schema.
pub async fn node(config: &str, url: &str, schema: &str) -> TestApp {
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
    let Some((url, schema)) = shared_schema("nodes").await else {
        return;
    };
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
            &SchemeSpec::named("standard"),
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
    let headers = signed(&SchemeSpec::named("standard"), SECRET, body, now(), "m0", "");
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
    let Some((url, schema)) = shared_schema("pollnodes").await else {
        return;
    };
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

/// A node as a child process on the shared schema (its URL sets the search_path).
fn child_node(dir: &std::path::Path, name: &str, url: &str, schema: &str, receiver: &str) -> crate::support::Child {
    let db = crate::conformance::schema_url(url, schema);
    serve_node(
        dir,
        name,
        &db,
        "",
        &format!(
            r#"[destinations.app]
kind = "http"
url = "{receiver}"
concurrency = 16
timeout = "1s"
retry = ["0s", "1s", "1s", "1s", "1s"]
[[routes]]
from = ["shop"]
to = ["app"]
"#
        ),
    )
}

/// `inlet serve` as a child node on the database `db` (its URL names the schema), with
/// the Standard Webhooks source `shop` (signed with [`SECRET`]), `storage` added to its
/// `[storage]` table and `rest` after it.
pub fn serve_node(dir: &std::path::Path, name: &str, db: &str, storage: &str, rest: &str) -> crate::support::Child {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            r#"[server]
listen = "127.0.0.1:0"
shutdown_timeout = "1s"
[admin]
listen = "127.0.0.1:0"
[storage]
url = "{db}"
{storage}
[sources.shop]
scheme = "standard"
secrets = ["{SECRET}"]
{rest}"#
        ),
    )
    .expect("config");
    crate::support::Child::serve(&config, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_on_two_nodes_one_killed_all_delivered_duplicates_only_from_its_attempts_in_flight() {
    crate::support::init();
    let Some((url, schema)) = shared_schema("kill").await else {
        return;
    };
    let receiver = Receiver::start().await;
    // 40 ms per delivery, 16 at once per node: at most 800 a second, so delivering takes
    // longer than taking the events in, and node a dies with a backlog and attempts in flight.
    receiver.always(crate::receiver::Reply {
        status: 200,
        retry_after: None,
        delay: Duration::from_millis(40),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = child_node(dir.path(), "a", &url, &schema, &receiver.url);
    let b = child_node(dir.path(), "b", &url, &schema, &receiver.url);
    let total = 10_000;
    let client = reqwest::Client::new();
    let mut posts = tokio::task::JoinSet::new();
    for chunk in 0..16 {
        let (client, a, b) = (client.clone(), a.ingest.clone(), b.ingest.clone());
        posts.spawn(async move {
            let mut acked = Vec::new();
            for n in (chunk..total).step_by(16) {
                let body = format!(r#"{{"n":{n}}}"#);
                let base = if n % 2 == 0 { &a } else { &b };
                let req = standard_post(&client, base, "shop", SECRET, body.as_bytes(), &format!("k{n}"));
                if req.send().await.is_ok_and(|r| r.status().is_success()) {
                    acked.push(n);
                }
            }
            acked
        });
    }
    // Kill node a while both take events in and deliver.
    let started = std::time::Instant::now();
    while receiver.received().len() < total / 3 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.process.kill().expect("SIGKILL");
    a.process.wait().expect("reaped");
    let at_kill = receiver.received().len();
    let mut acked = std::collections::HashSet::new();
    while let Some(n) = posts.join_next().await {
        acked.extend(n.expect("joins"));
    }
    assert!(
        at_kill < acked.len(),
        "killed mid-delivery ({at_kill} of {})",
        acked.len()
    );
    assert!(acked.len() > total / 2, "b took its half and more: {}", acked.len());

    // Node b finishes, taking over a's leases once a is found dead.
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        seen.clear();
        for r in receiver.received() {
            let e: serde_json::Value = serde_json::from_slice(&r.body).expect("envelope");
            let n = e["payload"]["n"].as_u64().expect("the event's n");
            *seen.entry(n).or_default() += 1;
        }
        if acked.iter().all(|n| seen.contains_key(&(*n as u64))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "acked {}, delivered {} distinct, {duplicates} duplicates, {at_kill} received at the kill",
        acked.len(),
        seen.len()
    );
    let lost = acked.iter().filter(|n| !seen.contains_key(&(**n as u64))).count();
    assert_eq!(lost, 0, "every acknowledged event delivered");
    // In flight: up to 16 attempts running and up to 16 finished but not yet recorded.
    assert!(
        duplicates <= 32,
        "duplicates only from node a's attempts whose outcome it had not recorded (≤ 2 × concurrency): {duplicates}"
    );
    drop(b);
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_taken_in_by_one_node_wakes_the_other_nodes_workers_at_once() {
    let Some((url, schema)) = shared_schema("notify").await else {
        return;
    };
    let receiver = Receiver::start().await;
    let cfg = format!(
        "[sources.shop]\nscheme = \"standard\"\nsecrets = [\"{SECRET}\"]\n\
         [destinations.app]\nkind = \"http\"\nurl = \"{}\"\nretry = [\"0s\"]\n[[routes]]\nfrom = [\"shop\"]\nto = [\"app\"]\n",
        receiver.url
    );
    // Node a takes webhooks but runs no delivery loop; node b delivers.
    let dir = tempfile::tempdir().expect("tempdir");
    let s = settings(&cfg, dir.path());
    let store: Arc<dyn Store> = Arc::new(
        inlet::store::postgres::PgStore::open_in_schema(&url, &schema)
            .await
            .expect("PostgreSQL"),
    );
    crate::support::init();
    let app = inlet::App::build_with(s, store.clone(), Arc::new(inlet::workers::SystemClock))
        .await
        .expect("builds")
        .with_manual_delivery();
    let a_base = format!("http://{}", app.ingest_addr());
    let stop_a = tokio_util::sync::CancellationToken::new();
    let a_task = tokio::spawn(app.run(stop_a.clone()));
    let b = node(&cfg, &url, &schema).await;
    // Let b's worker settle into its idle wait (up to 5 s between looks).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let body = br#"{"n":1}"#;
    let headers = signed(&SchemeSpec::named("standard"), SECRET, body, now(), "n1", "");
    let mut req = reqwest::Client::new()
        .post(format!("{a_base}/webhooks/shop"))
        .body(body.to_vec());
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let sent = std::time::Instant::now();
    assert_eq!(req.send().await.expect("answered").status().as_u16(), 200);
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let took = sent.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "node b was woken, not found by its 5 s look: {took:?}"
    );
    stop_a.cancel();
    let _ = a_task.await;
    b.stop().await;
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_sent_fifty_times_at_once_to_each_of_two_nodes_is_stored_once_with_one_id() {
    let Some((url, schema)) = shared_schema("batchdedupe").await else {
        return;
    };
    let cfg = format!("[sources.shop]\nscheme = \"standard\"\nsecrets = [\"{SECRET}\"]\n");
    let a = node(&cfg, &url, &schema).await;
    let b = node(&cfg, &url, &schema).await;
    let body = br#"{"n":"once"}"#;
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..100 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        // The same message id and body: one event, as a retrying sender sends it.
        let req = standard_post(&a.client, base, "shop", SECRET, body, "msg_once");
        posts.spawn(async move {
            let resp = req.send().await.expect("answered");
            assert_eq!(resp.status().as_u16(), 200);
            let answer: serde_json::Value = resp.json().await.expect("json");
            (
                answer["id"].as_str().unwrap_or("").to_string(),
                answer["duplicate"].as_bool(),
            )
        });
    }
    let mut ids = std::collections::HashSet::new();
    let mut first = 0;
    while let Some(joined) = posts.join_next().await {
        let (id, duplicate) = joined.expect("joins");
        ids.insert(id);
        if duplicate == Some(false) {
            first += 1;
        }
    }
    assert_eq!(ids.len(), 1, "one id in 100 answers: {ids:?}");
    assert_eq!(first, 1, "exactly one answer says it stored the event");
    assert_eq!(a.store.event_ids(10).await.expect("ids").len(), 1, "one stored event");
    a.stop().await;
    b.stop().await;
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_commit_that_fails_answers_every_caller_503_and_never_2xx() {
    let Some((url, schema)) = shared_schema("commitfails").await else {
        return;
    };
    let cfg = format!("[sources.shop]\nscheme = \"standard\"\nsecrets = [\"{SECRET}\"]\n");
    let a = node(&cfg, &url, &schema).await;
    let post = |n: usize| {
        let body = format!(r#"{{"n":{n}}}"#);
        let req = standard_post(&a.client, &a.base, "shop", SECRET, body.as_bytes(), &format!("f{n}"));
        async move {
            let resp = req.send().await.expect("answered");
            (resp.status().as_u16(), resp.headers().get("retry-after").is_some())
        }
    };
    assert_eq!(post(0).await.0, 200);
    let admin = sqlx::PgPool::connect(&crate::conformance::schema_url(&url, &schema))
        .await
        .expect("PostgreSQL");
    sqlx::query("ALTER TABLE events RENAME TO events_away")
        .execute(&admin)
        .await
        .expect("renamed");
    let answers = futures::future::join_all((1..21).map(post)).await;
    assert!(
        answers
            .iter()
            .all(|&(status, retry_after)| status == 503 && retry_after),
        "every caller of a failed transaction gets 503 with Retry-After: {answers:?}"
    );
    sqlx::query("ALTER TABLE events_away RENAME TO events")
        .execute(&admin)
        .await
        .expect("renamed back");
    assert_eq!(post(21).await.0, 200, "commits again");
    let ids = a.store.event_ids(100).await.expect("ids");
    assert_eq!(ids.len(), 2, "only the two acknowledged events are stored");
    admin.close().await;
    a.stop().await;
    drop_schema(&url, &schema).await;
}
