//! Ingest with trace export against ingest without, in one run (`BENCH_PHASES=otlp`): two
//! gateways on SQLite, one with `[telemetry] otlp` pointing at a receiver here that accepts
//! every export and drops it, driven in turns at each concurrency level. What exporting
//! costs the request path is the ratio of the two.

use std::time::Duration;

use super::load::{Load, load};
use super::process::{cpu_ticks, gateway, stop};

/// An OTLP/HTTP endpoint that answers 200 to every export; how many it took.
async fn drop_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let exports = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = exports.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |_body: axum::body::Bytes| {
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async { "" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, exports)
}

pub fn run(rt: &tokio::runtime::Runtime) {
    let seconds: u64 = super::env_or("BENCH_SECONDS", 10);
    let rounds: usize = super::env_or("BENCH_ROUNDS", 3);
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "64,256".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let (otlp, exports) = rt.block_on(drop_receiver());
    let route = "[destinations.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/events\"\n[[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n";
    let (plain_dir, traced_dir) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (mut plain, plain_addr) = gateway(plain_dir.path(), route);
    let (mut traced, traced_addr) = gateway(traced_dir.path(), &format!("{route}[telemetry]\notlp = \"{otlp}\"\n"));
    std::thread::sleep(Duration::from_secs(1));
    let run = |addr: &str, concurrency: usize, pid: u32| {
        let before = cpu_ticks(&pid.to_string());
        let report = rt.block_on(load(Load {
            addr,
            source: "stripe",
            concurrency,
            duration: Duration::from_secs(seconds),
            paced: None,
            max_requests: None,
        }));
        let cpu = (cpu_ticks(&pid.to_string()) - before) as f64 * 10_000.0 / report.acked.max(1) as f64;
        (report, cpu)
    };
    println!("\n## ingest with trace export ({seconds}s per run, {rounds} rounds per level)\n");
    println!(
        "| connections | round | without req/s | with OTLP req/s | with / without | gateway CPU µs/req (without / with) |"
    );
    println!("|---:|---:|---:|---:|---:|---|");
    let mut ratios: Vec<(usize, f64)> = Vec::new();
    for &c in &levels {
        for round in 1..=rounds {
            std::thread::sleep(Duration::from_secs(3));
            let (without, cpu_without) = run(&plain_addr, c, plain.id());
            std::thread::sleep(Duration::from_secs(3));
            let (with, cpu_with) = run(&traced_addr, c, traced.id());
            let ratio = with.rate / without.rate.max(1.0);
            ratios.push((c, ratio));
            println!(
                "| {c} | {round} | {:.0} | {:.0} | {:.2} | {cpu_without:.1} / {cpu_with:.1} |",
                without.rate, with.rate, ratio
            );
        }
    }
    stop(&mut plain);
    stop(&mut traced);
    println!();
    for &c in &levels {
        let mut r: Vec<f64> = ratios.iter().filter(|(l, _)| *l == c).map(|(_, r)| *r).collect();
        r.sort_by(f64::total_cmp);
        println!(
            "{c} connections: with OTLP / without median {:.2} (min {:.2}, max {:.2})",
            r.get(r.len() / 2).copied().unwrap_or(0.0),
            r.first().copied().unwrap_or(0.0),
            r.last().copied().unwrap_or(0.0)
        );
    }
    println!(
        "OTLP exports received: {}",
        exports.load(std::sync::atomic::Ordering::Relaxed)
    );
}
