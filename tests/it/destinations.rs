//! The slack, command and file destinations for real: a local HTTP server standing in for
//! Slack, a shell script run with the envelope on stdin (environment, exit codes, timeout),
//! and a JSON Lines file left torn by a failed write.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use inlet::providers::SchemeSpec;

use crate::receiver::Receiver;
use crate::support::{Child, TestApp, now, signed, write_config};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(destination: &str, retry: &str) -> String {
    format!(
        r#"
[sources.shop]
kind = "webhook"
scheme = "standard"
secrets = ["{SECRET}"]
id = "/id"
event_type = "/type"

[destinations.out]
{destination}
retry = {retry}

[[routes]]
from = ["shop"]
to = ["out"]
"#
    )
}

async fn post(app: &TestApp, body: &str) -> String {
    let headers = signed(
        &SchemeSpec::named("standard"),
        SECRET,
        body.as_bytes(),
        now(),
        "msg",
        "",
    );
    let (status, answer) = app.post("shop", &headers, body.as_bytes()).await;
    assert_eq!(status, 200);
    answer["id"].as_str().expect("id").to_string()
}

/// Writes an executable script into `dir`.
fn script(dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{text}\n")).expect("script written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

async fn wait_for_file(path: &std::path::Path) -> String {
    for _ in 0..1000 {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} never appeared", path.display());
}

#[tokio::test]
async fn slack_gets_the_rendered_text_as_json() {
    let slack = Receiver::start().await;
    let destination = format!(
        "kind = \"slack\"\nurl = \"{}\"\ntext = \"Order {{/id}} paid by {{/customer/name}}: {{/total}} ({{source}}/{{type}}, {{/missing}}{{id}})\"",
        slack.url
    );
    let app = TestApp::spawn(&config(&destination, r#"["0s"]"#)).await;
    let id = post(
        &app,
        r#"{"id":"o_1","type":"order.paid","total":12.5,"customer":{"name":"Ada"}}"#,
    )
    .await;
    let got = slack.wait_for(1).await;
    assert_eq!(got[0].headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({ "text": format!("Order o_1 paid by Ada: 12.5 (shop/order.paid, {id})") })
    );
    app.stop().await;
}

#[tokio::test]
async fn a_command_gets_the_envelope_on_stdin_and_its_environment_and_exit_zero_delivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    script(
        dir.path(),
        "handle.sh",
        r#"cat > "got-$INLET_EVENT_ID.json"; echo "$INLET_SOURCE|$INLET_TYPE|$(pwd)" > "env-$INLET_EVENT_ID.txt""#,
    );
    let cfg = config("kind = \"command\"\ncommand = [\"./handle.sh\"]", r#"["0s"]"#);
    let app = TestApp::spawn_in(&cfg, dir).await;
    let id = post(&app, r#"{"id":"o_2","type":"order.paid"}"#).await;
    let folder = app.dir.path().to_path_buf();
    let envelope: serde_json::Value =
        serde_json::from_str(&wait_for_file(&folder.join(format!("got-{id}.json"))).await).expect("envelope");
    assert_eq!(envelope["id"], id.as_str());
    assert_eq!(envelope["payload"]["id"], "o_2");
    let env = wait_for_file(&folder.join(format!("env-{id}.txt"))).await;
    let canonical = folder.canonicalize().expect("canonical");
    assert_eq!(env.trim(), format!("shop|order.paid|{}", canonical.display()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stored = app.store.event(&id).await.expect("reads").expect("event");
    assert_eq!(stored.deliveries[0].state, "delivered");
    app.stop().await;
}

#[tokio::test]
async fn a_command_that_exits_non_zero_is_retried_with_its_exit_status_and_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Fails the first time, succeeds the second.
    script(
        dir.path(),
        "flaky.sh",
        r#"cat > /dev/null; if [ -e tried ]; then exit 0; fi; touch tried; echo "db is down" >&2; exit 3"#,
    );
    let cfg = config("kind = \"command\"\ncommand = [\"./flaky.sh\"]", r#"["0s", "1s"]"#);
    let app = TestApp::spawn_in(&cfg, dir).await;
    let id = post(&app, r#"{"id":"o_3","type":"order.paid"}"#).await;
    let mut state = String::new();
    for _ in 0..400 {
        let stored = app.store.event(&id).await.expect("reads").expect("event");
        state = stored.deliveries[0].state.clone();
        if state == "delivered" {
            let attempts = &stored.deliveries[0].attempts;
            assert_eq!(attempts.len(), 2);
            assert_eq!(attempts[0].error.as_deref(), Some("exit status 3"));
            assert_eq!(attempts[0].response_excerpt.as_deref(), Some("db is down\n"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(state, "delivered");
    app.stop().await;
}

#[tokio::test]
async fn a_command_past_its_timeout_has_its_whole_process_group_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A child in the background that would outlive its parent, and the parent stuck too.
    script(dir.path(), "stuck.sh", r#"sleep 60 & echo $! > child.pid; sleep 60"#);
    let cfg = config(
        "kind = \"command\"\ncommand = [\"./stuck.sh\"]\ntimeout = \"1s\"",
        r#"["0s"]"#,
    );
    let app = TestApp::spawn_in(&cfg, dir).await;
    let id = post(&app, r#"{"id":"o_4","type":"order.paid"}"#).await;
    let pid: u32 = wait_for_file(&app.dir.path().join("child.pid"))
        .await
        .trim()
        .parse()
        .expect("pid");
    let mut dead = None;
    for _ in 0..500 {
        let stored = app.store.event(&id).await.expect("reads").expect("event");
        if stored.deliveries[0].state == "dead" {
            dead = Some(stored);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stored = dead.expect("the only step failed: dead");
    let error = stored.deliveries[0].attempts[0].error.clone().unwrap_or_default();
    assert!(error.starts_with("timeout after 1s"), "{error}");
    // The background sleep is gone too (or a zombie waiting for init to reap it).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(status.is_empty() || status.contains("State:\tZ"), "{status}");
    app.stop().await;
}

#[tokio::test]
async fn a_torn_line_in_the_file_is_cut_off_before_the_next_envelope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.jsonl");
    // What an ENOSPC mid-write leaves: a complete line, then a fragment without its newline.
    std::fs::write(&path, "{\"id\":\"evt_before\"}\n{\"id\":\"evt_torn\",\"paylo").expect("fragment written");
    let destination = format!("kind = \"file\"\npath = \"{}\"", path.display());
    let app = TestApp::spawn(&config(&destination, r#"["0s"]"#)).await;
    let id = post(&app, r#"{"id":"o_5","type":"order.paid"}"#).await;
    let mut text = String::new();
    for _ in 0..1000 {
        text = std::fs::read_to_string(&path).expect("file reads");
        if text.contains(&id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["id"], "evt_before");
    assert_eq!(lines[1]["id"], id.as_str());
    assert!(!text.contains("evt_torn"), "{text}");
    assert!(text.ends_with('\n'));
    app.stop().await;
}

#[tokio::test]
async fn a_command_gets_a_clean_environment_with_path_its_event_and_its_env_table_but_none_of_inlets_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    script(
        dir.path(),
        "env.sh",
        r#"cat > /dev/null; env > "env-$INLET_EVENT_ID.txt""#,
    );
    let body = r#"
[sources.shop]
kind = "webhook"
scheme = "standard"
secrets = ["${TEST_SHOP_SECRET}"]
id = "/id"
event_type = "/type"

[destinations.out]
kind = "command"
command = ["./env.sh"]
env = { GREETING = "hello there", DEST_TOKEN = "${TEST_DEST_TOKEN}" }
retry = ["0s"]

[[routes]]
from = ["shop"]
to = ["out"]
"#;
    let config = write_config(dir.path(), body);
    let child = Child::serve(
        &config,
        &[
            ("TEST_SHOP_SECRET", SECRET),
            ("TEST_DEST_TOKEN", "dest-token-for-the-command"),
            ("INLET_ADMIN_TOKEN", "admin-token-never-inherited"),
            ("TEST_UNRELATED", "unrelated-value-never-inherited"),
        ],
    );
    let payload = r#"{"id":"o_6","type":"order.paid"}"#;
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/shop", child.ingest))
        .body(payload);
    for (k, v) in signed(
        &SchemeSpec::named("standard"),
        SECRET,
        payload.as_bytes(),
        now(),
        "msg_env",
        "",
    ) {
        request = request.header(k, v);
    }
    let answer: serde_json::Value = request.send().await.expect("answered").json().await.expect("JSON");
    let id = answer["id"].as_str().expect("id");
    let env = wait_for_file(&dir.path().join(format!("env-{id}.txt"))).await;
    let vars: Vec<&str> = env.lines().collect();
    assert!(vars.contains(&"GREETING=hello there"), "{env}");
    assert!(vars.contains(&"DEST_TOKEN=dest-token-for-the-command"), "{env}");
    assert!(vars.contains(&format!("INLET_EVENT_ID={id}").as_str()), "{env}");
    assert!(
        vars.contains(&"INLET_SOURCE=shop") && vars.contains(&"INLET_TYPE=order.paid"),
        "{env}"
    );
    let path = std::env::var("PATH").expect("the test has a PATH");
    assert!(vars.contains(&format!("PATH={path}").as_str()), "{env}");
    for secret in [SECRET, "admin-token-never-inherited", "unrelated-value-never-inherited"] {
        assert!(!env.contains(secret), "{secret} reached the command: {env}");
    }
    assert!(!env.contains("TEST_"), "{env}");
    assert!(
        !child.logs().contains("dest-token-for-the-command"),
        "an env value was logged"
    );
}
