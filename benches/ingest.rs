//! Ingest benchmark: `cargo bench --bench ingest`.
//!
//! Starts the real release `inlet serve` on SQLite in a temp folder, drives distinct,
//! correctly signed Stripe webhooks at it over loopback at a fixed concurrency, and reports
//! requests/s, ack latency p50/p99 and RSS (idle and peak). In the same run it drives the
//! same load at a bare handler (the same hyper serve loop answering 200 without verifying
//! or storing): the ceiling. Before those it paces 2,000 requests/s to read ack p99 at that
//! rate on a gateway in steady state.
//! Load generator and gateway share this machine's cores, as the acceptance asks.
//!
//! Knobs (env): BENCH_SECONDS (default 10), BENCH_CONCURRENCY (a list, default "64,256").

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use inlet::signature::{SchemeSpec, Secret, SignInput, sign};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "whsec_bench_secret";

fn main() {
    if std::env::var_os("INLET_BENCH_BARE").is_some() {
        return bare_server();
    }
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "64,256".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let run_for = Duration::from_secs(seconds);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"sqlite://inlet.db\"\n\
             [sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"{SECRET}\"]\n\
             [destinations.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/events\"\n\
             [[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n"
        ),
    )
    .expect("config");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inlet"));
    cmd.args(["serve", "-c"])
        .arg(&config)
        .env("RUST_LOG", "warn,inlet=info");
    let (mut gateway, addr) = spawn(&mut cmd);
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = rss_kib(gateway.id(), "VmRSS");
    // The paced run first, on a gateway in steady state; a pause before each run lets the
    // previous run's WAL checkpoints finish.
    let paced = rt.block_on(load(&addr, "stripe", 64, run_for, Some(2000)));
    let mut ingest = Vec::new();
    for &c in &levels {
        std::thread::sleep(Duration::from_secs(3));
        ingest.push(rt.block_on(load(&addr, "stripe", c, run_for, None)));
    }
    let peak_rss = rss_kib(gateway.id(), "VmHWM");
    stop(&mut gateway);

    let exe = std::env::current_exe().expect("bench exe");
    let (mut bare, bare_addr) = spawn(Command::new(exe).env("INLET_BENCH_BARE", "1"));
    let ceiling: Vec<Report> = levels
        .iter()
        .map(|&c| {
            std::thread::sleep(Duration::from_secs(1));
            rt.block_on(load(&bare_addr, "bare", c, run_for, None))
        })
        .collect();
    stop(&mut bare);

    println!(
        "\n## ingest benchmark ({seconds}s per run, {} cores, load generator on the same cores)\n",
        num_cpus()
    );
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

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Starts a server process and reads its address from its "listening" log line; later
/// lines are drained, and the gateway's closing line (its commit statistics) is printed.
fn spawn(cmd: &mut Command) -> (std::process::Child, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server logs its address")
            .expect("log line");
        if line.contains("inlet is listening") {
            let json: serde_json::Value = serde_json::from_str(&line).expect("json log");
            break json["ingest"].as_str().expect("ingest").to_string();
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("inlet stopped") {
                println!("gateway: {line}");
            }
        }
    });
    (child, addr)
}

fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(100));
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Report {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: u64,
}

/// Drives `concurrency` keep-alive connections for `duration`; with `paced`, the total
/// rate is held at that many requests per second.
async fn load(
    addr: &str,
    source: &str,
    concurrency: usize,
    duration: Duration,
    paced: Option<u32>,
) -> Report {
    let stop = CancellationToken::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (addr, source, stop) = (addr.to_string(), source.to_string(), stop.clone());
        let interval =
            paced.map(|rate| Duration::from_secs_f64(concurrency as f64 / f64::from(rate)));
        tasks.push(tokio::spawn(async move {
            worker_loop(&addr, &source, worker, interval, stop).await
        }));
    }
    tokio::time::sleep(duration).await;
    stop.cancel();
    let elapsed = started.elapsed().as_secs_f64();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Report {
        rate: latencies.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

async fn worker_loop(
    addr: &str,
    source: &str,
    worker: usize,
    interval: Option<Duration>,
    stop: CancellationToken,
) -> (Vec<Duration>, u64) {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let secret = Secret::new(SECRET);
    let run = run_id();
    let (mut latencies, mut errors) = (Vec::new(), 0u64);
    let mut next = Instant::now();
    for i in 0u64.. {
        if stop.is_cancelled() {
            break;
        }
        if let Some(step) = interval {
            next += step;
            tokio::time::sleep_until(next.into()).await;
        }
        // Distinct ids in no global order, like real providers' random event ids.
        let body = format!(
            r#"{{"id":"evt_{run}_{worker}_{i}","object":"event","type":"charge.succeeded","created":1700000000,"data":{{"object":{{"id":"ch_{i}","amount":2000,"currency":"eur"}}}}}}"#
        );
        let at = chrono::Utc::now().timestamp();
        let headers = sign(
            &SchemeSpec::Stripe,
            &secret,
            &SignInput {
                body: body.as_bytes(),
                at,
                id: "",
                url: None,
            },
        )
        .expect("signs");
        let mut req = Request::post(format!("/webhooks/{source}"))
            .header("host", addr)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let sent = Instant::now();
        match sender.send_request(req).await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                let _ = resp.into_body().collect().await;
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    errors += 1;
                }
            }
            Err(_) => {
                errors += 1;
                break;
            }
        }
    }
    (latencies, errors)
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}")
}

/// The ceiling: inlet's own serve loop with a handler that does nothing.
fn bare_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        eprintln!(r#"{{"message":"inlet is listening","ingest":"{addr}"}}"#);
        // No signal handler: SIGTERM ends this process outright, which is all it needs.
        let shutdown = CancellationToken::new();
        let options = inlet::http::serve::ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(1),
        };
        inlet::http::serve::serve(listener, inlet::http::bare_router(), shutdown, options).await;
    });
}
