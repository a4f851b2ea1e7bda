//! The `inlet` binary as a process: SIGKILL mid-stream loses no acknowledged event, a
//! restart binds at once, and no secret reaches the logs or the rejected records.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inlet::providers::SchemeSpec;
use inlet::store::Store;
use inlet::store::sqlite::SqliteStore;

use crate::support::{Child, init, now, signed, write_config};

const SOURCES: &str = r#"
[sources.stripe]
scheme = "stripe"
secrets = ["${TEST_STRIPE_SECRET}"]
"#;
const SECRET: &str = "whsec_crash_test_secret_9f1c";

async fn send(client: &reqwest::Client, base: &str, secret: &str, body: &[u8]) -> Option<(u16, serde_json::Value)> {
    let mut req = client.post(format!("{base}/webhooks/stripe")).body(body.to_vec());
    for (k, v) in signed(&SchemeSpec::named("stripe"), secret, body, now(), "", "") {
        req = req.header(k, v);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_keeps_every_event_it_acknowledged() {
    init();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), SOURCES);
    let env = [("TEST_STRIPE_SECRET", SECRET)];
    let mut child = Child::serve(&config, &env);
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let client = reqwest::Client::new();
    let senders: Vec<_> = (0..8)
        .map(|task| {
            let (client, base, acked) = (client.clone(), child.ingest.clone(), acked.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                for i in 0.. {
                    if started.elapsed() > Duration::from_secs(10) {
                        break;
                    }
                    let body = format!(r#"{{"id":"evt_c{task}_{i}","type":"charge.succeeded"}}"#);
                    match send(&client, &base, SECRET, body.as_bytes()).await {
                        Some((200, answer)) => {
                            acked
                                .lock()
                                .expect("acked")
                                .push(answer["id"].as_str().unwrap_or_default().to_string());
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while acked.lock().expect("acked").len() < 300 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.process.kill().expect("SIGKILL");
    child.process.wait().expect("reaped");
    for s in senders {
        s.await.expect("sender");
    }
    let acked = acked.lock().expect("acked").clone();
    assert!(
        acked.len() >= 300,
        "the stream was running when the gateway died ({} acked)",
        acked.len()
    );

    // A restarted gateway binds at once and serves.
    let mut again = Child::serve(&config, &env);
    let health = client
        .get(format!("{}/healthz", again.ingest))
        .send()
        .await
        .expect("answered");
    assert_eq!(health.status().as_u16(), 200);
    again.process.kill().expect("stopped");
    again.process.wait().expect("reaped");

    let store = SqliteStore::open(&dir.path().join("inlet.db")).expect("reopens");
    let stored = store.event_ids(1_000_000).await.expect("reads");
    for id in &acked {
        assert!(stored.contains(id), "{id} was acknowledged but is not in the store");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_signature_appears_in_logs_or_rejected_records() {
    init();
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "admin-token-5be1d0c4";
    let config = write_config(dir.path(), SOURCES);
    let text = std::fs::read_to_string(&config).expect("config").replace(
        "[admin]\nlisten = \"127.0.0.1:0\"",
        "[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"${TEST_ADMIN_TOKEN}\"",
    );
    std::fs::write(&config, text).expect("config");
    let mut child = Child::serve(
        &config,
        &[
            ("TEST_STRIPE_SECRET", SECRET),
            ("TEST_ADMIN_TOKEN", token),
            ("RUST_LOG", "debug"),
        ],
    );
    let client = reqwest::Client::new();
    let mut signatures = Vec::new();
    for (i, secret) in [SECRET, "whsec_forger", SECRET].iter().enumerate() {
        let body = format!(r#"{{"id":"evt_s{i}","type":"charge.succeeded"}}"#);
        let headers = signed(&SchemeSpec::named("stripe"), secret, body.as_bytes(), now(), "", "");
        signatures.push(headers[0].1.split("v1=").nth(1).unwrap_or_default().to_string());
        let mut req = client
            .post(format!("{}/webhooks/stripe", child.ingest))
            .body(body)
            .header("Authorization", format!("Bearer {token}"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send().await.expect("answered");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.process.id().to_string()])
        .status();
    child.process.wait().expect("stops");
    let logs = child.logs();
    assert!(logs.contains("webhook rejected"), "the forged request is logged");
    for secret in [SECRET, token, "whsec_forger"] {
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
    for sig in &signatures {
        assert!(!logs.contains(sig.as_str()), "a signature is in the logs");
    }
    let store = SqliteStore::open(&dir.path().join("inlet.db")).expect("reopens");
    let rejected = format!("{:?}", store.rejected(100).await.expect("reads"));
    assert!(rejected.contains("invalid_signature"));
    for needle in [SECRET, token]
        .iter()
        .copied()
        .chain(signatures.iter().map(String::as_str))
    {
        assert!(
            !rejected.contains(needle),
            "a secret or signature is in the rejected records"
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_while_delivering_delivers_every_acknowledged_event_after_restart() {
    init();
    let receiver = crate::receiver::Receiver::start().await;
    receiver.always(crate::receiver::Reply {
        status: 200,
        retry_after: None,
        delay: Duration::from_millis(20),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let destination = format!(
        "[destinations.app]\nkind = \"http\"\nurl = \"{}\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nconcurrency = 4\n\n[[routes]]\nfrom = [\"stripe\"]\nto = [\"app\"]\n",
        receiver.url
    );
    let config = write_config(dir.path(), &format!("{SOURCES}\n{destination}"));
    let env = [("TEST_STRIPE_SECRET", SECRET)];
    let mut child = Child::serve(&config, &env);
    let client = reqwest::Client::new();
    let mut acked = Vec::new();
    for i in 0..300 {
        let body = format!(r#"{{"id":"evt_k{i}","type":"charge.succeeded"}}"#);
        if let Some((200, answer)) = send(&client, &child.ingest, SECRET, body.as_bytes()).await {
            acked.push(answer["id"].as_str().unwrap_or_default().to_string());
        }
    }
    // Kill it while the backlog is being delivered (4 at a time, 20 ms each).
    let started = Instant::now();
    while receiver.received().len() < 40 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.process.kill().expect("SIGKILL");
    child.process.wait().expect("reaped");
    let before_restart = receiver.received().len();
    assert!(
        before_restart < acked.len(),
        "the kill came mid-delivery ({before_restart} of {})",
        acked.len()
    );

    let mut again = Child::serve(&config, &env);
    let started = Instant::now();
    let delivered = |r: &crate::receiver::Receiver| {
        r.received()
            .iter()
            .map(|x| x.headers["webhook-id"].to_str().unwrap_or_default().to_string())
            .collect::<std::collections::HashSet<_>>()
    };
    while delivered(&receiver).len() < acked.len() && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &again.process.id().to_string()])
        .status();
    again.process.wait().expect("stops");
    let got = delivered(&receiver);
    for id in &acked {
        assert!(got.contains(id), "{id} was acknowledged but never delivered");
    }
    for r in receiver.received() {
        let envelope: serde_json::Value = serde_json::from_slice(&r.body).expect("envelope");
        assert_eq!(
            r.headers["webhook-id"].to_str().ok(),
            envelope["id"].as_str(),
            "a duplicate carries its first copy's webhook-id"
        );
    }
}
