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
