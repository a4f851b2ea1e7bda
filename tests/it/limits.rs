//! The listener's defences and the "never 2xx without a commit" rule: body limits before
//! reading, slow clients cut off, a store that cannot commit, graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use inlet::domain::{
    Claim, Completion, DeliveryKey, DestinationStats, EventFilter, EventPage, Ingested, NewEvent, PageStart, PollState,
    PollWrite, PollWritten, RejectedPage, RejectedRequest, ReplaySelection, StoredEvent,
};
use inlet::providers::SchemeSpec;
use inlet::store::sqlite::SqliteStore;
use inlet::store::{Store, StoreError, WriteStats};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestApp, now, settings, signed};

const CONFIG: &str = r#"
[server]
max_body = "1KiB"
read_timeout = "300ms"

[sources.stripe]
scheme = "stripe"
secrets = ["whsec_test"]
"#;

/// Sends raw bytes on a fresh connection and returns whatever comes back before close.
async fn raw(base: &str, request: &[u8], pause_after: Option<Duration>) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request).await.expect("writes");
    if let Some(p) = pause_after {
        tokio::time::sleep(p).await;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_oversize_body_is_413_whether_declared_or_chunked() {
    let app = TestApp::spawn(CONFIG).await;
    let big = vec![b'x'; 2048];
    let (status, _) = app.post("stripe", &[], &big).await;
    assert_eq!(status, 413, "declared Content-Length over max_body");
    let mut chunked =
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'y'; 512]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = raw(&app.base, &chunked, None).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "chunked body over max_body: {answer}"
    );
    assert!(app.store.event_ids(10).await.expect("reads").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    let app = TestApp::spawn(CONFIG).await;
    let answer = raw(
        &app.base,
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n",
        Some(Duration::from_millis(800)),
    )
    .await;
    assert!(
        !answer.starts_with("HTTP/1.1 200"),
        "the connection is closed, not served: {answer:?}"
    );
    let answer = raw(
        &app.base,
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\":",
        None,
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a body that stops arriving: {answer:?}"
    );
    app.stop().await;
}

/// A store that delegates to SQLite but can be told to fail every ingest.
struct FaultyStore {
    inner: SqliteStore,
    /// 0 = healthy, 1 = cannot commit, 2 = write queue full.
    mode: AtomicU8,
    /// How often a delivery worker asked when its next delivery is due.
    next_due_calls: AtomicUsize,
}

#[async_trait::async_trait]
impl inlet::store::Operating for FaultyStore {
    async fn set_paused(&self, d: &str, paused: bool, now: i64) -> Result<(), StoreError> {
        self.inner.set_paused(d, paused, now).await
    }
    async fn paused(&self) -> Result<Vec<String>, StoreError> {
        self.inner.paused().await
    }
    async fn open_alert(&self, a: &inlet::domain::Alert) -> Result<bool, StoreError> {
        self.inner.open_alert(a).await
    }
    async fn resolve_alert(
        &self,
        kind: inlet::domain::AlertKind,
        subject: &str,
        now: i64,
    ) -> Result<Option<inlet::domain::Alert>, StoreError> {
        self.inner.resolve_alert(kind, subject, now).await
    }
    async fn alerts(&self, f: inlet::domain::AlertFilter) -> Result<Vec<inlet::domain::Alert>, StoreError> {
        self.inner.alerts(f).await
    }
    async fn alerts_to_notify(&self, before: Option<i64>) -> Result<Vec<inlet::domain::Alert>, StoreError> {
        self.inner.alerts_to_notify(before).await
    }
    async fn mark_notified(&self, id: &str, state: inlet::domain::AlertState, at: i64) -> Result<(), StoreError> {
        self.inner.mark_notified(id, state, at).await
    }
    async fn touch_sources(&self, seen: Vec<(String, i64)>) -> Result<(), StoreError> {
        self.inner.touch_sources(seen).await
    }
    async fn source_activity(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.inner.source_activity().await
    }
    async fn rejected_counts(&self, since: i64) -> Result<Vec<(String, u64)>, StoreError> {
        self.inner.rejected_counts(since).await
    }
    async fn oldest_pending(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.inner.oldest_pending().await
    }
    async fn count_kept(&self, f: inlet::domain::RejectedFilter) -> Result<u64, StoreError> {
        self.inner.count_kept(f).await
    }
    async fn kept_requests(
        &self,
        f: inlet::domain::RejectedFilter,
        after: i64,
        limit: usize,
    ) -> Result<Vec<inlet::domain::KeptRequest>, StoreError> {
        self.inner.kept_requests(f, after, limit).await
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn ingest(&self, event: NewEvent) -> Result<Ingested, StoreError> {
        match self.mode.load(Ordering::SeqCst) {
            1 => Err(StoreError::Unavailable("disk I/O error".into())),
            2 => Err(StoreError::Busy),
            _ => self.inner.ingest(event).await,
        }
    }
    fn record_rejected(&self, r: RejectedRequest) {
        self.inner.record_rejected(r)
    }
    async fn claim(
        &self,
        destination: &str,
        now: i64,
        limit: usize,
        lease_until: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        self.inner.claim(destination, now, limit, lease_until).await
    }
    async fn complete(&self, completions: Vec<Completion>) -> Result<u64, StoreError> {
        self.inner.complete(completions).await
    }
    async fn next_due(&self, destination: &str) -> Result<Option<i64>, StoreError> {
        self.next_due_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.next_due(destination).await
    }
    async fn release(&self, keys: Vec<DeliveryKey>) -> Result<(), StoreError> {
        self.inner.release(keys).await
    }
    async fn renew(&self, keys: Vec<DeliveryKey>, lease_until: i64) -> Result<(), StoreError> {
        self.inner.renew(keys, lease_until).await
    }
    async fn prune(&self, before: i64, limit: usize) -> Result<usize, StoreError> {
        self.inner.prune(before, limit).await
    }
    async fn event(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        self.inner.event(id).await
    }
    async fn event_ids(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.event_ids(limit).await
    }
    async fn rejected(&self, limit: usize) -> Result<Vec<RejectedRequest>, StoreError> {
        self.inner.rejected(limit).await
    }
    async fn list_events(&self, f: EventFilter, start: PageStart, limit: usize) -> Result<EventPage, StoreError> {
        self.inner.list_events(f, start, limit).await
    }
    async fn replay(&self, selection: ReplaySelection, now: i64) -> Result<u64, StoreError> {
        self.inner.replay(selection, now).await
    }
    async fn count_replay(&self, f: EventFilter, state: String, d: Option<String>) -> Result<u64, StoreError> {
        self.inner.count_replay(f, state, d).await
    }
    async fn rejected_page(&self, before: Option<i64>, limit: usize) -> Result<RejectedPage, StoreError> {
        self.inner.rejected_page(before, limit).await
    }
    async fn destination_stats(&self) -> Result<Vec<DestinationStats>, StoreError> {
        self.inner.destination_stats().await
    }
    async fn poll_state(&self, source: &str) -> Result<PollState, StoreError> {
        self.inner.poll_state(source).await
    }
    async fn poll_states(&self) -> Result<Vec<(String, PollState)>, StoreError> {
        self.inner.poll_states().await
    }
    async fn poll_write(&self, write: PollWrite) -> Result<PollWritten, StoreError> {
        self.inner.poll_write(write).await
    }
    async fn poll_lease(&self, source: &str, until: i64, now: i64) -> Result<bool, StoreError> {
        self.inner.poll_lease(source, until, now).await
    }
    async fn poll_schedule(&self, source: &str, next_run_at: i64, failures: u32) -> Result<(), StoreError> {
        self.inner.poll_schedule(source, next_run_at, failures).await
    }
    async fn reset_cursor(&self, source: &str) -> Result<(), StoreError> {
        self.inner.reset_cursor(source).await
    }
    async fn ready(&self) -> Result<(), StoreError> {
        match self.mode.load(Ordering::SeqCst) {
            0 => self.inner.ready().await,
            _ => Err(StoreError::Unavailable("disk I/O error".into())),
        }
    }
    fn write_stats(&self) -> WriteStats {
        self.inner.write_stats()
    }
    async fn close(&self) {
        self.inner.close().await
    }
}

#[tokio::test]
async fn a_store_that_cannot_commit_answers_503_with_retry_after_and_never_2xx() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = settings(CONFIG, dir.path());
    let faulty = Arc::new(FaultyStore {
        inner: SqliteStore::open(&s.storage.sqlite_path).expect("opens"),
        mode: AtomicU8::new(1),
        next_due_calls: AtomicUsize::new(0),
    });
    let app = TestApp::spawn_with_store(s, faulty.clone(), dir).await;
    let body = br#"{"id":"evt_d1","type":"t"}"#;
    let headers = signed(&SchemeSpec::named("stripe"), "whsec_test", body, now(), "", "");
    for mode in [1, 2] {
        faulty.mode.store(mode, Ordering::SeqCst);
        let mut req = app
            .client
            .post(format!("{}/webhooks/stripe", app.base))
            .body(body.to_vec());
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("answered");
        assert_eq!(resp.status().as_u16(), 503, "mode {mode}");
        assert!(
            resp.headers().get("retry-after").is_some(),
            "mode {mode}: Retry-After is set"
        );
    }
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        ready.status().as_u16(),
        503,
        "readyz fails while the store cannot commit"
    );
    assert!(app.store.event_ids(10).await.expect("reads").is_empty());

    faulty.mode.store(0, Ordering::SeqCst);
    let (status, answer) = app.post("stripe", &headers, body).await;
    assert_eq!(
        (status, answer["duplicate"].as_bool()),
        (200, Some(false)),
        "the provider's retry is taken once the disk is back"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_destination_whose_circuit_is_open_costs_new_events_no_store_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "{CONFIG}\n[destinations.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/\"\n\
         circuit = {{ failures = 1, probe = \"1h\" }}\n[[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n"
    );
    let s = settings(&config, dir.path());
    let store = Arc::new(FaultyStore {
        inner: SqliteStore::open(&s.storage.sqlite_path).expect("opens"),
        mode: AtomicU8::new(0),
        next_due_calls: AtomicUsize::new(0),
    });
    let app = TestApp::spawn_with_store(s, store.clone(), dir).await;
    let post = |i: usize| {
        let body = format!(r#"{{"id":"evt_open_{i}","type":"t"}}"#);
        let headers = signed(
            &SchemeSpec::named("stripe"),
            "whsec_test",
            body.as_bytes(),
            now(),
            "",
            "",
        );
        let app = &app;
        async move {
            let (status, _) = app.post("stripe", &headers, body.as_bytes()).await;
            assert_eq!(status, 200);
        }
    };
    post(0).await;
    let worker = app.worker("app");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !worker.circuit_open() {
        assert!(
            std::time::Instant::now() < deadline,
            "the refused attempt opens the circuit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = store.next_due_calls.load(Ordering::SeqCst);
    for i in 1..=40 {
        post(i).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reads = store.next_due_calls.load(Ordering::SeqCst) - before;
    assert!(
        reads <= 1,
        "40 new events while the circuit is open: {reads} looks for due work (nothing is claimable before the probe)"
    );
    app.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_commits_every_request_it_answered() {
    let app = TestApp::spawn(CONFIG).await;
    let base = app.base.clone();
    let client = app.client.clone();
    let sends = (0..200).map(|i| {
        let body = format!(r#"{{"id":"evt_g{i}","type":"t"}}"#).into_bytes();
        let headers = signed(&SchemeSpec::named("stripe"), "whsec_test", &body, now(), "", "");
        let (client, base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            let mut req = client.post(format!("{base}/webhooks/stripe")).body(body);
            for (k, v) in &headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.ok()?;
            if resp.status() != 200 {
                return None;
            }
            let json: serde_json::Value = resp.json().await.ok()?;
            json["id"].as_str().map(str::to_string)
        })
    });
    let sends: Vec<_> = sends.collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let store_path = app.dir.path().join("inlet.db");
    let dir = app.stop().await;
    let mut acked = Vec::new();
    for s in sends {
        if let Some(id) = s.await.expect("task") {
            acked.push(id);
        }
    }
    let reopened = SqliteStore::open(&store_path).expect("reopens");
    for id in &acked {
        assert!(
            reopened.event(id).await.expect("reads").is_some(),
            "{id} was answered 200 but not stored"
        );
    }
    reopened.close().await;
    drop(dir);
}

#[tokio::test]
async fn a_body_cut_short_by_the_client_is_400_and_nothing_is_stored() {
    let app = TestApp::spawn(CONFIG).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.expect("connects");
    stream
        .write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\":")
        .await
        .expect("writes");
    stream.shutdown().await.expect("half-closes");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.starts_with("HTTP/1.1 2"),
        "never a 2xx for a truncated body: {answer:?}"
    );
    assert!(app.store.event_ids(10).await.expect("reads").is_empty());
    app.stop().await;
}
