//! PostgreSQL, one node and two (`BENCH_PHASES=postgres`, `BENCH_POSTGRES` names the
//! database; default postgres://postgres@127.0.0.1/test): each run gets a fresh schema,
//! N release gateways on it, 64 senders split across the nodes for BENCH_SECONDS with a
//! receiver that verifies nothing, then the wait until every acked event was delivered.
//! Reports the ack rate (ingest while delivering), ack p50/p99, and events/s end to end.

use std::time::{Duration, Instant};

use super::e2e::{start_receiver, wait_delivered};
use super::env_or;
use super::load::{Load, load};
use super::process::{gateway_on, stop};

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
    pool.close().await;
}

pub fn run(rt: &tokio::runtime::Runtime) {
    let url: String = env_or("BENCH_POSTGRES", "postgres://postgres@127.0.0.1/test".to_string());
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    println!(
        "\n## PostgreSQL ({seconds}s of 64 senders split across the nodes; destination concurrency 32 per node)\n"
    );
    println!("| nodes | acked/s | ack p50 ms | ack p99 ms | errors | events/s end to end |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let counts: Vec<usize> = std::env::var("BENCH_NODES")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    for nodes in counts {
        let schema = format!("inlet_bench_{nodes}");
        rt.block_on(fresh_schema(&url, &schema));
        let sep = if url.contains('?') { '&' } else { '?' };
        let storage = format!("{url}{sep}options=-c%20search_path%3D{schema}");
        let (counter, receiver) = rt.block_on(start_receiver());
        let dir = tempfile::tempdir().expect("tempdir");
        let destination = format!(
            "[destinations.app]\nkind = \"http\"\nurl = \"{receiver}\"\nconcurrency = 32\n[[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n"
        );
        let mut gateways: Vec<(std::process::Child, String)> = (0..nodes)
            .map(|i| gateway_on(dir.path(), &format!("node{i}.toml"), &storage, &destination))
            .collect();
        let started = Instant::now();
        let reports = rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (_, addr) in &gateways {
                let addr = addr.clone();
                let per_node = 64 / nodes;
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
        let acked: u64 = reports.iter().map(|r| r.acked).sum();
        let rate: f64 = reports.iter().map(|r| r.rate).sum();
        let errors: u64 = reports.iter().map(|r| r.errors).sum();
        let p50 = reports.iter().map(|r| r.p50).fold(0.0, f64::max);
        let p99 = reports.iter().map(|r| r.p99).fold(0.0, f64::max);
        let pid = gateways[0].0.id();
        let load_end = Instant::now();
        let during = counter.delivered.load(std::sync::atomic::Ordering::Relaxed);
        let (done, _) = rt.block_on(wait_delivered(&counter, acked, pid, Duration::from_secs(300)));
        if let Some(d) = done {
            println!(
                "  ({nodes} node(s): {:.0} delivered/s while taking webhooks, then the rest at {:.0}/s)",
                during as f64 / (load_end - started).as_secs_f64(),
                acked.saturating_sub(during) as f64 / (d - load_end).as_secs_f64().max(0.001)
            );
        }
        let e2e = done.map_or("not all delivered in 300 s".to_string(), |d| {
            format!("{:.0}", acked as f64 / (d - started).as_secs_f64())
        });
        println!("| {nodes} | {rate:.0} | {p50:.2} | {p99:.2} | {errors} | {e2e} |");
        for (child, _) in &mut gateways {
            stop(child);
        }
    }
}
