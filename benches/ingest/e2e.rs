//! End to end: signed webhooks in, a local receiver that verifies nothing out. Reports the
//! end-to-end rate, then builds a backlog while the receiver answers 503 and measures how
//! fast it drains, and the gateway's RSS meanwhile, once the receiver is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;

use super::env_or;
use super::load::{Load, load};
use super::process::{gateway, rss_kib, stop};

#[derive(Default)]
pub struct Counter {
    pub up: AtomicBool,
    pub delivered: AtomicU64,
}

async fn receive(State(c): State<Arc<Counter>>) -> StatusCode {
    if c.up.load(Ordering::Relaxed) {
        c.delivered.fetch_add(1, Ordering::Relaxed);
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

pub async fn start_receiver() -> (Arc<Counter>, String) {
    let counter = Arc::new(Counter::default());
    counter.up.store(true, Ordering::SeqCst);
    let app = axum::Router::new().fallback(receive).with_state(counter.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (counter, url)
}

/// Waits until the receiver has `n` deliveries; returns when the last arrived, sampling
/// the gateway's RSS meanwhile (the maximum seen, in KiB).
pub async fn wait_delivered(counter: &Counter, n: u64, pid: u32, limit: Duration) -> (Option<Instant>, u64) {
    let started = Instant::now();
    let mut max_rss = 0;
    while started.elapsed() < limit {
        max_rss = max_rss.max(rss_kib(pid, "VmRSS"));
        if counter.delivered.load(Ordering::Relaxed) >= n {
            return (Some(Instant::now()), max_rss);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (None, max_rss)
}

pub fn run(rt: &tokio::runtime::Runtime) {
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let backlog: u64 = env_or("BENCH_BACKLOG", 100_000);
    let concurrency: u32 = 32;
    let (counter, url) = rt.block_on(start_receiver());
    let dir = tempfile::tempdir().expect("tempdir");
    let destination = format!(
        "[destinations.app]\nkind = \"http\"\nurl = \"{url}\"\nconcurrency = {concurrency}\ncircuit = {{ failures = 5, probe = \"1s\" }}\n\
         [[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n"
    );
    let (mut gw, addr) = gateway(dir.path(), &destination);
    let pid = gw.id();

    // 1. End to end: 64 senders for `seconds`, until the receiver has every acked event.
    let started = Instant::now();
    let sent = rt.block_on(load(Load {
        addr: &addr,
        source: "stripe",
        concurrency: 64,
        duration: Duration::from_secs(seconds),
        paced: None,
        max_requests: None,
    }));
    let (done, _) = rt.block_on(wait_delivered(&counter, sent.acked, pid, Duration::from_secs(120)));
    let e2e_secs = done.map(|d| (d - started).as_secs_f64());

    // 2. A backlog built while the receiver is down, drained once it is back.
    counter.up.store(false, Ordering::SeqCst);
    let before = counter.delivered.load(Ordering::Relaxed);
    let built = rt.block_on(load(Load {
        addr: &addr,
        source: "stripe",
        concurrency: 64,
        duration: Duration::from_secs(120),
        paced: None,
        max_requests: Some(backlog),
    }));
    std::thread::sleep(Duration::from_secs(2));
    let rss_before_drain = rss_kib(pid, "VmRSS");
    counter.up.store(true, Ordering::SeqCst);
    let back = Instant::now();
    let first = rt
        .block_on(wait_delivered(&counter, before + 1, pid, Duration::from_secs(700)))
        .0;
    let (drained, max_rss) = rt.block_on(wait_delivered(
        &counter,
        before + built.acked,
        pid,
        Duration::from_secs(600),
    ));
    stop(&mut gw);

    println!("\n## end to end (receiver verifies nothing; destination concurrency {concurrency})\n");
    match e2e_secs {
        Some(s) => println!(
            "- {} events acked in {seconds}s at {:.0}/s; all delivered {:.1}s after the first send: {:.0} events/s end to end",
            sent.acked,
            sent.rate,
            s,
            sent.acked as f64 / s
        ),
        None => println!("- {} events acked; NOT all delivered within 120s", sent.acked),
    }
    println!(
        "- backlog: {} events acked while the receiver answered 503 ({:.0}/s)",
        built.acked, built.rate
    );
    if let (Some(first), Some(drained)) = (first, drained) {
        let drain = (drained - first).as_secs_f64();
        println!(
            "- receiver back: first delivery after {:.1}s (the circuit's next probe), backlog drained in {drain:.1}s: {:.0} events/s",
            (first - back).as_secs_f64(),
            built.acked as f64 / drain
        );
    } else {
        println!("- backlog NOT drained within the limit");
    }
    println!(
        "- gateway RSS: {:.1} MB before the drain, at most {:.1} MB during it",
        rss_before_drain as f64 / 1024.0,
        max_rss as f64 / 1024.0
    );
}
