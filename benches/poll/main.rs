//! Poll sources at rest: `cargo bench --bench poll`.
//!
//! Starts a fake provider API in this process (every answer an empty page, counted) and the
//! release `inlet serve` on SQLite with BENCH_SOURCES (default 1,000) poll sources against
//! it, each on its idle interval (BENCH_IDLE, default "60s") after a first poll that finds
//! nothing. Once every source has polled once, it reads the gateway's CPU time and RSS over
//! BENCH_SECONDS (default 60): the cost of keeping that many sources polling, at rest.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// utime + stime of `pid`, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let sources: usize = env_or("BENCH_SOURCES", 1000);
    let idle: String = env_or("BENCH_IDLE", "60s".to_string());
    let seconds: u64 = env_or("BENCH_SECONDS", 60);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let api = rt.block_on(async move {
        let app = axum::Router::new().route(
            "/items",
            axum::routing::get(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::Relaxed);
                    axum::Json(serde_json::json!({ "data": [] }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://inlet.db\"\n",
    );
    for i in 0..sources {
        text.push_str(&format!(
            "\n[sources.s{i}]\nkind = \"poll\"\nurl = \"http://{api}/items?source={i}\"\nitems = \"/data\"\nid = \"/id\"\n\
             interval = \"10s\"\nidle_interval = \"{idle}\"\ncursor = {{ param = \"updated_after\", field = \"/updated\" }}\n"
        ));
    }
    let config = dir.path().join("inlet.toml");
    std::fs::write(&config, text).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_inlet"))
        .args(["serve", "-c"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateway starts");
    let pid = child.id();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("WARN") || line.contains("ERROR") || line.contains("\"level\":\"WARN\"") {
                println!("gateway: {line}");
            }
        }
    });

    let started = Instant::now();
    while calls.load(Ordering::Relaxed) < sources as u64 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let warm = started.elapsed();
    println!(
        "{sources} poll sources: first polls done after {:.1} s ({} calls); RSS {:.1} MB",
        warm.as_secs_f64(),
        calls.load(Ordering::Relaxed),
        status_kib(pid, "VmRSS:") as f64 / 1024.0
    );
    std::thread::sleep(Duration::from_secs(2));

    let (t0, c0, calls0) = (Instant::now(), cpu_ticks(pid), calls.load(Ordering::Relaxed));
    std::thread::sleep(Duration::from_secs(seconds));
    let (wall, ticks, made) = (
        t0.elapsed(),
        cpu_ticks(pid) - c0,
        calls.load(Ordering::Relaxed) - calls0,
    );
    let cpu = ticks as f64 / 100.0 / wall.as_secs_f64() * 100.0;
    println!(
        "at rest over {:.0} s (idle_interval {idle}): CPU {cpu:.2} % of one core; RSS {:.1} MB (peak {:.1} MB); \
         {made} polls ({:.1}/s)",
        wall.as_secs_f64(),
        status_kib(pid, "VmRSS:") as f64 / 1024.0,
        status_kib(pid, "VmHWM:") as f64 / 1024.0,
        made as f64 / wall.as_secs_f64()
    );
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.wait();
}
