//! A dead node's work taken over in seconds (PostgreSQL, INLET_TEST_POSTGRES; skipped
//! without it): node A, SIGKILLed with deliveries in flight and a poll source leased, stops
//! beating; node B frees A's leases after `node_timeout` ("3s" here) and re-attempts the
//! deliveries and polls the source within `node_timeout` + 5 s, where the leases alone
//! (timeout 20 s + 30 s, 60 s for the poll lease) would hold them for close to a minute.
//! A graceful stop hands over at once. A stalled node (SIGSTOP) is taken for dead alike;
//! resumed, it records the attempts it finishes late without applying them.

use std::time::{Duration, Instant};

use crate::conformance::{drop_schema, postgres_store};
use crate::nodes::{SECRET, serve_node};
use crate::provider::FakeApi;
use crate::receiver::{Receiver, Reply};
use crate::support::{Child, standard_post};

fn takeover_node(dir: &std::path::Path, name: &str, db: &str, receiver: &str, api: &str) -> Child {
    serve_node(
        dir,
        name,
        db,
        r#"node_timeout = "3s""#,
        &format!(
            r#"[sources.items]
kind = "poll"
url = "{api}/items"
items = "/data"
id = "/id"
interval = "1s"
idle_interval = "1s"
[destinations.app]
kind = "http"
url = "{receiver}"
timeout = "20s"
retry = ["0s", "1s"]
[[routes]]
from = ["shop"]
to = ["app"]
"#
        ),
    )
}

async fn post_events(ingest: &str, n: usize) {
    let client = reqwest::Client::new();
    for i in 0..n {
        let body = format!(r#"{{"n":{i}}}"#);
        let req = standard_post(&client, ingest, "shop", SECRET, body.as_bytes(), &format!("t{i}"));
        let resp = req.send().await.expect("answered");
        assert_eq!(resp.status().as_u16(), 200);
    }
}

/// Waits up to `limit` for `done`; how long it took.
async fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Node A holding three attempts in flight (its receiver hangs) and the poll lease, node B
/// started beside it, and the receiver now answering at once; `None` without PostgreSQL.
struct Pair {
    a: Child,
    b: Child,
    receiver: Receiver,
    api: FakeApi,
    url: String,
    schema: String,
    _dir: tempfile::TempDir,
}

async fn a_holding_work_and_b_beside_it(label: &str) -> Option<Pair> {
    a_with_these_attempts_in_flight_and_b_beside_it(
        label,
        Reply {
            status: 200,
            retry_after: None,
            delay: Duration::from_secs(60),
        },
    )
    .await
}

/// As above, A's attempts answered with `hang` (its delay is how long they stay in flight).
async fn a_with_these_attempts_in_flight_and_b_beside_it(label: &str, hang: Reply) -> Option<Pair> {
    crate::support::init();
    let (store, url, schema) = postgres_store(label).await?;
    inlet::store::Store::close(&*store).await;
    let db = crate::conformance::schema_url(&url, &schema);
    let receiver = Receiver::start().await;
    // A's attempts hang: they are in flight when it stops.
    receiver.always(hang);
    let api = FakeApi::start(10).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = takeover_node(dir.path(), "a", &db, &receiver.url, &api.base);
    post_events(&a.ingest, 3).await;
    assert!(
        within(Duration::from_secs(20), || receiver.received().len() >= 3)
            .await
            .is_some(),
        "node a attempts all three"
    );
    api.wait_for_calls(1).await;
    let b = takeover_node(dir.path(), "b", &db, &receiver.url, &api.base);
    receiver.always(Reply::status(200));
    // B has started and found everything leased by A.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Some(Pair {
        a,
        b,
        receiver,
        api,
        url,
        schema,
        _dir: dir,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_deliveries_and_poll_source_are_taken_over_within_node_timeout_plus_5s() {
    let Some(mut p) = a_holding_work_and_b_beside_it("takeover").await else {
        return;
    };
    let calls_at_kill = p.api.calls().len();
    p.a.process.kill().expect("SIGKILL");
    p.a.process.wait().expect("reaped");
    let killed = Instant::now();
    let redelivered = within(Duration::from_secs(30), || p.receiver.received().len() >= 6).await;
    let redelivered = redelivered.map(|_| killed.elapsed());
    let polled = within(Duration::from_secs(30), || p.api.calls().len() > calls_at_kill)
        .await
        .map(|_| killed.elapsed());
    assert!(
        redelivered.is_some_and(|t| t <= Duration::from_secs(8)),
        "a's three in-flight deliveries re-attempted by b after {redelivered:?} (bound node_timeout + 5 s = 8 s)"
    );
    assert!(
        polled.is_some_and(|t| t <= Duration::from_secs(8)),
        "a's poll source polled by b after {polled:?}"
    );
    assert!(p.b.logs().contains("a node stopped beating"), "b says why");
    drop(p.b);
    drop_schema(&p.url, &p.schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_hands_its_deliveries_over_at_once() {
    let Some(mut p) = a_holding_work_and_b_beside_it("handover").await else {
        return;
    };
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &p.a.process.id().to_string()])
        .status();
    let stopping = Instant::now();
    p.a.process.wait().expect("a stops");
    let redelivered = within(Duration::from_secs(30), || p.receiver.received().len() >= 6).await;
    let redelivered = redelivered.map(|_| stopping.elapsed());
    assert!(
        redelivered.is_some_and(|t| t <= Duration::from_secs(5)),
        "handed over after {redelivered:?}: shutdown_timeout 1 s, then b claims at once"
    );
    drop(p.b);
    drop_schema(&p.url, &p.schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_node_loses_its_leases_and_resumed_does_not_apply_the_attempts_it_finishes_late() {
    // A's three attempts end in a 500 after 8 s: applied, they would schedule a retry.
    let hang = Reply {
        status: 500,
        retry_after: None,
        delay: Duration::from_secs(8),
    };
    let Some(p) = a_with_these_attempts_in_flight_and_b_beside_it("stall", hang).await else {
        return;
    };
    let pid = p.a.process.id().to_string();
    let signal = |sig: &str| {
        let status = std::process::Command::new("kill").args([sig, &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill {sig}");
    };
    signal("-STOP");
    let stopped = Instant::now();
    let taken = within(Duration::from_secs(30), || p.receiver.received().len() >= 6)
        .await
        .map(|_| stopped.elapsed());
    assert!(
        taken.is_some_and(|t| t <= Duration::from_secs(8)),
        "the stalled node's deliveries re-attempted by b after {taken:?} (bound node_timeout + 5 s)"
    );
    signal("-CONT");
    let late = within(Duration::from_secs(30), || {
        p.a.logs()
            .contains("attempts finished after their lease had passed to another node")
    })
    .await;
    assert!(late.is_some(), "a counts the attempts it finished without a lease");
    let (url, schema) = (p.url.clone(), p.schema.clone());
    let store = inlet::store::postgres::PgStore::open_in_schema(&url, &schema)
        .await
        .expect("opens");
    let ids = inlet::store::Store::event_ids(&store, 10).await.expect("reads");
    assert_eq!(ids.len(), 3);
    for id in ids {
        let event = inlet::store::Store::event(&store, &id)
            .await
            .expect("reads")
            .expect("event");
        let delivery = &event.deliveries[0];
        assert_eq!(
            delivery.state, "delivered",
            "b's 200 stands, a's late 500 changed nothing"
        );
        assert_eq!(delivery.attempts.len(), 2, "a's late attempt and b's are both recorded");
    }
    assert_eq!(p.receiver.received().len(), 6, "no retry followed a's late 500");
    inlet::store::Store::close(&store).await;
    drop(p.a);
    drop(p.b);
    drop_schema(&url, &schema).await;
}
