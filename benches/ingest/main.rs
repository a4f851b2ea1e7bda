//! Ingest and end-to-end benchmark: `cargo bench --bench ingest`.
//!
//! Ingest: starts the real release `inlet serve` on SQLite in a temp folder, drives
//! distinct, correctly signed Stripe webhooks at it over loopback at fixed concurrencies,
//! and reports requests/s, ack latency p50/p99 and RSS. In the same run it drives the same
//! load at a bare handler (the same hyper serve loop answering 200 without verifying or
//! storing): the ceiling, in turns with the ingest runs. Before those it paces 2,000
//! requests/s (the connections' sends spread evenly) to read ack p99 at that rate on a gateway
//! in steady state, and the same pace at the bare handler for reference. Each run also
//! reports the CPU time the server and the load generator spent per request.
//!
//! End to end (`e2e`): events/s from signed webhook to a local receiver that verifies
//! nothing, then a 100,000-event backlog built while the receiver is down, and its drain
//! rate and the gateway's RSS once it is back.
//!
//! Load generator, receiver and gateway share this machine's cores. Knobs (env):
//! BENCH_SECONDS (default 10), BENCH_CONCURRENCY (a list, default "64,256"), BENCH_ROUNDS
//! (ceiling/ingest pairs per level, default 3), BENCH_INLET (another gateway binary),
//! BENCH_PHASES ("ingest,e2e"; "postgres" for SQLite against one and two nodes on
//! PostgreSQL in one run, see `nodes.rs`; "kinds" for end to end into each destination
//! kind, see `kinds.rs`; "otlp" for ingest with trace export against without, see
//! `otlp.rs`), BENCH_BACKLOG (default 100000).

mod e2e;
mod kinds;
mod load;
mod nodes;
mod otlp;
mod process;
mod proxy;

use std::time::Duration;

use load::{Load, load};
use process::{cpu_ticks, gateway, rss_kib, spawn, stop};

fn main() {
    if std::env::var_os("INLET_BENCH_BARE").is_some() {
        return process::bare_server();
    }
    let phases = std::env::var("BENCH_PHASES").unwrap_or_else(|_| "ingest,e2e".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if phases.contains("ingest") {
        ingest(&rt);
    }
    if phases.contains("e2e") {
        e2e::run(&rt);
    }
    if phases.contains("postgres") {
        nodes::run(&rt);
    }
    if phases.contains("kinds") {
        kinds::run(&rt);
    }
    if phases.contains("otlp") {
        otlp::run(&rt);
    }
}

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ingest(rt: &tokio::runtime::Runtime) {
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "64,256".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let duration = Duration::from_secs(seconds);
    // One run, with the CPU time the server (`pid`) and this process (the load generator)
    // spent per acked request, in microseconds.
    let run = |addr: &str, source: &str, concurrency: usize, paced: Option<u32>, pid: u32| {
        let (server, own) = (cpu_ticks(&pid.to_string()), cpu_ticks("self"));
        let report = rt.block_on(load(Load {
            addr,
            source,
            concurrency,
            duration,
            paced,
            max_requests: None,
        }));
        let per = |ticks: u64| ticks as f64 * 10_000.0 / report.acked.max(1) as f64;
        let cpu = (per(cpu_ticks(&pid.to_string()) - server), per(cpu_ticks("self") - own));
        (report, cpu)
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let route = "[destinations.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/events\"\n[[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n";
    let (mut gw, addr) = gateway(dir.path(), route);
    let exe = std::env::current_exe().expect("bench exe");
    let (mut bare, bare_addr) = spawn(std::process::Command::new(exe).env("INLET_BENCH_BARE", "1"));
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = rss_kib(gw.id(), "VmRSS");
    // The paced run first, on a gateway in steady state.
    let (paced, _) = run(&addr, "stripe", 64, Some(2000), gw.id());
    // The same pace at the bare handler: what the loopback and the load generator alone add.
    let (paced_bare, _) = run(&bare_addr, "bare", 64, Some(2000), bare.id());
    // Then ceiling and ingest in turns, so both see the same moment of this shared VM
    // (its speed drifts by ±15 % over minutes); a pause before each ingest run lets the
    // previous run's WAL checkpoints finish.
    let mut rows = Vec::new();
    for &c in &levels {
        for round in 1..=rounds {
            std::thread::sleep(Duration::from_secs(1));
            let ceiling = run(&bare_addr, "bare", c, None, bare.id());
            std::thread::sleep(Duration::from_secs(3));
            let ingest = run(&addr, "stripe", c, None, gw.id());
            rows.push((c, round, ceiling, ingest));
        }
    }
    let peak_rss = rss_kib(gw.id(), "VmHWM");
    stop(&mut gw);
    stop(&mut bare);

    println!("\n## ingest ({seconds}s per run, {rounds} rounds per level)\n");
    println!(
        "| connections | round | ceiling req/s | ingest req/s | ingest / ceiling | ingest p50 / p99 ms | errors | server CPU µs/req (ceiling / ingest) | load generator CPU µs/req (ceiling / ingest) |"
    );
    println!("|---:|---:|---:|---:|---:|---|---:|---|---|");
    for (c, round, (bare, bare_cpu), (ing, ing_cpu)) in &rows {
        println!(
            "| {c} | {round} | {:.0} | {:.0} | {:.1} % | {:.2} / {:.2} | {} | {:.1} / {:.1} | {:.1} / {:.1} |",
            bare.rate,
            ing.rate,
            100.0 * ing.rate / bare.rate,
            ing.p50,
            ing.p99,
            bare.errors + ing.errors,
            bare_cpu.0,
            ing_cpu.0,
            bare_cpu.1,
            ing_cpu.1
        );
    }
    println!();
    for &c in &levels {
        let mut ratios: Vec<f64> = rows
            .iter()
            .filter(|r| r.0 == c)
            .map(|(_, _, (bare, _), (ing, _))| 100.0 * ing.rate / bare.rate)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let median = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);
        println!(
            "{c} connections: ingest / ceiling median {median:.1} % (min {:.1} %, max {:.1} %)",
            ratios.first().copied().unwrap_or(0.0),
            ratios.last().copied().unwrap_or(0.0)
        );
    }
    println!(
        "paced at 2,000/s (64 connections): {:.0} req/s, ack p50 {:.2} ms, p99 {:.2} ms, {} errors",
        paced.rate, paced.p50, paced.p99, paced.errors
    );
    println!(
        "the bare handler at the same pace: ack p50 {:.2} ms, p99 {:.2} ms",
        paced_bare.p50, paced_bare.p99
    );
    println!(
        "\ngateway RSS: idle {:.1} MB, peak {:.1} MB",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
}
