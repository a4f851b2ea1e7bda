//! The `postgres` destination against this machine's PostgreSQL, read back with sqlx: one
//! row per event through replays and a SIGKILL, the mirror's newest version per object
//! whatever the order, and a table that lacks a column refusing start-up. Skipped (and
//! says so) unless INLET_TEST_POSTGRES names a database (`.ci/run` sets it).

use std::collections::HashSet;
use std::time::Duration;

use rand::seq::SliceRandom;
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Row};

use crate::support::{
    Child, TestApp, destination_view, eventually, post_many, settings, shop_source, standard_post, write_config,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn database() -> Option<String> {
    crate::support::service(
        "INLET_TEST_POSTGRES",
        "postgres://postgres@127.0.0.1/test",
        "postgres destination",
    )
}

fn config(url: &str, table: &str, mirror: &str) -> String {
    let shop = shop_source(SECRET);
    format!(
        r#"{shop}
[destinations.warehouse]
kind = "postgres"
url = "{url}"
table = "{table}"
{mirror}
retry = ["0s", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms", "200ms"]

[[routes]]
from = ["shop"]
to = ["warehouse"]
"#
    )
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query(AssertSqlSafe(format!("SELECT count(*) FROM \"{table}\"")))
        .fetch_one(pool)
        .await
        .map_or(0, |row| row.get::<i64, _>(0))
}

async fn drop_tables(pool: &PgPool, tables: &[&str]) {
    for table in tables {
        let _ = sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS \"{table}\"")))
            .execute(pool)
            .await;
    }
}

/// Waits until the destination has delivered at least `n` and has nothing pending.
async fn settled(client: &reqwest::Client, admin: &str, n: u64) -> serde_json::Value {
    eventually(
        &format!("{n} delivered, none pending"),
        Duration::from_secs(60),
        async || {
            let d = destination_view(client, admin).await?;
            let counts = &d["deliveries"];
            (counts["pending"] == 0 && counts["delivered"].as_u64()? >= n).then_some(d)
        },
    )
    .await
}

/// Replays every delivered delivery through the admin API; returns how many.
async fn replay_all(client: &reqwest::Client, admin: &str) -> u64 {
    let answer: serde_json::Value = client
        .post(format!("{admin}/api/v1/replay"))
        .bearer_auth("t")
        .json(&serde_json::json!({ "delivery_status": "delivered" }))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    answer["replayed"].as_u64().expect("replayed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_one_row_through_a_sigkill_and_a_replay_of_everything() {
    let Some(url) = database() else { return };
    let pool = PgPool::connect(&url).await.expect("PostgreSQL is reachable");
    let table = unique("inlet_dest");
    let dir = tempfile::tempdir().expect("tempdir");
    // The child's listeners on port 0 and its own SQLite file, with the admin token.
    let text = config(&url, &table, "").replace("[admin]\ntoken = \"t\"\n", "");
    let path = write_config(dir.path(), &text);
    let head = std::fs::read_to_string(&path).expect("written");
    std::fs::write(&path, head.replacen("[admin]\n", "[admin]\ntoken = \"t\"\n", 1)).expect("written");
    let client = reqwest::Client::new();

    // Events are posted one after another while the gateway is killed under them.
    let mut child = Child::serve(&path, &[]);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let poster = {
        let (client, base, acked) = (client.clone(), child.ingest.clone(), acked.clone());
        tokio::spawn(async move {
            for i in 0..2000 {
                let body = format!(r#"{{"n":{i},"type":"order.created"}}"#);
                let sent = standard_post(&client, &base, "shop", SECRET, body.as_bytes(), &format!("k-{i}")).send();
                let Ok(resp) = sent.await else { break };
                let Ok(answer) = resp.json::<serde_json::Value>().await else {
                    break;
                };
                acked
                    .lock()
                    .expect("acked")
                    .push(answer["id"].as_str().expect("id").to_string());
            }
        })
    };
    eventually("rows before the kill", Duration::from_secs(30), async || {
        (count(&pool, &table).await >= 100).then_some(())
    })
    .await;
    child.process.kill().expect("SIGKILL");
    child.process.wait().expect("reaped");
    poster.await.expect("the poster stops at the kill");
    let written = count(&pool, &table).await;
    let mut ids = acked.lock().expect("acked").clone();
    assert!(ids.len() < 2000, "the gateway died mid-stream ({} acked)", ids.len());

    let again = Child::serve(&path, &[]);
    ids.extend(post_many(&client, &again.ingest, "shop", SECRET, "l", 500).await);
    let total = ids.len() as u64;
    settled(&client, &again.admin, total).await;
    let replayed = replay_all(&client, &again.admin).await;
    assert!(replayed >= total, "every delivery was replayed ({replayed} of {total})");
    let d = settled(&client, &again.admin, replayed).await;
    assert_eq!(d["deliveries"]["dead"], 0, "no attempt failed on a repeated row: {d}");

    // One row per event: the request cut off by the kill may have been committed without
    // its answer, and then has its row too.
    let rows_now = count(&pool, &table).await as u64;
    assert!(
        (total..=total + 1).contains(&rows_now),
        "{rows_now} rows for {total} acknowledged events ({written} written before the kill)"
    );
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT id, source, type, via, payload::text, payload_base64, state::text, received_at IS NOT NULL \
         FROM \"{table}\" ORDER BY received_at"
    )))
    .fetch_all(&pool)
    .await
    .expect("rows");
    let stored: HashSet<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
    for id in &ids {
        assert!(stored.contains(id), "{id} was acknowledged and has no row");
    }
    let row = &rows[0];
    assert_eq!(row.get::<String, _>(1), "shop");
    assert_eq!(row.get::<String, _>(2), "order.created");
    assert_eq!(row.get::<String, _>(3), "webhook");
    let payload: serde_json::Value = serde_json::from_str(&row.get::<String, _>(4)).expect("payload is JSON");
    assert_eq!(payload["type"], "order.created");
    assert!(payload["n"].is_number(), "{payload}");
    assert!(row.get::<Option<String>, _>(5).is_none(), "a JSON body goes in payload");
    assert!(row.get::<Option<String>, _>(6).is_none(), "no state without hydration");
    assert!(row.get::<bool, _>(7));
    drop(again);
    drop_tables(&pool, &[&table]).await;
}

/// `{"type": "order.updated", "object": {"id": "o{obj}", "v": v}}`, message id `id`.
async fn post_version(app: &TestApp, id: &str, obj: u32, v: u32) -> bool {
    let body = format!(r#"{{"type":"order.updated","object":{{"id":"o{obj}","v":{v}}}}}"#);
    let resp = standard_post(&app.client, &app.base, "shop", SECRET, body.as_bytes(), id)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    let answer: serde_json::Value = resp.json().await.expect("JSON");
    answer["duplicate"] == false
}

#[tokio::test]
async fn the_mirror_holds_each_objects_highest_version_whatever_the_order_duplicates_and_replays() {
    let Some(url) = database() else { return };
    let pool = PgPool::connect(&url).await.expect("PostgreSQL is reachable");
    let (table, mirror) = (unique("inlet_dest"), unique("inlet_mirror"));
    let spec = format!(r#"mirror = {{ table = "{mirror}", key = "/object/id", version = "/object/v" }}"#);
    let app = TestApp::spawn(&config(&url, &table, &spec)).await;

    // 20 versions of 10 objects, a second event for every fifth version, and a resent
    // request (the same message id) for every seventh: all shuffled, 8 in flight at a time.
    let mut sends: Vec<(String, u32, u32)> = Vec::new();
    for obj in 0..10 {
        for v in 1..=20 {
            sends.push((format!("m-{obj}-{v}"), obj, v));
            if v % 5 == 0 {
                sends.push((format!("m-{obj}-{v}-again"), obj, v));
            }
            if v % 7 == 0 {
                sends.push((format!("m-{obj}-{v}"), obj, v));
            }
        }
    }
    sends.shuffle(&mut rand::rng());
    let new = {
        use futures::StreamExt;
        futures::stream::iter(sends.iter())
            .map(|(id, obj, v)| post_version(&app, id, *obj, *v))
            .buffer_unordered(8)
            .collect::<Vec<bool>>()
            .await
            .into_iter()
            .filter(|n| *n)
            .count() as u64
    };
    assert_eq!(
        new, 240,
        "200 versions and 40 second events; the resent requests are duplicates"
    );
    let keyless = standard_post(&app.client, &app.base, "shop", SECRET, br#"{"type":"note"}"#, "keyless");
    assert_eq!(keyless.send().await.expect("answered").status().as_u16(), 200);
    app.wait_for_deliveries("warehouse", "delivered", new + 1, Duration::from_secs(60))
        .await;
    let replayed = replay_all(&app.client, &app.admin).await;
    assert_eq!(
        replayed,
        new + 1,
        "every delivery replayed, older versions after newer ones"
    );
    settled(&app.client, &app.admin, replayed).await;

    assert_eq!(
        count(&pool, &table).await,
        241,
        "an events row for each, the keyless one too"
    );
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT key, version, (doc -> 'object' ->> 'v')::int, source FROM \"{mirror}\" ORDER BY key"
    )))
    .fetch_all(&pool)
    .await
    .expect("mirror rows");
    let got: Vec<(String, String, i32, String)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    let want: Vec<(String, String, i32, String)> = (0..10)
        .map(|obj| (format!("o{obj}"), "20".to_string(), 20, "shop".to_string()))
        .collect();
    assert_eq!(
        got, want,
        "one row per object, at its highest version; none for the keyless event"
    );
    app.stop().await;
    drop_tables(&pool, &[&table, &mirror]).await;
}

#[tokio::test]
async fn an_existing_table_without_a_column_refuses_start_up_naming_it() {
    let Some(url) = database() else { return };
    crate::support::init();
    let pool = PgPool::connect(&url).await.expect("PostgreSQL is reachable");
    let table = unique("inlet_dest");
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE \"{table}\" (id text PRIMARY KEY, source text, type text)"
    )))
    .execute(&pool)
    .await
    .expect("created");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = settings(&config(&url, &table, ""), dir.path());
    let store = std::sync::Arc::new(inlet::store::sqlite::SqliteStore::open(&s.storage.sqlite_path).expect("store"));
    let built = inlet::App::build_with(s, store, std::sync::Arc::new(inlet::workers::SystemClock)).await;
    let error = format!("{:#}", built.err().expect("refused"));
    assert!(error.contains("destination warehouse"), "{error}");
    assert!(
        error.contains(&format!("table {table} has no column \"dedupe_key\"")),
        "{error}"
    );
    drop_tables(&pool, &[&table]).await;
}
