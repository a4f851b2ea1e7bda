//! The processes under test: the gateway binary, the bare-handler ceiling, RSS readings.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Starts a server process and reads its address from its "listening" log line; later
/// lines are drained, and the gateway's closing line (its commit statistics) is printed.
pub fn spawn(cmd: &mut Command) -> (std::process::Child, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("server logs its address").expect("log line");
        if line.contains("inlet is listening") {
            let json: serde_json::Value = serde_json::from_str(&line).expect("json log");
            break json["ingest"].as_str().expect("ingest").to_string();
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("inlet stopped") || line.contains("slow commit") {
                println!("gateway: {line}");
            }
        }
    });
    (child, addr)
}

pub fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(100));
}

pub fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of `pid` (or "self"), in clock ticks (100 per second on Linux).
pub fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// The ceiling: inlet's own serve loop with a handler that does nothing.
pub fn bare_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("addr");
        eprintln!(r#"{{"message":"inlet is listening","ingest":"{addr}"}}"#);
        // No signal handler: SIGTERM ends this process outright, which is all it needs.
        let shutdown = CancellationToken::new();
        let options = inlet::http::serve::ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(1),
            max_connections: 10_000,
        };
        inlet::http::serve::serve(listener, inlet::http::bare_router(), shutdown, options).await;
    });
}

/// Writes a config with the Stripe source and `extra` into `dir` and starts the release
/// gateway on it.
pub fn gateway(dir: &std::path::Path, extra: &str) -> (std::process::Child, String) {
    gateway_on(dir, "inlet.toml", "sqlite://inlet.db", extra)
}

/// As [`gateway`], on the store at `storage` (a sqlite:// or postgres:// URL), with its
/// config written to `dir/name`.
pub fn gateway_on(dir: &std::path::Path, name: &str, storage: &str, extra: &str) -> (std::process::Child, String) {
    let config = dir.join(name);
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[storage]\nurl = \"{storage}\"\n\
         [sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"{}\"]\n{extra}",
        super::load::SECRET
    );
    std::fs::write(&config, text).expect("config");
    // BENCH_INLET: another build of the gateway, to compare two builds on the same load.
    let exe = std::env::var("BENCH_INLET").unwrap_or_else(|_| env!("CARGO_BIN_EXE_inlet").to_string());
    let mut cmd = Command::new(exe);
    cmd.args(["serve", "-c"])
        .arg(&config)
        // One info line per delivery would be the benchmark's largest cost: keep the
        // closing statistics, not the per-delivery lines.
        .env("RUST_LOG", "warn,inlet=info,inlet::workers::delivery=warn");
    spawn(&mut cmd)
}
