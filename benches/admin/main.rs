//! The admin surface at scale: `cargo bench --bench admin`.
//!
//! Builds a SQLite store holding BENCH_EVENTS (default 1,000,000) delivered events plus
//! BENCH_DEAD (default 10,000) of them with a dead delivery, starts the release `inlet
//! serve` on it, and measures: the events list (API first page, dashboard page, a filter
//! by a rare source, a dedupe-key search, status=dead) as p50/p95 of 20 requests, and
//! `inlet replay --status dead` re-queueing every dead delivery (wall time of the command).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const TOKEN: &str = "bench-token";

fn populate(db: &std::path::Path, events: i64, dead: i64) {
    // Create the schema with the store itself, then bulk-insert in one transaction.
    let store = inlet::store::sqlite::SqliteStore::open(db).expect("store opens");
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
    rt.block_on(inlet::store::Store::close(&store));
    drop(store);
    let mut conn = rusqlite::Connection::open(db).expect("opens");
    conn.pragma_update(None, "synchronous", "OFF").expect("pragma");
    let tx = conn.transaction().expect("tx");
    {
        let mut ev = tx
            .prepare(
                "INSERT INTO events (seq, id, source, dedupe_group, dedupe_key, type, via, received_at, occurred_at, content_type, headers, body)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5, 'webhook', ?6, NULL, 'application/json', '[]', ?7)",
            )
            .expect("prepare");
        let mut dl = tx
            .prepare(
                "INSERT INTO deliveries (event_seq, destination, state, attempts, next_attempt_at, updated_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4)",
            )
            .expect("prepare");
        let start = chrono::Utc::now().timestamp_millis() - events * 10;
        for seq in 1..=events {
            let source = if seq % 1000 == 0 { "rare" } else { "shop" };
            let at = start + seq * 10;
            let body = format!(r#"{{"id":"ord_{seq}","total":{}}}"#, seq % 997);
            ev.execute(rusqlite::params![
                seq,
                format!("evt_bench{seq:012}"),
                source,
                format!("key_{seq}"),
                "order.updated",
                at,
                body.as_bytes()
            ])
            .expect("event");
            dl.execute(rusqlite::params![seq, "archive", "delivered", at])
                .expect("delivery");
            if seq > events - dead {
                dl.execute(rusqlite::params![seq, "dead_end", "dead", at])
                    .expect("dead delivery");
            }
        }
    }
    tx.commit().expect("commit");
}

/// p50 and p95 of 20 GETs of `url` (after one warm-up), in milliseconds.
async fn latency(client: &reqwest::Client, url: &str, cookie: Option<&str>) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for i in 0..21 {
        let mut req = client.get(url).bearer_auth(TOKEN);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let t = Instant::now();
        let resp = req.send().await.expect("answered");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        bytes = resp.bytes().await.expect("body").len();
        if i > 0 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 95 / 100], bytes)
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let events: i64 = env_or("BENCH_EVENTS", 1_000_000);
    let dead: i64 = env_or("BENCH_DEAD", 10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("inlet.db");
    let t = Instant::now();
    populate(&db, events, dead);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "store: {events} events, {dead} dead deliveries, {:.0} MB, built in {:.1} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n\
             [storage]\nurl = \"sqlite://inlet.db\"\n\
             [sources.shop]\nscheme = \"github\"\nsecrets = [\"s\"]\n[sources.rare]\nscheme = \"github\"\nsecrets = [\"s\"]\n\
             [destinations.archive]\nkind = \"file\"\npath = \"events.jsonl\"\n\
             [destinations.dead_end]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/\"\nretry = [\"0s\"]\n"
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_inlet"))
        .args(["serve", "-c"])
        .arg(&config)
        .env("RUST_LOG", "warn,inlet=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateway starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let admin = loop {
        let line = lines.next().expect("a log line").expect("text");
        if line.contains("inlet is listening") {
            let json: serde_json::Value = serde_json::from_str(&line).expect("json");
            break format!("http://{}", json["admin"].as_str().expect("admin"));
        }
    };
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let login = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .post(format!("{admin}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={TOKEN}"))
            .send()
            .await
            .expect("login");
        let cookie = login.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("cookie")
            .to_string();
        for (label, path, dashboard) in [
            ("API first page (50)", "/api/v1/events".to_string(), false),
            (
                "API page 1000 (limit 1000)",
                "/api/v1/events?limit=1000".to_string(),
                false,
            ),
            (
                "API deep page (cursor)",
                format!("/api/v1/events?cursor={}", events / 2),
                false,
            ),
            (
                "API source=rare (1 in 1000)",
                "/api/v1/events?source=rare".to_string(),
                false,
            ),
            (
                "API dedupe_key search",
                format!("/api/v1/events?dedupe_key=key_{}", events / 3),
                false,
            ),
            ("API status=dead", "/api/v1/events?status=dead".to_string(), false),
            ("dashboard /events", "/events".to_string(), true),
            (
                "dashboard /events?q=<key>",
                format!("/events?q=key_{}", events / 3),
                true,
            ),
        ] {
            let (p50, p95, bytes) =
                latency(&client, &format!("{admin}{path}"), dashboard.then_some(cookie.as_str())).await;
            println!("{label:<30} p50 {p50:>8.2} ms   p95 {p95:>8.2} ms   {bytes} bytes");
        }
    });

    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_inlet"))
        .args([
            "replay",
            "--status",
            "dead",
            "--admin-url",
            &admin,
            "--token",
            TOKEN,
            "-c",
            "/nonexistent.toml",
        ])
        .output()
        .expect("replay runs");
    println!(
        "inlet replay --status dead: {} in {:.2} s ({})",
        String::from_utf8_lossy(&out.stdout).trim(),
        t.elapsed().as_secs_f64(),
        if out.status.success() { "exit 0" } else { "FAILED" }
    );
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}
