//! Hostile traffic on the ingest listener, over real sockets: a signature header stuffed
//! with candidates, floods of forged requests with huge headers, many stalled bodies, more
//! connections than allowed, and a full disk. Each costs bounded memory and disk and is
//! refused with the contract's answer; CPU and RSS figures are the `hostile` benchmark's.

use std::time::Duration;

use futures::StreamExt;
use inlet::domain::RejectedKeep;
use inlet::store::Store;
use inlet::store::sqlite::SqliteStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestApp, now, settings};

const STRIPE: &str = r#"
[sources.stripe]
scheme = "stripe"
secrets = ["whsec_test"]
"#;

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// The status line's code of whatever `stream` answers within 10 s (0: closed, no answer).
async fn status_of(stream: &mut TcpStream) -> u16 {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
            if out.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s");
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_signature_header_with_100000_candidates_is_refused_as_malformed_header() {
    let app = TestApp::spawn(STRIPE).await;
    let header = format!("t={},{}", now(), "v1=,".repeat(100_000));
    let resp = app
        .client
        .post(format!("{}/webhooks/stripe", app.base))
        .header("stripe-signature", header)
        .body(vec![b'x'; 512 * 1024])
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 401);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "malformed_header");
    app.stop().await;
}

/// 40 headers of 7.5 KiB: 300 KiB of junk on a request with no signature.
fn junk_headers() -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&"j".repeat(7680)).expect("value");
    for i in 0..40 {
        let name = reqwest::header::HeaderName::from_bytes(format!("x-junk-{i}").as_bytes()).expect("name");
        map.insert(name, value.clone());
    }
    map
}

#[tokio::test]
async fn two_thousand_forged_requests_with_300_kib_of_headers_leave_the_database_under_rejected_keep() {
    let keep = 4u64 << 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings(STRIPE, dir.path());
    s.server.rejected_keep = keep;
    let db = s.storage.sqlite_path.clone();
    let store = std::sync::Arc::new(SqliteStore::open_with(&db, RejectedKeep { keep }).expect("opens"));
    let app = TestApp::spawn_with_store(s, store, dir).await;
    let url = format!("{}/webhooks/stripe", app.base);
    let statuses: Vec<u16> = futures::stream::iter(0..2000)
        .map(|_| {
            let (client, url) = (app.client.clone(), url.clone());
            async move {
                let resp = client.post(url).headers(junk_headers()).body("{}").send().await;
                resp.map_or(0, |r| r.status().as_u16())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|&s| s == 401), "every forged request is 401");
    let records = app.store.rejected(10).await.expect("reads");
    let first = records.first().expect("records are kept");
    let kept: usize = first.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    assert!(kept <= 16 * 1024 + 100, "one record keeps {kept} bytes of headers");
    let dir = app.stop().await;
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
    let on_disk = size("inlet.db") + size("inlet.db-wal");
    assert!(
        on_disk < keep + keep / 10,
        "{on_disk} bytes on disk after 2,000 × 300 KiB forged requests (rejected_keep {keep})"
    );
}

/// 2,000 records of about 1 KB into `store`, kept under `keep`: the newest survive, in one
/// contiguous run, and their bytes stay within the bound.
async fn prunes_rejected_records_oldest_first(store: &dyn Store, keep: RejectedKeep) {
    let header = ("x-note".to_string(), "n".repeat(900));
    let mut newest = Vec::new();
    for chunk in 0..20 {
        for i in chunk * 100..(chunk + 1) * 100 {
            store.record_rejected(inlet::domain::RejectedRequest {
                source: "stripe".into(),
                error: "invalid_signature".into(),
                at: i,
                headers: vec![header.clone()],
                body_size: 1,
                kept: None,
            });
        }
        // Records are best effort (dropped when the queue is full): let each hundred land.
        let last = (chunk + 1) * 100 - 1;
        for _ in 0..500 {
            newest = store.rejected(1000).await.expect("reads");
            if newest.first().is_some_and(|r| r.at == last) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(newest.first().map(|r| r.at), Some(last), "the newest is kept");
    }
    let bytes: u64 = newest
        .iter()
        .map(|r| (r.headers.iter().map(|(n, v)| n.len() + v.len() + 8).sum::<usize>() + 6 + 17 + 64) as u64)
        .sum();
    assert!(bytes <= keep.keep + keep.keep / 10, "{bytes} bytes kept");
    assert!(
        bytes >= keep.target() / 2,
        "{bytes} bytes kept: pruning leaves the newest"
    );
    let ats: Vec<i64> = newest.iter().map(|r| r.at).collect();
    assert!(ats.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(ats.len() < 1000, "{} records kept: old ones were pruned", ats.len());
}

#[tokio::test]
async fn sqlite_prunes_rejected_records_oldest_first_by_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keep = RejectedKeep { keep: 256 * 1024 };
    let store = SqliteStore::open_with(&dir.path().join("r.db"), keep).expect("opens");
    prunes_rejected_records_oldest_first(&store, keep).await;
    store.close().await;
}

#[tokio::test]
async fn postgres_prunes_rejected_records_oldest_first_by_bytes_through_a_bounded_queue() {
    let Some(url) = std::env::var("INLET_TEST_POSTGRES").ok().filter(|u| !u.is_empty()) else {
        eprintln!("skipped: set INLET_TEST_POSTGRES=postgres://postgres@127.0.0.1/test to run the PostgreSQL tests");
        return;
    };
    let schema = format!("inlet_rejected_{}", uuid::Uuid::now_v7().simple());
    let keep = RejectedKeep { keep: 256 * 1024 };
    let store = inlet::store::postgres::PgStore::open_in_schema_with(
        &url,
        &schema,
        keep,
        inlet::store::postgres::DEFAULT_NODE_TIMEOUT,
    )
    .await
    .expect("PostgreSQL is reachable");
    prunes_rejected_records_oldest_first(&store, keep).await;
    store.close().await;
    crate::conformance::drop_schema(&url, &schema).await;
}

/// Opens a connection that declares a `len`-byte body and sends all but its last byte.
async fn stalled(base: &str, len: usize) -> TcpStream {
    let mut stream = connect(base).await;
    let head = format!(
        "POST /webhooks/stripe HTTP/1.1\r\nhost: x\r\nstripe-signature: t=1,v1=00\r\ncontent-length: {len}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    stream.write_all(&vec![b'a'; len - 1]).await.expect("writes");
    stream
}

#[tokio::test]
async fn bodies_over_max_inflight_body_are_answered_503_until_the_budget_frees() {
    let config =
        format!("[server]\nmax_body = \"64KiB\"\nmax_inflight_body = \"256KiB\"\nread_timeout = \"20s\"\n{STRIPE}");
    let app = TestApp::spawn(&config).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(stalled(&app.base, 60_000).await);
    }
    // Each stalled body reserves 60,000 bytes when its headers are read: wait until a fifth
    // finds no room (the four reservations are taken in the background).
    let mut refused = 0;
    for _ in 0..200 {
        let mut fifth = stalled(&app.base, 60_000).await;
        let _ = fifth.write_all(b"a").await;
        match status_of(&mut fifth).await {
            503 => {
                refused += 1;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    assert_eq!(refused, 1, "a body over the budget is answered 503");
    // A chunked body growing past the budget is refused as it arrives.
    let mut chunked = connect(&app.base).await;
    let chunk = format!("{:x}\r\n{}\r\n", 50_000, "a".repeat(50_000));
    chunked
        .write_all(b"POST /webhooks/stripe HTTP/1.1\r\nhost: x\r\nstripe-signature: t=1,v1=00\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .expect("writes");
    chunked.write_all(chunk.as_bytes()).await.expect("writes");
    assert_eq!(status_of(&mut chunked).await, 503);
    // Closing the stalled ones gives the budget back.
    drop(held);
    let mut answered = 0;
    for _ in 0..500 {
        let resp = app
            .client
            .post(format!("{}/webhooks/stripe", app.base))
            .header("stripe-signature", "t=1,v1=00")
            .body(vec![b'a'; 60_000])
            .send()
            .await
            .expect("answered");
        answered = resp.status().as_u16();
        if answered != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(answered, 401, "read and verified again once the budget is free");
    app.stop().await;
}

#[tokio::test]
async fn connections_over_max_connections_wait_until_one_closes() {
    let config = format!("[server]\nmax_connections = 2\nread_timeout = \"20s\"\n{STRIPE}");
    let app = TestApp::spawn(&config).await;
    let held = [stalled(&app.base, 100).await, stalled(&app.base, 100).await];
    let mut third = connect(&app.base).await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("the kernel queues the connection");
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
    assert!(early.is_err(), "no answer while two connections are open");
    drop(held);
    assert_eq!(status_of(&mut third).await, 200, "served once one closed");
    app.stop().await;
}

/// A small tmpfs at a fresh folder, unmounted when dropped; `None` when this process may
/// not mount (not root): the test then says it is skipped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test]
async fn readyz_fails_while_commits_fail_on_a_full_disk_and_recovers_when_space_returns() {
    let Some(disk) = SmallDisk::mount("8m") else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    let data = tempfile::tempdir_in(disk.dir.path()).expect("a folder on the small disk");
    let app = TestApp::spawn_in(STRIPE, data).await;
    let ready = |app: &TestApp| {
        let (client, url) = (app.client.clone(), format!("{}/readyz", app.base));
        async move { client.get(url).send().await.map_or(0, |r| r.status().as_u16()) }
    };
    assert_eq!(ready(&app).await, 200);
    // Fill the disk: the next commits cannot write.
    let filler = disk.dir.path().join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 8 << 20]);
    let body = |i: usize| format!(r#"{{"id":"evt_full_{i}","type":"t","pad":"{}"}}"#, "p".repeat(16_000));
    let mut failed = false;
    for i in 0..200 {
        let b = body(i);
        let headers = crate::support::signed(
            &inlet::providers::SchemeSpec::named("stripe"),
            "whsec_test",
            b.as_bytes(),
            now(),
            "",
            "",
        );
        let (status, _) = app.post("stripe", &headers, b.as_bytes()).await;
        assert_ne!(status, 200, "no 2xx for an event that cannot be committed");
        if status == 503 {
            failed = true;
            break;
        }
    }
    assert!(failed, "a full disk makes commits fail (503)");
    assert_eq!(ready(&app).await, 503, "/readyz says so");
    std::fs::remove_file(&filler).expect("space comes back");
    let mut recovered = 0;
    for _ in 0..100 {
        recovered = ready(&app).await;
        if recovered == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recovered, 200, "/readyz recovers once a probe write commits");
    app.stop().await;
    drop(disk);
}
