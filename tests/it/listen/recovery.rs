//! `inlet listen` when things go wrong: the gateway restarts, the app fails, listen itself
//! is restarted, the token is wrong. Nothing is lost, nothing is forwarded twice, and
//! every stop says why.

use std::process::Command;
use std::time::Duration;

use super::{LISTEN_SECRET, Listen, TOKEN, free_port, gateway_config, numbered, post_stripe, verifies};
use crate::receiver::{Receiver, Reply};
use crate::support::{Child, eventually};

#[tokio::test]
async fn a_gateway_restart_loses_nothing_every_event_sent_after_it_is_forwarded_once_in_order_after_the_reconnect() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = free_port();
    let config = gateway_config(dir.path(), &admin);
    let gateway = Child::serve(&config, &[]);
    let receiver = Receiver::start().await;
    let listen = Listen::start(&gateway.admin, &receiver.url, &["--secret", LISTEN_SECRET]);
    listen.line("Forwarding events").await;
    post_stripe(&gateway.ingest, "evt_before", -1).await;
    receiver.wait_for(1).await;
    drop(gateway);
    listen.line("lost the connection to inlet").await;
    // The outage this test is about: inlet is down for 5 s.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let gateway = Child::serve(&config, &[]);
    for n in 0..20 {
        let id = format!("evt_after_{n}");
        post_stripe(&gateway.ingest, &id, n).await;
    }
    let got = eventually("21 forwarded events", Duration::from_secs(30), async || {
        let got = receiver.received();
        (got.len() >= 21).then_some(got)
    })
    .await;
    let reconnected = listen.line("reconnected to inlet").await;
    eventually(
        "20 lines forwarded after the reconnect",
        Duration::from_secs(10),
        async || {
            let lines = listen.lines.lock().expect("lines").clone();
            (lines[reconnected..].iter().filter(|l| l.contains("→ 200")).count() == 20).then_some(())
        },
    )
    .await;
    let ns: Vec<i64> = got[1..]
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).expect("JSON")["n"]
                .as_i64()
                .expect("n")
        })
        .collect();
    assert_eq!(ns, (0..20).collect::<Vec<_>>(), "each once, in arrival order");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 21, "nothing forwarded twice");
    drop(gateway);
}

#[tokio::test]
async fn an_app_answering_500_twice_gets_the_event_on_the_third_try() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Child::serve(&gateway_config(dir.path(), "127.0.0.1:0"), &[]);
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500), Reply::status(500)]);
    let listen = Listen::start(&gateway.admin, &receiver.url, &["--secret", LISTEN_SECRET]);
    listen.line("Forwarding events").await;
    let body = numbered("evt_retry", 1);
    post_stripe(&gateway.ingest, "evt_retry", 1).await;
    listen.line("(try 3 of 3)").await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.body[..] == body[..]), "the same body on every try");
    assert!(verifies("stripe", &got[2], &receiver.url));
    let text = listen.text();
    assert_eq!(text.matches("→ 500").count(), 2, "{text}");
    assert!(
        text.lines().any(|l| l.contains("→ 200") && l.contains("(try 3 of 3)")),
        "{text}"
    );
}

#[tokio::test]
async fn listen_started_again_with_since_forwards_the_window_again() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Child::serve(&gateway_config(dir.path(), "127.0.0.1:0"), &[]);
    let receiver = Receiver::start().await;
    let first = Listen::start(&gateway.admin, &receiver.url, &["--secret", LISTEN_SECRET]);
    first.line("Forwarding events").await;
    for n in 0..2 {
        let id = format!("evt_w{n}");
        post_stripe(&gateway.ingest, &id, n).await;
    }
    assert_eq!(receiver.wait_for(2).await.len(), 2);
    drop(first);
    let again = Listen::start(
        &gateway.admin,
        &receiver.url,
        &["--secret", LISTEN_SECRET, "--since", "10m"],
    );
    again.line("from 10m ago").await;
    let got = receiver.wait_for(4).await;
    assert_eq!(got.len(), 4, "{}", again.text());
    assert_eq!(got[2].body[..], numbered("evt_w0", 0)[..]);
    assert_eq!(got[3].body[..], numbered("evt_w1", 1)[..]);
}

/// `inlet listen` against `admin` with `token` and `extra`, run to its end.
fn listen_once(admin: &str, token: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_inlet"))
        .args(["listen", "--forward-to", "http://127.0.0.1:9/", "--admin-url", admin])
        .args(["--token", token, "--secret", LISTEN_SECRET, "-c", "/nonexistent.toml"])
        .args(extra)
        .output()
        .expect("runs")
}

#[tokio::test]
async fn a_wrong_token_stops_listen_with_exit_1_and_says_so() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Child::serve(&gateway_config(dir.path(), "127.0.0.1:0"), &[]);
    let out = listen_once(&gateway.admin, "wrong", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused the token"), "{stderr}");
    let out = listen_once(&gateway.admin, TOKEN, &["--source", "strpe"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no source \"strpe\"") && stderr.contains("stripe"),
        "{stderr}"
    );
}
