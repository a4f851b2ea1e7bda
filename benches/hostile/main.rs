//! `cargo bench --bench hostile`: what hostile traffic costs the release gateway, measured
//! from outside (its /proc entries), for the figures the hardening tests cannot time:
//! - CPU per request of a `Stripe-Signature` with 100,000 empty candidates and a 1 MB body
//!   (refused as `malformed_header`), beside a 16-candidate one (one MAC over the body);
//! - RSS with 200 connections each stalled one byte short of a 1 MiB body
//!   (`max_inflight_body = "32MiB"`): the bound is `max_inflight_body` + 50 MB;
//! - the database after 2,000 forged requests with 300 KiB of headers each
//!   (`rejected_keep = "16MiB"`): the bound is `rejected_keep` + 10 %.
//!
//! Traffic goes to 127.0.0.1 only, in bounded loops. `BENCH_INLET` names another build.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const INFLIGHT_MIB: u64 = 32;
const KEEP_MIB: u64 = 16;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nmax_body = \"1MiB\"\nmax_inflight_body = \"{INFLIGHT_MIB}MiB\"\n\
             rejected_keep = \"{KEEP_MIB}MiB\"\nread_timeout = \"60s\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
             [storage]\nurl = \"sqlite://inlet.db\"\n[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"whsec_bench\"]\n"
        ),
    )
    .expect("config");
    let exe = std::env::var("BENCH_INLET").unwrap_or_else(|_| env!("CARGO_BIN_EXE_inlet").to_string());
    let mut child = Command::new(exe)
        .args(["serve", "-c"])
        .arg(&config)
        .env("RUST_LOG", "warn,inlet::app=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateway starts");
    let lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut lines = lines.map_while(Result::ok);
    let addr = loop {
        let line = lines.next().expect("the gateway logs its address");
        if line.contains("inlet is listening") {
            let json: serde_json::Value = serde_json::from_str(&line).expect("json log");
            break json["ingest"].as_str().expect("ingest").to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let pid = child.id().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!("idle RSS {:.1} MB", kib(&pid, "VmRSS") as f64 / 1024.0);
    rt.block_on(candidates(&addr, &pid));
    rt.block_on(stalled_bodies(&addr, &pid));
    rt.block_on(header_flood(&addr, &pid));
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = child.wait();
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
    let on_disk = size("inlet.db") + size("inlet.db-wal");
    let bound = (KEEP_MIB << 20) + (KEEP_MIB << 20) / 10;
    println!(
        "database after the flood: {:.2} MiB (bound rejected_keep + 10 % = {:.2} MiB): {}",
        on_disk as f64 / 1048576.0,
        bound as f64 / 1048576.0,
        if on_disk < bound { "within" } else { "OVER" }
    );
}

/// CPU per request of a stuffed header and of a 16-candidate one, over 20 requests each.
async fn candidates(addr: &str, pid: &str) {
    let body = vec![b'x'; 1_000_000];
    let now = chrono::Utc::now().timestamp();
    let stuffed = format!("t={now},{}", "v1=,".repeat(100_000));
    let sixteen = format!("t={now},{}", vec![format!("v1={}", "0".repeat(64)); 16].join(","));
    for (label, header) in [("100,000 empty candidates", stuffed), ("16 candidates", sixteen)] {
        let before = ticks(pid);
        let started = Instant::now();
        let mut status = 0;
        for _ in 0..20 {
            status = post(addr, &header, &body).await;
        }
        let cpu_ms = (ticks(pid) - before) as f64 * 10.0 / 20.0;
        println!(
            "{label}: {status}, gateway CPU {cpu_ms:.1} ms per request (bound 50 ms), wall {:.1} ms per request",
            started.elapsed().as_secs_f64() * 1000.0 / 20.0
        );
    }
}

async fn post(addr: &str, signature: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let head = format!(
        "POST /webhooks/stripe HTTP/1.1\r\nhost: x\r\nconnection: close\r\nstripe-signature: {signature}\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    let _ = stream.write_all(body).await;
    status(&mut stream).await
}

async fn status(stream: &mut TcpStream) -> u16 {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// 200 connections, each one byte short of a 1 MiB body; RSS once they are all sent.
async fn stalled_bodies(addr: &str, pid: &str) {
    let before = kib(pid, "VmRSS");
    let chunk = vec![b'a'; 64 * 1024];
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..200 {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let head = "POST /webhooks/stripe HTTP/1.1\r\nhost: x\r\nstripe-signature: t=1,v1=00\r\ncontent-length: 1048576\r\n\r\n";
        stream.write_all(head.as_bytes()).await.expect("writes");
        let mut sent = 0usize;
        let mut open = true;
        while sent < 1_048_575 && open {
            let n = chunk.len().min(1_048_575 - sent);
            match tokio::time::timeout(Duration::from_millis(500), stream.write_all(&chunk[..n])).await {
                Ok(Ok(())) => sent += n,
                _ => open = false, // refused (503) and closed, or the kernel buffer is full
            }
        }
        if sent < 1_048_575 {
            refused += 1;
        }
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = kib(pid, "VmRSS");
    let peak = kib(pid, "VmHWM");
    let bound = INFLIGHT_MIB * 1024 + 50 * 1024;
    println!(
        "200 stalled 1 MiB bodies ({refused} not fully sent: refused with 503): RSS {:.1} MB (was {:.1}), peak {:.1} MB \
         (bound max_inflight_body + 50 MB = {:.0} MB): {}",
        rss as f64 / 1024.0,
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        bound as f64 / 1024.0,
        if peak < bound { "within" } else { "OVER" }
    );
    drop(held);
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("after they close: RSS {:.1} MB", kib(pid, "VmRSS") as f64 / 1024.0);
}

/// 2,000 requests with 40 headers of 7.5 KiB and no signature, 16 at a time.
async fn header_flood(addr: &str, pid: &str) {
    let junk: String = (0..40)
        .map(|i| format!("x-junk-{i}: {}\r\n", "j".repeat(7680)))
        .collect();
    let request = format!(
        "POST /webhooks/stripe HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{junk}content-length: 2\r\n\r\n{{}}"
    );
    let before = ticks(pid);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut statuses = Vec::new();
    for _ in 0..2000 {
        if tasks.len() >= 16
            && let Some(done) = tasks.join_next().await
        {
            statuses.push(done.unwrap_or(0));
        }
        let (addr, request) = (addr.to_string(), request.clone());
        tasks.spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.expect("connects");
            stream.write_all(request.as_bytes()).await.expect("writes");
            status(&mut stream).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        statuses.push(done.unwrap_or(0));
    }
    let unauthorized = statuses.iter().filter(|&&s| s == 401).count();
    println!(
        "2,000 forged requests with 300 KiB of headers: {unauthorized} answered 401 in {:.1} s, gateway CPU {:.2} ms \
         per request, RSS {:.1} MB",
        started.elapsed().as_secs_f64(),
        (ticks(pid) - before) as f64 * 10.0 / 2000.0,
        kib(pid, "VmRSS") as f64 / 1024.0
    );
}

fn kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime in clock ticks (100 a second).
fn ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}
