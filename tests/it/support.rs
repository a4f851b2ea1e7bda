//! Test harness: start the real app on port 0, sign requests like providers do, and run
//! the `inlet` binary as a child process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use inlet::App;
use inlet::config::Settings;
use inlet::providers::{SchemeSpec, sign};
use inlet::signature::{Secret, SignInput};
use inlet::store::Store;
use inlet::store::sqlite::SqliteStore;
use tokio_util::sync::CancellationToken;

pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The app running in this process, with its temp folder and a client.
pub struct TestApp {
    pub base: String,
    pub admin: String,
    pub workers: Vec<Arc<inlet::workers::DeliveryWorker>>,
    pub pollers: Vec<Arc<inlet::sources::poll::Poller>>,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub dir: tempfile::TempDir,
}

/// Parses `config` (listeners forced to port 0, the database in a temp folder).
pub fn settings(config: &str, dir: &Path) -> Settings {
    let text = format!("{config}\n[storage]\nurl = \"sqlite://inlet.db\"\n",);
    let mut settings = Settings::parse(&text, dir, &|_| None).expect("test config is valid");
    settings.server.listen = "127.0.0.1:0".parse().expect("addr");
    settings.admin.listen = "127.0.0.1:0".parse().expect("addr");
    settings
}

impl TestApp {
    pub async fn spawn(config: &str) -> TestApp {
        TestApp::spawn_in(config, tempfile::tempdir().expect("tempdir")).await
    }

    /// As [`TestApp::spawn`] on the database already in `dir` (a restart).
    pub async fn spawn_in(config: &str, dir: tempfile::TempDir) -> TestApp {
        let s = settings(config, dir.path());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&s.storage.sqlite_path).expect("store opens"));
        TestApp::spawn_with_store(s, store, dir).await
    }

    pub async fn spawn_with_store(settings: Settings, store: Arc<dyn Store>, dir: tempfile::TempDir) -> TestApp {
        init();
        let app = App::build_with(settings, store.clone(), Arc::new(inlet::workers::SystemClock))
            .await
            .expect("app builds");
        TestApp::start(app, store, dir)
    }

    /// The app with delivery driven by the test: `worker(name).run_once()` on the clock.
    pub async fn spawn_manual(config: &str) -> (TestApp, Arc<inlet::workers::ManualClock>) {
        TestApp::spawn_manual_in(config, tempfile::tempdir().expect("tempdir")).await
    }

    pub async fn spawn_manual_in(config: &str, dir: tempfile::TempDir) -> (TestApp, Arc<inlet::workers::ManualClock>) {
        init();
        let s = settings(config, dir.path());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&s.storage.sqlite_path).expect("store opens"));
        let clock = Arc::new(inlet::workers::ManualClock::new(
            chrono::Utc::now().timestamp_millis() + 60_000,
        ));
        let app = App::build_with(s, store.clone(), clock.clone())
            .await
            .expect("app builds")
            .with_manual_delivery();
        (TestApp::start(app, store, dir), clock)
    }

    fn start(app: App, store: Arc<dyn Store>, dir: tempfile::TempDir) -> TestApp {
        let base = format!("http://{}", app.ingest_addr());
        let admin = format!("http://{}", app.admin_addr());
        let pollers = app.pollers();
        let workers = ["app", "slow", "raw", "file"]
            .iter()
            .filter_map(|n| app.worker(n))
            .collect();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        TestApp {
            base,
            admin,
            workers,
            pollers,
            store,
            client: reqwest::Client::new(),
            shutdown,
            task,
            dir,
        }
    }

    pub fn worker(&self, name: &str) -> Arc<inlet::workers::DeliveryWorker> {
        self.workers
            .iter()
            .find(|w| w.name() == name)
            .cloned()
            .expect("a worker of that name")
    }

    pub fn poller(&self, name: &str) -> Arc<inlet::sources::poll::Poller> {
        self.pollers
            .iter()
            .find(|p| p.name() == name)
            .cloned()
            .expect("a poller of that name")
    }

    /// One run of poll source `name` from its stored state (manual mode).
    pub async fn poll_once(
        &self,
        name: &str,
    ) -> Result<inlet::sources::poll::RunSummary, inlet::sources::poll::PollError> {
        let state = self.store.poll_state(name).await.expect("state reads");
        self.poller(name).run_once(&state).await
    }

    /// The stored events as (source, dedupe key), oldest first.
    pub async fn stored(&self) -> Vec<(String, String)> {
        let mut keys = Vec::new();
        for id in self.store.event_ids(100_000).await.expect("ids read") {
            if let Some(e) = self.store.event(&id).await.expect("event reads") {
                keys.push((e.event.source, e.event.dedupe_key));
            }
        }
        keys
    }

    pub async fn post(&self, source: &str, headers: &[(String, String)], body: &[u8]) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .post(format!("{}/webhooks/{source}", self.base))
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.expect("request is answered");
        let status = resp.status().as_u16();
        let json = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    pub async fn stop(self) -> tempfile::TempDir {
        self.shutdown.cancel();
        self.task.await.expect("app task").expect("app stops cleanly");
        self.dir
    }

    /// Waits until the store holds `n` rejected-request records (they are written async).
    pub async fn rejected_count(&self, n: usize) -> usize {
        for _ in 0..200 {
            let got = self.store.rejected(10_000).await.expect("reads").len();
            if got >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.store.rejected(10_000).await.expect("reads").len()
    }
}

/// The headers `spec` signs `body` with, at `at`, for `url` where the scheme needs one.
pub fn signed(spec: &SchemeSpec, secret: &str, body: &[u8], at: i64, id: &str, url: &str) -> Vec<(String, String)> {
    sign(
        spec,
        &Secret::new(secret),
        &SignInput {
            body,
            at,
            id,
            url: Some(url),
            headers: &[],
        },
    )
    .expect("signs")
}

/// A POST of `body` to `{base}/webhooks/{source}`, signed now as Standard Webhooks with
/// `secret` and message id `id`.
pub fn standard_post(
    client: &reqwest::Client,
    base: &str,
    source: &str,
    secret: &str,
    body: &[u8],
    id: &str,
) -> reqwest::RequestBuilder {
    let mut req = client.post(format!("{base}/webhooks/{source}")).body(body.to_vec());
    for (k, v) in signed(&SchemeSpec::named("standard"), secret, body, now(), id, "") {
        req = req.header(k, v);
    }
    req
}

/// `inlet serve` as a child process; stderr (JSON logs) is collected line by line.
pub struct Child {
    pub process: std::process::Child,
    pub ingest: String,
    pub admin: String,
    pub logs: Arc<std::sync::Mutex<Vec<String>>>,
}

/// A child left running would outlive the test run: kill it when the test drops it.
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Child {
    pub fn serve(config: &Path, extra_env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_inlet"));
        cmd.args(["serve", "-c"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut process = cmd.spawn().expect("inlet starts");
        let stderr = process.stderr.take().expect("stderr");
        let logs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("inlet is listening") {
                    let _ = tx.send(line.clone());
                }
                sink.lock().expect("logs").push(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("inlet says it is listening");
        let json: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
        let ingest = format!("http://{}", json["ingest"].as_str().expect("ingest address"));
        let admin = format!("http://{}", json["admin"].as_str().expect("admin address"));
        Child {
            process,
            ingest,
            admin,
            logs,
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").join("\n")
    }
}

/// A config file in `dir` whose listeners use port 0.
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("inlet.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\n[storage]\nurl = \"sqlite://inlet.db\"\n\n{body}"
    );
    std::fs::write(&path, text).expect("config written");
    path
}

/// Polls `check` until it gives a value; fails the test naming `what` after `limit`.
pub async fn eventually<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// [`post_many`] to this app.
    pub async fn post_many(&self, source: &str, secret: &str, tag: &str, n: usize) -> Vec<String> {
        post_many(&self.client, &self.base, source, secret, tag, n).await
    }

    /// Waits until `destination` has `n` deliveries in the terminal state `state`
    /// (`delivered` or `dead`), failing the test after `limit`.
    pub async fn wait_for_deliveries(&self, destination: &str, state: &str, n: u64, limit: Duration) {
        eventually(&format!("{n} {state} deliveries to {destination}"), limit, async || {
            let stats = self.store.destination_stats().await.expect("stats read");
            let s = stats.iter().find(|s| s.destination == destination)?;
            let got = match state {
                "delivered" => s.delivered,
                "dead" => s.dead,
                other => panic!("not a terminal state: {other}"),
            };
            (got >= n).then_some(())
        })
        .await
    }
}

/// The admin token `t` and a Standard Webhooks source `shop` signed with `secret` whose
/// events' type is the payload's `/type`: the head of the destination tests' configs.
pub fn shop_source(secret: &str) -> String {
    format!(
        r#"
[admin]
token = "t"

[sources.shop]
scheme = "standard"
secrets = ["{secret}"]
event_type = "/type"
"#
    )
}

/// Posts `n` Standard Webhooks events to `{base}/webhooks/{source}`
/// (`{"n": i, "type": "order.created", "object": {"id": "o{i}"}}`, message ids `{tag}-{i}`),
/// 8 at a time; returns the event ids in the order of `i`.
pub async fn post_many(
    client: &reqwest::Client,
    base: &str,
    source: &str,
    secret: &str,
    tag: &str,
    n: usize,
) -> Vec<String> {
    use futures::StreamExt;
    let answers: Vec<(usize, String)> = futures::stream::iter(0..n)
        .map(|i| {
            let body = format!(r#"{{"n":{i},"type":"order.created","object":{{"id":"o{i}"}}}}"#);
            let request = standard_post(client, base, source, secret, body.as_bytes(), &format!("{tag}-{i}"));
            async move {
                let resp = request.send().await.expect("answered");
                assert_eq!(resp.status().as_u16(), 200, "event {i}");
                let answer: serde_json::Value = resp.json().await.expect("JSON");
                (i, answer["id"].as_str().expect("an event id").to_string())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut ids = vec![String::new(); n];
    for (i, id) in answers {
        ids[i] = id;
    }
    ids
}

/// The URL of a service this machine runs, from `var`; `None` (saying the `what` tests are
/// skipped, and how to run them) when it is not set.
pub fn service(var: &str, example: &str, what: &str) -> Option<String> {
    let url = std::env::var(var).ok().filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: set {var}={example} to run the {what} tests");
    }
    url
}

/// The first destination as `{admin}/api/v1/destinations` shows it (token `t`).
pub async fn destination_view(client: &reqwest::Client, admin: &str) -> Option<serde_json::Value> {
    let list: serde_json::Value = client
        .get(format!("{admin}/api/v1/destinations"))
        .bearer_auth("t")
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(list["items"][0].clone())
}

impl TestApp {
    /// `GET {admin}{path}` with the token `t`, as JSON (`Null` when it is not).
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.admin))
            .bearer_auth("t")
            .send()
            .await
            .expect("the admin API answers");
        resp.json().await.unwrap_or(serde_json::Value::Null)
    }

    /// `/metrics` as text (token `t`); empty if it cannot be read.
    pub async fn metrics_text(&self) -> String {
        match self
            .client
            .get(format!("{}/metrics", self.admin))
            .bearer_auth("t")
            .send()
            .await
        {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Posts `n` requests to `source` signed as Standard Webhooks with a secret it does not
    /// have; each must be refused 401.
    pub async fn post_forged(&self, source: &str, n: usize) {
        for i in 0..n {
            let body = format!(r#"{{"n":{i}}}"#);
            let forged = signed(
                &SchemeSpec::named("standard"),
                "whsec_Zm9yZ2Vk",
                body.as_bytes(),
                now(),
                "m",
                "",
            );
            assert_eq!(
                self.post(source, &forged, body.as_bytes()).await.0,
                401,
                "forged request {i}"
            );
        }
    }
}
