//! `inlet events`, `inlet replay` and `inlet tail` as a user runs them against a gateway.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use inlet::providers::SchemeSpec;

use crate::admin_api::{SECRET, TOKEN, fixture};
use crate::support::{now, signed};

async fn inlet(admin: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inlet"));
    cmd.args(args)
        .args(["--admin-url", admin, "--token", TOKEN, "-c", "/nonexistent.toml"])
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joins")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn events_list_and_show_print_tables_or_json_and_fail_clearly() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let out = inlet(&admin, &["events", "list", "--source", "shop", "--json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    let out = inlet(&admin, &["events", "list", "--limit", "4"]).await;
    let text = stdout(&out);
    assert!(text.starts_with("ID"), "{text}");
    assert_eq!(text.lines().count(), 5, "a header and 4 rows across pages: {text}");
    let out = inlet(&admin, &["events", "show", &f.ids[0], "--json"]).await;
    let e: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(e["id"], f.ids[0].as_str());
    let out = inlet(&admin, &["events", "show", &f.ids[3]]).await;
    assert!(stdout(&out).contains("delivery failing → dead"), "{}", stdout(&out));
    let out = inlet(&admin, &["events", "show", "evt_missing"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    f.app.stop().await;
}

#[tokio::test]
async fn replay_by_status_prints_one_line_without_a_terminal_and_by_id_re_queues_that_event() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let out = inlet(&admin, &["replay", "--status", "dead", "--destination", "failing"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "replayed 3 deliveries\n");
    f.failing.wait_for(6).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = inlet(&admin, &["replay", &f.ids[0]]).await;
    assert_eq!(stdout(&out), "replayed 1 deliveries\n");
    f.good.wait_for(7).await;
    let out = inlet(&admin, &["replay"]).await;
    assert_eq!(out.status.code(), Some(2), "ids or --status: a usage error");
    f.app.stop().await;
}

#[tokio::test]
async fn tail_prints_new_events_as_they_arrive_and_says_it_reconnects_when_the_stream_ends() {
    let f = fixture().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_inlet"))
        .args([
            "tail",
            "--source",
            "shop",
            "--admin-url",
            &f.app.admin,
            "--token",
            TOKEN,
            "-c",
            "/x.toml",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tail starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Give tail time to connect, then post.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let body = br#"{"n":42,"type":"order.created"}"#;
    let headers = signed(&SchemeSpec::named("standard"), SECRET, body, now(), "msg_42", "");
    let (status, answer) = f.app.post("shop", &headers, body).await;
    assert_eq!(status, 200);
    let id = answer["id"].as_str().expect("id").to_string();
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains("delivery")) {
        // Never block the runtime's thread: the app runs on it too.
        if let Ok(Some(line)) = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
            lines.push(line);
        }
    }
    let event_line = lines.iter().find(|l| l.contains(" event ")).expect("an event line");
    assert!(
        event_line.contains(&id) && event_line.contains("order.created"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("delivery") && l.contains("delivered")),
        "{lines:?}"
    );
    f.app.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = child.kill();
    let out = child.wait_with_output().expect("waits");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reconnecting"),
        "tail keeps trying"
    );
}

#[tokio::test]
async fn destinations_pause_and_resume_alerts_and_rejected_retry_work_from_the_command_line() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let out = inlet(&admin, &["destinations", "pause", "good"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).starts_with("good: paused"), "{}", stdout(&out));
    let out = inlet(&admin, &["destinations", "--json"]).await;
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let good = list
        .as_array()
        .and_then(|l| l.iter().find(|d| d["name"] == "good"))
        .cloned()
        .expect("listed");
    assert_eq!(good["paused"], true);
    let table = stdout(&inlet(&admin, &["destinations"]).await);
    assert!(
        table.lines().any(|l| l.starts_with("good") && l.contains("paused")),
        "{table}"
    );
    let out = inlet(&admin, &["destinations", "resume", "good"]).await;
    assert_eq!(stdout(&out), "good: resumed\n");
    let out = inlet(&admin, &["destinations", "pause", "nope"]).await;
    assert_eq!(out.status.code(), Some(1), "an unknown destination fails");

    // The fixture's failing destination has dead deliveries: its alert opens.
    crate::support::eventually("the failing destination's alert", Duration::from_secs(10), async || {
        let out = inlet(&admin, &["alerts", "--state", "open", "--json"]).await;
        let list: serde_json::Value = serde_json::from_str(&stdout(&out)).ok()?;
        list.as_array()?
            .iter()
            .any(|a| a["kind"] == "destination_failing" && a["subject"] == "failing")
            .then_some(())
    })
    .await;
    let table = stdout(&inlet(&admin, &["alerts"]).await);
    assert!(table.starts_with("STATE"), "{table}");
    assert!(table.contains("destination_failing"), "{table}");

    f.app.post_forged("shop", 1).await;
    assert!(f.app.rejected_count(1).await >= 1);
    let table = stdout(&inlet(&admin, &["rejected"]).await);
    assert!(table.contains("invalid_signature"), "{table}");
    let out = inlet(&admin, &["rejected", "retry", "--source", "shop", "--since", "1h"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(
        text.starts_with("retried ")
            && text.contains(": 0 accepted, 0 duplicates, ")
            && text.ends_with(" still rejected\n"),
        "{text}"
    );
    f.app.stop().await;
}
