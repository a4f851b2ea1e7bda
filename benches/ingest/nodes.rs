//! SQLite one node against PostgreSQL one node and two (`BENCH_PHASES=postgres`;
//! `BENCH_POSTGRES` names the database, default postgres://postgres@127.0.0.1/test;
//! `BENCH_NODES` which PostgreSQL rows, default "1,2"), all in one run on the same load:
//! 64 senders split across the nodes for BENCH_SECONDS.
//!
//! Each row is two runs on a fresh store. Ingest only (no route, as in the ingest phase):
//! acked/s and ack p50/p99, and on PostgreSQL the transactions the database committed per
//! acked event (`pg_stat_database`). End to end (a route to a receiver that verifies
//! nothing, destination concurrency 32 per node): events/s from the first send until the
//! receiver has every acked event, and the delivery rate while taking webhooks and after.
//! Then one PostgreSQL node once more, its connections through a loopback proxy that
//! counts round trips (`proxy.rs`), for round trips per acked event.

use std::time::{Duration, Instant};

use super::e2e::{start_receiver, wait_delivered};
use super::env_or;
use super::load::{Load, Report, load};
use super::process::{gateway_on, stop};
use super::proxy;

const SENDERS: usize = 64;

async fn fresh_schema(url: &str, name: &str) {
    let pool = sqlx::PgPool::connect(url).await.expect("PostgreSQL is reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE")))
        .execute(&pool)
        .await
        .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&pool)
        .await
        .expect("create");
    // Each run starts with the last one's writes on disk, not with its checkpoint to pay.
    if let Err(e) = sqlx::query("CHECKPOINT").execute(&pool).await {
        eprintln!("no CHECKPOINT before the run: {e}");
    }
    pool.close().await;
}

/// Transactions the database has committed or rolled back so far.
async fn transactions(url: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.expect("PostgreSQL is reachable");
    let n: i64 = sqlx::query_scalar(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&pool)
    .await
    .expect("pg_stat_database");
    pool.close().await;
    n
}

/// Where a row keeps its events.
#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres(usize),
}

impl Backend {
    fn label(self) -> String {
        match self {
            Backend::Sqlite => "SQLite, 1 node".into(),
            Backend::Postgres(n) => format!("PostgreSQL, {n} node{}", if n == 1 { "" } else { "s" }),
        }
    }

    fn nodes(self) -> usize {
        match self {
            Backend::Sqlite => 1,
            Backend::Postgres(n) => n,
        }
    }
}

/// The gateways of one run: `extra` is appended to each config.
fn start(
    rt: &tokio::runtime::Runtime,
    backend: Backend,
    url: &str,
    tag: &str,
    dir: &std::path::Path,
    extra: &str,
) -> Vec<(std::process::Child, String)> {
    let storage = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join(format!("{tag}.db")).display()),
        Backend::Postgres(_) => {
            let schema = format!("inlet_bench_{tag}");
            rt.block_on(fresh_schema(url, &schema));
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options=-c%20search_path%3D{schema}")
        }
    };
    (0..backend.nodes())
        .map(|i| gateway_on(dir, &format!("{tag}{i}.toml"), &storage, extra))
        .collect()
}

/// 64 senders split across `gateways` for `seconds`; the summed report (rate and acked
/// summed, the worst p50 and p99).
fn drive(rt: &tokio::runtime::Runtime, gateways: &[(std::process::Child, String)], seconds: u64) -> Report {
    let reports = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (_, addr) in gateways {
            let addr = addr.clone();
            let per_node = SENDERS / gateways.len();
            set.spawn(async move {
                load(Load {
                    addr: &addr,
                    source: "stripe",
                    concurrency: per_node,
                    duration: Duration::from_secs(seconds),
                    paced: None,
                    max_requests: None,
                })
                .await
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.expect("load"));
        }
        out
    });
    Report {
        rate: reports.iter().map(|r| r.rate).sum(),
        p50: reports.iter().map(|r| r.p50).fold(0.0, f64::max),
        p99: reports.iter().map(|r| r.p99).fold(0.0, f64::max),
        errors: reports.iter().map(|r| r.errors).sum(),
        acked: reports.iter().map(|r| r.acked).sum(),
    }
}

struct Row {
    label: String,
    ingest: Report,
    transactions_per_event: Option<f64>,
    e2e: Option<f64>,
    during: f64,
    after: f64,
}

fn row(rt: &tokio::runtime::Runtime, backend: Backend, url: &str, seconds: u64) -> Row {
    let tag = match backend {
        Backend::Sqlite => "sqlite".to_string(),
        Backend::Postgres(n) => format!("pg{n}"),
    };
    let dir = tempfile::tempdir().expect("tempdir");

    // Ingest only.
    let mut gateways = start(rt, backend, url, &format!("{tag}_ingest"), dir.path(), "");
    let before = matches!(backend, Backend::Postgres(_)).then(|| rt.block_on(transactions(url)));
    let ingest = drive(rt, &gateways, seconds);
    for (child, _) in &mut gateways {
        stop(child);
    }
    // Backends report their counts to pg_stat_database within a second of going idle.
    std::thread::sleep(Duration::from_millis(1500));
    let transactions_per_event =
        before.map(|b| (rt.block_on(transactions(url)) - b) as f64 / ingest.acked.max(1) as f64);

    // End to end.
    let (counter, receiver) = rt.block_on(start_receiver());
    let destination = format!(
        "[destinations.app]\nkind = \"http\"\nurl = \"{receiver}\"\nconcurrency = 32\n[[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n"
    );
    let mut gateways = start(rt, backend, url, &format!("{tag}_e2e"), dir.path(), &destination);
    let started = Instant::now();
    let sent = drive(rt, &gateways, seconds);
    let load_end = Instant::now();
    let during = counter.delivered.load(std::sync::atomic::Ordering::Relaxed);
    let pid = gateways[0].0.id();
    let (done, _) = rt.block_on(wait_delivered(&counter, sent.acked, pid, Duration::from_secs(300)));
    for (child, _) in &mut gateways {
        stop(child);
    }
    Row {
        label: backend.label(),
        ingest,
        transactions_per_event,
        e2e: done.map(|d| sent.acked as f64 / (d - started).as_secs_f64()),
        during: during as f64 / (load_end - started).as_secs_f64(),
        after: done.map_or(0.0, |d| {
            sent.acked.saturating_sub(during) as f64 / (d - load_end).as_secs_f64().max(0.001)
        }),
    }
}

pub fn run(rt: &tokio::runtime::Runtime) {
    let url: String = env_or("BENCH_POSTGRES", "postgres://postgres@127.0.0.1/test".to_string());
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let mut backends = vec![Backend::Sqlite];
    backends.extend(
        std::env::var("BENCH_NODES")
            .unwrap_or_else(|_| "1,2".into())
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .map(Backend::Postgres),
    );
    let rows: Vec<Row> = backends.iter().map(|b| row(rt, *b, &url, seconds)).collect();

    println!("\n## SQLite and PostgreSQL ({seconds}s of {SENDERS} senders split across the nodes)\n");
    println!(
        "| store | ingest acked/s | × SQLite | × 1 node | ack p50 ms | ack p99 ms | errors | transactions per event | events/s end to end | delivered/s while ingesting, after |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let sqlite = rows[0].ingest.rate;
    let one = rows.get(1).map_or(0.0, |r| r.ingest.rate);
    for (r, b) in rows.iter().zip(&backends) {
        let vs_one = match b {
            Backend::Postgres(n) if *n > 1 && one > 0.0 => format!("{:.2}", r.ingest.rate / one),
            Backend::Sqlite | Backend::Postgres(_) => String::new(),
        };
        println!(
            "| {} | {:.0} | {:.2} | {vs_one} | {:.2} | {:.2} | {} | {} | {} | {:.0}, {:.0} |",
            r.label,
            r.ingest.rate,
            r.ingest.rate / sqlite,
            r.ingest.p50,
            r.ingest.p99,
            r.ingest.errors,
            r.transactions_per_event.map_or(String::new(), |t| format!("{t:.3}")),
            r.e2e.map_or("not all delivered in 300 s".into(), |e| format!("{e:.0}")),
            r.during,
            r.after,
        );
    }

    // Round trips: one node's connections through the counting proxy.
    let counter = rt.block_on(proxy::start(&url));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gateways = start(rt, Backend::Postgres(1), &counter.url, "pg_counted", dir.path(), "");
    let turns = counter.turns();
    let counted = drive(rt, &gateways, seconds.min(5));
    let trips = counter.turns() - turns;
    for (child, _) in &mut gateways {
        stop(child);
    }
    println!(
        "\nRound trips, PostgreSQL 1 node ingest only through a counting proxy: {:.0} acked/s, {:.3} round trips per acked event (every connection: writer, heartbeat, LISTEN)",
        counted.rate,
        trips as f64 / counted.acked.max(1) as f64
    );
}
