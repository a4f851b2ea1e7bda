//! One store conformance suite, run against every backend through `trait Store`: ingest,
//! duplicates (also concurrent), claim, lease expiry, complete, retry scheduling, dead,
//! replay, a poll cursor committed with its events (and a reset winning), the next poll run's
//! time, event pages both ways (newest first before a cursor, oldest first after one), prune; for the
//! several-node store also two nodes on one database (a completion after its lease passed
//! to the other node). Each check uses its own names, so one store can run them all.

use std::sync::Arc;

use inlet::domain::{
    AttemptRecord, Completion, CursorCommit, EventFilter, EventStatus, NewEvent, NextStep, PageStart, PendingDelivery,
    PollCounts, PollWrite, ReplaySelection, RunEnd, Via, new_event_id,
};
use inlet::store::Store;

const T0: i64 = 1_800_000_000_000;

fn event(source: &str, key: &str, destinations: &[&str], at: i64) -> NewEvent {
    NewEvent {
        id: new_event_id(),
        source: source.into(),
        dedupe_group: source.into(),
        dedupe_key: key.into(),
        event_type: Some("t".into()),
        via: Via::Webhook,
        received_at: at,
        occurred_at: None,
        content_type: Some("application/json".into()),
        headers: vec![("x-id".into(), key.into())],
        body: bytes::Bytes::from(format!(r#"{{"key":"{key}"}}"#)),
        destinations: destinations
            .iter()
            .map(|d| PendingDelivery {
                destination: d.to_string(),
                due_at: at,
                order: None,
            })
            .collect(),
        traceparent: None,
    }
}

fn attempt(at: i64, status: u16) -> AttemptRecord {
    AttemptRecord {
        at,
        status_code: Some(status),
        latency_ms: 3,
        error: (status >= 300).then(|| format!("HTTP {status}")),
        response_excerpt: None,
    }
}

/// Every check, in order, on `store`.
pub async fn run(store: Arc<dyn Store>) {
    ingest_and_duplicates(&store).await;
    concurrent_duplicates(&store).await;
    claim_lease_and_expiry(&store).await;
    a_renewed_lease_holds_past_its_first_expiry(&store).await;
    complete_retry_dead_and_replay(&store).await;
    cursor_with_its_events(&store).await;
    the_next_poll_run_and_its_failures_are_stored(&store).await;
    pages_go_both_ways_from_a_cursor(&store).await;
    prune_keeps_pending(&store).await;
}

async fn pages_go_both_ways_from_a_cursor(store: &Arc<dyn Store>) {
    let mut ids = Vec::new();
    for n in 0..5 {
        let e = event("c_pages", &format!("p{n}"), &[], T0 + n);
        ids.push(store.ingest(e).await.expect("ingests").id);
    }
    let only = || EventFilter {
        source: Some("c_pages".into()),
        ..EventFilter::default()
    };
    let listed = |page: &inlet::domain::EventPage| page.items.iter().map(|(_, e)| e.id.clone()).collect::<Vec<_>>();
    let oldest = store.list_events(only(), PageStart::After(0), 2).await.expect("lists");
    assert_eq!(listed(&oldest), ids[..2], "oldest first");
    let next = oldest.next.expect("more after the page");
    assert_eq!(
        next, oldest.items[1].0,
        "the cursor continues after the page's last event"
    );
    let rest = store
        .list_events(only(), PageStart::After(next), 10)
        .await
        .expect("lists");
    assert_eq!(listed(&rest), ids[2..]);
    assert_eq!(rest.next, None);
    let newest = store.list_events(only(), PageStart::Newest, 2).await.expect("lists");
    assert_eq!(listed(&newest), [ids[4].clone(), ids[3].clone()]);
    let older = store
        .list_events(only(), PageStart::Before(newest.next.expect("more")), 10)
        .await
        .expect("lists");
    assert_eq!(listed(&older), [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    let last = rest.items.last().expect("an event").0;
    assert!(
        store
            .list_events(only(), PageStart::After(last), 10)
            .await
            .expect("lists")
            .items
            .is_empty()
    );
}

async fn the_next_poll_run_and_its_failures_are_stored(store: &Arc<dyn Store>) {
    let before = store.poll_state("c_sched").await.expect("reads");
    assert_eq!((before.next_run_at, before.failures), (None, 0), "never scheduled");
    store.poll_schedule("c_sched", T0 + 4000, 3).await.expect("schedules");
    let after = store.poll_state("c_sched").await.expect("reads");
    assert_eq!((after.next_run_at, after.failures), (Some(T0 + 4000), 3));
    store.poll_schedule("c_sched", T0 + 9000, 0).await.expect("schedules");
    let states = store.poll_states().await.expect("reads");
    let (_, state) = states.iter().find(|(s, _)| s == "c_sched").expect("listed");
    assert_eq!((state.next_run_at, state.failures), (Some(T0 + 9000), 0));
}

async fn ingest_and_duplicates(store: &Arc<dyn Store>) {
    let first = store
        .ingest(event("c_ingest", "k1", &["c_ingest_d"], T0))
        .await
        .expect("ingests");
    assert!(!first.duplicate);
    let again = store
        .ingest(event("c_ingest", "k1", &["c_ingest_d"], T0))
        .await
        .expect("ingests");
    assert!(again.duplicate);
    assert_eq!(again.id, first.id, "the first event's id");
    let stored = store.event(&first.id).await.expect("reads").expect("stored");
    assert_eq!(stored.event.dedupe_key, "k1");
    assert_eq!(stored.event.body, br#"{"key":"k1"}"#.to_vec());
    assert_eq!(stored.deliveries.len(), 1);
    assert_eq!(stored.deliveries[0].state, "pending");
    let other_group = NewEvent {
        dedupe_group: "c_ingest_other".into(),
        ..event("c_ingest", "k1", &[], T0)
    };
    assert!(
        !store.ingest(other_group).await.expect("ingests").duplicate,
        "keys are per group"
    );
}

async fn concurrent_duplicates(store: &Arc<dyn Store>) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        set.spawn(async move { store.ingest(event("c_conc", "same", &["c_conc_d"], T0)).await });
    }
    let mut answers = Vec::new();
    while let Some(r) = set.join_next().await {
        answers.push(r.expect("joins").expect("ingests"));
    }
    assert_eq!(answers.iter().filter(|a| !a.duplicate).count(), 1);
    let id = &answers[0].id;
    assert!(answers.iter().all(|a| &a.id == id));
}

async fn claim_lease_and_expiry(store: &Arc<dyn Store>) {
    store
        .ingest(event("c_claim", "k", &["c_claim_d"], T0))
        .await
        .expect("ingests");
    assert!(
        store
            .claim("c_claim_d", T0 - 1, 10, T0 + 1000)
            .await
            .expect("claims")
            .is_empty(),
        "not due yet"
    );
    let claims = store.claim("c_claim_d", T0, 10, T0 + 1000).await.expect("claims");
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].event.dedupe_key, "k");
    assert!(
        store
            .claim("c_claim_d", T0 + 500, 10, T0 + 2000)
            .await
            .expect("claims")
            .is_empty(),
        "leased"
    );
    let again = store
        .claim("c_claim_d", T0 + 1001, 10, T0 + 5000)
        .await
        .expect("claims");
    assert_eq!(again.len(), 1, "an expired lease is claimed again");
    store.release(vec![again[0].key.clone()]).await.expect("releases");
    assert_eq!(
        store
            .claim("c_claim_d", T0 + 1002, 10, T0 + 6000)
            .await
            .expect("claims")
            .len(),
        1,
        "released"
    );
}

async fn a_renewed_lease_holds_past_its_first_expiry(store: &Arc<dyn Store>) {
    store
        .ingest(event("c_renew", "k", &["c_renew_d"], T0))
        .await
        .expect("ingests");
    let claims = store.claim("c_renew_d", T0, 10, T0 + 1000).await.expect("claims");
    assert_eq!(claims.len(), 1);
    store
        .renew(vec![claims[0].key.clone()], T0 + 5000)
        .await
        .expect("renews");
    let during = store
        .claim("c_renew_d", T0 + 2000, 10, T0 + 9000)
        .await
        .expect("claims");
    assert!(during.is_empty(), "renewed: still leased after the first lease ran out");
    let after = store
        .claim("c_renew_d", T0 + 5001, 10, T0 + 9000)
        .await
        .expect("claims");
    assert_eq!(after.len(), 1, "a renewed lease that runs out is claimed again");
    store.release(vec![after[0].key.clone()]).await.expect("releases");
    store
        .renew(vec![after[0].key.clone()], T0 + 20_000)
        .await
        .expect("renews");
    let released = store
        .claim("c_renew_d", T0 + 5002, 10, T0 + 9000)
        .await
        .expect("claims");
    assert_eq!(released.len(), 1, "renewing a released lease takes nothing back");
}

async fn complete_retry_dead_and_replay(store: &Arc<dyn Store>) {
    let ingested = store
        .ingest(event("c_done", "k", &["c_done_d"], T0))
        .await
        .expect("ingests");
    let claim = store
        .claim("c_done_d", T0, 1, T0 + 1000)
        .await
        .expect("claims")
        .remove(0);
    let retry_at = T0 + 5000;
    store
        .complete(vec![Completion {
            key: claim.key.clone(),
            steps_used: 1,
            attempt: attempt(T0, 500),
            next: NextStep::RetryAt {
                at: retry_at,
                used_step: true,
            },
        }])
        .await
        .expect("completes");
    assert_eq!(store.next_due("c_done_d").await.expect("reads"), Some(retry_at));
    assert!(
        store
            .claim("c_done_d", retry_at - 1, 1, T0 + 9000)
            .await
            .expect("claims")
            .is_empty()
    );
    let claim = store
        .claim("c_done_d", retry_at, 1, retry_at + 1000)
        .await
        .expect("claims")
        .remove(0);
    assert_eq!(claim.steps_used, 1);
    store
        .complete(vec![Completion {
            key: claim.key,
            steps_used: 2,
            attempt: attempt(retry_at, 500),
            next: NextStep::Dead {
                reason: "schedule used up".into(),
            },
        }])
        .await
        .expect("completes");
    let stored = store.event(&ingested.id).await.expect("reads").expect("event");
    assert_eq!(stored.deliveries[0].state, "dead");
    assert_eq!(stored.deliveries[0].attempts.len(), 2);
    let filter = EventFilter {
        source: Some("c_done".into()),
        status: Some(EventStatus::Dead),
        ..EventFilter::default()
    };
    assert_eq!(
        store
            .list_events(filter, PageStart::Newest, 10)
            .await
            .expect("lists")
            .items
            .len(),
        1
    );
    let n = store
        .replay(
            ReplaySelection::Event {
                id: ingested.id.clone(),
                destination: None,
            },
            retry_at + 10,
        )
        .await
        .expect("replays");
    assert_eq!(n, 1);
    let claim = store
        .claim("c_done_d", retry_at + 10, 1, retry_at + 2000)
        .await
        .expect("claims")
        .remove(0);
    assert_eq!(claim.steps_used, 0, "the schedule starts again");
    assert_eq!(claim.event.id, ingested.id, "the same event, so the same webhook-id");
    let stored = store.event(&ingested.id).await.expect("reads").expect("event");
    assert_eq!(stored.deliveries[0].attempts.len(), 2, "attempts are kept");
}

async fn cursor_with_its_events(store: &Arc<dyn Store>) {
    let state = store.poll_state("c_poll").await.expect("reads");
    assert_eq!(state.cursor, None);
    let write = PollWrite {
        source: "c_poll".into(),
        events: vec![event("c_poll", "p1", &[], T0), event("c_poll", "p2", &[], T0)],
        recovers: true,
        counts: PollCounts {
            requests: 1,
            items: 2,
            ..PollCounts::default()
        },
        end: Some(RunEnd {
            at: T0,
            cursor: Some(CursorCommit {
                value: Some("100".into()),
                generation: state.generation,
            }),
            new_before: 0,
            error: None,
            paused_until: None,
        }),
    };
    let written = store.poll_write(write).await.expect("writes");
    assert_eq!(written.ingested.iter().filter(|i| !i.duplicate).count(), 2);
    let state = store.poll_state("c_poll").await.expect("reads");
    assert_eq!(state.cursor.as_deref(), Some("100"));
    assert_eq!(state.counts.new_events, 2);
    assert_eq!(state.counts.recovered, 2);
    assert_eq!(state.counts.runs, 1);
    // A run that read the state before a reset does not put its cursor back.
    store.reset_cursor("c_poll").await.expect("resets");
    let stale = PollWrite {
        source: "c_poll".into(),
        events: vec![event("c_poll", "p2", &[], T0)],
        recovers: true,
        counts: PollCounts::default(),
        end: Some(RunEnd {
            at: T0,
            cursor: Some(CursorCommit {
                value: Some("200".into()),
                generation: state.generation,
            }),
            new_before: 0,
            error: None,
            paused_until: Some(T0 + 2000),
        }),
    };
    let written = store.poll_write(stale).await.expect("writes");
    assert!(written.ingested[0].duplicate);
    let state = store.poll_state("c_poll").await.expect("reads");
    assert_eq!(state.cursor, None, "the reset wins");
    assert_eq!(state.paused_until, Some(T0 + 2000));
    assert_eq!(state.counts.duplicates, 1);
}

async fn prune_keeps_pending(store: &Arc<dyn Store>) {
    let old = T0 - 10_000_000;
    let done = store
        .ingest(event("c_prune", "done", &["c_prune_d"], old))
        .await
        .expect("ingests");
    let waiting = store
        .ingest(event("c_prune", "waiting", &["c_prune_wait"], old))
        .await
        .expect("ingests");
    let claim = store
        .claim("c_prune_d", old, 1, old + 1000)
        .await
        .expect("claims")
        .remove(0);
    store
        .complete(vec![Completion {
            key: claim.key,
            steps_used: 1,
            attempt: attempt(old, 200),
            next: NextStep::Delivered,
        }])
        .await
        .expect("completes");
    let mut pruned = 0;
    loop {
        let n = store.prune(old + 1, 500).await.expect("prunes");
        pruned += n;
        if n == 0 {
            break;
        }
    }
    assert!(pruned >= 1);
    assert!(
        store.event(&done.id).await.expect("reads").is_none(),
        "finished and old: gone"
    );
    assert!(
        store.event(&waiting.id).await.expect("reads").is_some(),
        "pending: kept"
    );
    let again = store.ingest(event("c_prune", "done", &[], T0)).await.expect("ingests");
    assert!(!again.duplicate, "its dedupe key went with it");
}

#[tokio::test]
async fn the_sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> =
        Arc::new(inlet::store::sqlite::SqliteStore::open(&dir.path().join("c.db")).expect("opens"));
    run(store.clone()).await;
    store.close().await;
}

/// PostgreSQL from INLET_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1/test), in a
/// throw-away schema; `None` (and a note) without it.
pub async fn postgres_store(label: &str) -> Option<(Arc<inlet::store::postgres::PgStore>, String, String)> {
    let Some(url) = std::env::var("INLET_TEST_POSTGRES").ok().filter(|u| !u.is_empty()) else {
        eprintln!("skipped: set INLET_TEST_POSTGRES=postgres://postgres@127.0.0.1/test to run the PostgreSQL tests");
        return None;
    };
    let schema = format!("inlet_{label}_{}", uuid::Uuid::now_v7().simple());
    let store = inlet::store::postgres::PgStore::open_in_schema(&url, &schema)
        .await
        .expect("PostgreSQL is reachable");
    Some((Arc::new(store), url, schema))
}

/// `url` with `schema` as its search_path: what a child node's `storage.url` says.
pub fn schema_url(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// Drops a schema `postgres_store` made.
pub async fn drop_schema(url: &str, schema: &str) {
    if let Ok(pool) = sqlx::PgPool::connect(url).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}

#[tokio::test]
async fn the_postgres_store_passes_the_conformance_suite() {
    let Some((store, url, schema)) = postgres_store("conformance").await else {
        return;
    };
    run(store.clone()).await;
    let other: Arc<dyn Store> = Arc::new(
        inlet::store::postgres::PgStore::open_in_schema(&url, &schema)
            .await
            .expect("a second node opens"),
    );
    a_completion_whose_lease_passed_to_another_node_changes_nothing(&(store.clone() as Arc<dyn Store>), &other).await;
    other.close().await;
    store.close().await;
    drop_schema(&url, &schema).await;
}

/// Two nodes on one database (several-node stores only): `a`'s lease runs out, `b` claims
/// the delivery, then `a`'s attempt finishes. It is recorded and counted as lost, and the
/// delivery stays `b`'s until `b` completes it.
async fn a_completion_whose_lease_passed_to_another_node_changes_nothing(a: &Arc<dyn Store>, b: &Arc<dyn Store>) {
    let ingested = a
        .ingest(event("c_lost", "k", &["c_lost_d"], T0))
        .await
        .expect("ingests");
    let first = a.claim("c_lost_d", T0, 1, T0 + 1000).await.expect("claims").remove(0);
    let second = b
        .claim("c_lost_d", T0 + 1001, 1, T0 + 60_000)
        .await
        .expect("claims")
        .remove(0);
    let lost = a
        .complete(vec![Completion {
            key: first.key.clone(),
            steps_used: 1,
            attempt: attempt(T0 + 1500, 500),
            next: NextStep::RetryAt {
                at: T0 + 2000,
                used_step: true,
            },
        }])
        .await
        .expect("completes");
    assert_eq!(lost, 1, "a no longer held the lease");
    let stored = a.event(&ingested.id).await.expect("reads").expect("event");
    assert_eq!(stored.deliveries[0].attempts.len(), 1, "the late attempt is recorded");
    assert!(
        a.claim("c_lost_d", T0 + 2000, 1, T0 + 60_000)
            .await
            .expect("claims")
            .is_empty(),
        "still b's: a's retry was not applied"
    );
    let lost = b
        .complete(vec![Completion {
            key: second.key,
            steps_used: 1,
            attempt: attempt(T0 + 2500, 200),
            next: NextStep::Delivered,
        }])
        .await
        .expect("completes");
    assert_eq!(lost, 0);
    let stored = b.event(&ingested.id).await.expect("reads").expect("event");
    assert_eq!(stored.deliveries[0].state, "delivered");
    assert_eq!(stored.deliveries[0].attempts.len(), 2);
}
