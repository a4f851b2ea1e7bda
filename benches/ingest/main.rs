//! Ingest and end-to-end benchmark: `cargo bench --bench ingest`.
//!
//! Ingest: starts the real release `inlet serve` on SQLite in a temp folder, drives
//! distinct, correctly signed Stripe webhooks at it over loopback at fixed concurrencies,
//! and reports requests/s, ack latency p50/p99 and RSS. In the same run it drives the same
//! load at a bare handler (the same hyper serve loop answering 200 without verifying or
//! storing): the ceiling. Before those it paces 2,000 requests/s to read ack p99 at that
//! rate on a gateway in steady state.
//!
//! End to end (`e2e`): events/s from signed webhook to a local receiver that verifies
//! nothing, then a 100,000-event backlog built while the receiver is down, and its drain
//! rate and the gateway's RSS once it is back.
//!
//! Load generator, receiver and gateway share this machine's cores. Knobs (env):
//! BENCH_SECONDS (default 10), BENCH_CONCURRENCY (a list, default "64,256"),
//! BENCH_PHASES ("ingest,e2e"; add "postgres" for one and two nodes on PostgreSQL, see
//! `nodes.rs`), BENCH_BACKLOG (default 100000).

mod e2e;
mod load;
mod nodes;
mod process;

use std::time::Duration;

use load::{Load, Report, load};
use process::{gateway, rss_kib, spawn, stop};

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
    let duration = Duration::from_secs(seconds);
    let run = |addr: &str, source: &str, concurrency: usize, paced: Option<u32>| {
        rt.block_on(load(Load {
            addr,
            source,
            concurrency,
            duration,
            paced,
            max_requests: None,
        }))
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let route = "[destinations.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/events\"\n[[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n";
    let (mut gw, addr) = gateway(dir.path(), route);
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = rss_kib(gw.id(), "VmRSS");
    // The paced run first, on a gateway in steady state; a pause before each run lets the
    // previous run's WAL checkpoints finish.
    let paced = run(&addr, "stripe", 64, Some(2000));
    let mut ingest: Vec<Report> = Vec::new();
    for &c in &levels {
        std::thread::sleep(Duration::from_secs(3));
        ingest.push(run(&addr, "stripe", c, None));
    }
    let peak_rss = rss_kib(gw.id(), "VmHWM");
    stop(&mut gw);

    let exe = std::env::current_exe().expect("bench exe");
    let (mut bare, bare_addr) = spawn(std::process::Command::new(exe).env("INLET_BENCH_BARE", "1"));
    let mut ceiling = Vec::new();
    for &c in &levels {
        std::thread::sleep(Duration::from_secs(1));
        ceiling.push(run(&bare_addr, "bare", c, None));
    }
    stop(&mut bare);

    println!("\n## ingest ({seconds}s per run)\n");
    println!("| run | connections | requests/s | p50 ms | p99 ms | errors | % of ceiling |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for ((c, bare), ing) in levels.iter().zip(&ceiling).zip(&ingest) {
        println!(
            "| bare handler (ceiling) | {c} | {:.0} | {:.2} | {:.2} | {} | 100 |",
            bare.rate, bare.p50, bare.p99, bare.errors
        );
        let pct = 100.0 * ing.rate / bare.rate;
        println!(
            "| inlet ingest (verify + commit + ack) | {c} | {:.0} | {:.2} | {:.2} | {} | {pct:.1} |",
            ing.rate, ing.p50, ing.p99, ing.errors
        );
    }
    println!(
        "| inlet ingest paced at 2,000/s | 64 | {:.0} | {:.2} | {:.2} | {} | |",
        paced.rate, paced.p50, paced.p99, paced.errors
    );
    println!(
        "\ngateway RSS: idle {:.1} MB, peak {:.1} MB",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
}
