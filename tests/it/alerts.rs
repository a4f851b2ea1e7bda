//! Alerts as an operator meets them: one notification when an alert opens and one when it
//! resolves (Slack `{"text"}`, http the signed alert JSON), for each kind of alert, and one
//! alert of each kind with two nodes on PostgreSQL.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::provider::{FakeApi, Scripted};
use crate::receiver::{Receiver, Reply};
use crate::support::{TestApp, eventually, shop_source};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn alerts(app: &TestApp) -> Vec<Value> {
    app.admin_get("/api/v1/alerts").await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits for an alert of `kind` in `state`; fails the test after `limit`.
async fn alert_in(app: &TestApp, kind: &str, state: &str, limit: Duration) -> Value {
    eventually(&format!("a {state} {kind} alert"), limit, async || {
        alerts(app)
            .await
            .into_iter()
            .find(|a| a["kind"] == kind && a["state"] == state)
    })
    .await
}

fn texts(slack: &Receiver) -> Vec<String> {
    slack
        .received()
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.body).expect("Slack JSON");
            v["text"].as_str().expect("a text").to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_failing_destination_gives_one_slack_notification_when_its_circuit_opens_and_one_when_it_recovers() {
    let (failing, slack) = (Receiver::start().await, Receiver::start().await);
    failing.always(Reply::status(500));
    let config = format!(
        r#"{}
[destinations.app]
kind = "http"
url = "{}"
retry = ["0s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s"]
circuit = {{ failures = 2, probe = "1s" }}

[destinations.ops]
kind = "slack"
url = "{}"

[alerts]
notify = ["ops"]

[[routes]]
from = ["shop"]
to = ["app"]
"#,
        shop_source(SECRET),
        failing.url,
        slack.url
    );
    let app = TestApp::spawn(&config).await;
    app.post_many("shop", SECRET, "fail", 3).await;
    let opened = alert_in(&app, "destination_failing", "open", Duration::from_secs(15)).await;
    assert_eq!(opened["subject"], "app");
    let first = slack.wait_for(1).await;
    assert_eq!(first.len(), 1);
    let text = &texts(&slack)[0];
    assert!(
        text.contains("open: destination_failing on destination `app` since "),
        "names the kind, the subject, the state and since when: {text}"
    );

    failing.always(Reply::status(200));
    app.wait_for_deliveries("app", "delivered", 3, Duration::from_secs(20))
        .await;
    let resolved = alert_in(&app, "destination_failing", "resolved", Duration::from_secs(10)).await;
    assert_eq!(resolved["id"], opened["id"], "the same alert resolves");
    eventually("the resolution's notification", Duration::from_secs(10), async || {
        (slack.received().len() >= 2).then_some(())
    })
    .await;
    let all = texts(&slack);
    assert_eq!(all.len(), 2, "exactly one opening and one resolution: {all:?}");
    assert!(
        all[1].starts_with("inlet alert resolved: destination_failing on destination `app`"),
        "{}",
        all[1]
    );
    // The notifications are events of their own, delivered once each.
    app.wait_for_deliveries("ops", "delivered", 2, Duration::from_secs(5))
        .await;
    assert_eq!(alerts(&app).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_backlog_opens_an_alert_sent_as_signed_json_and_resolves_once_the_queue_drains() {
    let (target, ops) = (Receiver::start().await, Receiver::start().await);
    let config = format!(
        r#"{}
[destinations.app]
kind = "http"
url = "{}"

[destinations.ops]
kind = "http"
url = "{}"
secret = "{SECRET}"

[alerts]
notify = ["ops"]
backlog = "1s"

[[routes]]
from = ["shop"]
to = ["app"]
"#,
        shop_source(SECRET),
        target.url,
        ops.url
    );
    let app = TestApp::spawn(&config).await;
    let pause = |verb: &'static str| {
        app.client
            .post(format!("{}/api/v1/destinations/app/{verb}", app.admin))
            .bearer_auth("t")
            .header("content-type", "application/json")
            .send()
    };
    assert_eq!(pause("pause").await.expect("answered").status(), 200);
    app.post_many("shop", SECRET, "backlog", 2).await;
    let opened = alert_in(&app, "backlog", "open", Duration::from_secs(15)).await;
    assert_eq!(opened["subject"], "app");
    let sent = ops.wait_for(1).await;
    let alert: Value = serde_json::from_slice(&sent[0].body).expect("the alert's JSON");
    assert_eq!(
        (alert["id"].clone(), alert["kind"].clone(), alert["state"].clone()),
        (opened["id"].clone(), json!("backlog"), json!("open"))
    );
    assert!(
        alert["detail"].as_str().is_some_and(|d| d.contains("waited")),
        "{alert}"
    );
    let id = sent[0]
        .headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .expect("webhook-id");
    assert_eq!(id, format!("{}.open", opened["id"].as_str().unwrap_or("")));
    let wh = standardwebhooks::Webhook::new(SECRET).expect("the secret");
    wh.verify(&sent[0].body, &sent[0].headers)
        .expect("signed like deliveries");

    assert_eq!(pause("resume").await.expect("answered").status(), 200);
    app.wait_for_deliveries("app", "delivered", 2, Duration::from_secs(10))
        .await;
    alert_in(&app, "backlog", "resolved", Duration::from_secs(15)).await;
    let sent = ops.wait_for(2).await;
    let resolved: Value = serde_json::from_slice(&sent[1].body).expect("JSON");
    assert_eq!(resolved["state"], "resolved");
    assert!(resolved["resolved_at"].is_string());
    let id = sent[1]
        .headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(id.ends_with(".resolved"), "{id}");
    app.stop().await;
}

fn poll_config(api: &FakeApi, extra: &str) -> String {
    format!(
        r#"
[admin]
token = "t"

[sources.items]
kind = "poll"
url = "{}/items"
items = "/data"
id = "/id"
interval = "1s"
idle_interval = "1s"
cursor = {{ param = "updated_after", field = "/updated" }}
pagination = {{ kind = "cursor", param = "after_id", field = "/id", has_more = "/has_more" }}
{extra}

[destinations.app]
kind = "file"
path = "out.jsonl"

[[routes]]
from = ["items"]
to = ["app"]
"#,
        api.base
    )
}

#[tokio::test]
async fn a_poll_source_answered_401_opens_poll_failing_at_once_and_a_good_run_resolves_it() {
    let api = FakeApi::start(10).await;
    api.script(1, Scripted::Status(401, None));
    let app = TestApp::spawn(&poll_config(&api, "")).await;
    let opened = alert_in(&app, "poll_failing", "open", Duration::from_secs(5)).await;
    assert_eq!(opened["subject"], "items");
    assert!(opened["detail"].as_str().is_some_and(|d| d.contains("401")), "{opened}");
    api.wait_for_calls(2).await;
    let resolved = alert_in(&app, "poll_failing", "resolved", Duration::from_secs(10)).await;
    assert_eq!(resolved["id"], opened["id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_burst_of_forged_requests_opens_rejected_spike() {
    let config = format!("{}\n[alerts]\nrejected = 5\n", shop_source(SECRET));
    let app = TestApp::spawn(&config).await;
    app.post_forged("shop", 6).await;
    let opened = alert_in(&app, "rejected_spike", "open", Duration::from_secs(10)).await;
    assert_eq!(opened["subject"], "shop");
    assert!(
        opened["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("6 requests rejected")),
        "{opened}"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("inlet_alerts_open{kind=\"rejected_spike\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_silent_webhook_source_opens_silent_and_its_poll_source_runs_within_a_second_and_recovers_the_event() {
    let api = FakeApi::start(10).await;
    let extra = format!(
        r#"dedupe_group = "items"
interval = "10m"
idle_interval = "1h"

[sources.hook]
scheme = "standard"
secrets = ["{SECRET}"]
id = "/id"
dedupe_group = "items"
silence = "2s"
"#
    );
    let config = poll_config(&api, &extra)
        .replace("interval = \"1s\"\nidle_interval = \"1s\"\n", "")
        .replace(r#"from = ["items"]"#, r#"from = ["items", "hook"]"#);
    let app = TestApp::spawn(&config).await;
    api.wait_for_calls(1).await;
    // The provider has an event whose webhook never comes.
    api.put("lost", 100);
    let opened = alert_in(&app, "silent", "open", Duration::from_secs(10)).await;
    assert_eq!(opened["subject"], "hook");
    let calls = api.wait_for_calls(2).await;
    assert!(calls.len() >= 2, "the group's poll source was not run");
    let opened_at = chrono::DateTime::parse_from_rfc3339(opened["opened_at"].as_str().expect("opened_at"))
        .expect("RFC 3339")
        .timestamp_millis();
    let called_at =
        chrono::Utc::now().timestamp_millis() - Instant::now().duration_since(calls[1].at).as_millis() as i64;
    assert!(
        called_at - opened_at < 1000,
        "polled {} ms after the alert opened",
        called_at - opened_at
    );
    eventually(
        "the event the webhook never brought",
        Duration::from_secs(5),
        async || {
            let stored = app.stored().await;
            stored.iter().any(|(s, k)| s == "items" && k == "lost").then_some(())
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgresql_open_an_alert_once_and_notify_once() {
    let Some((url, schema)) = crate::nodes::shared_schema("alerts").await else {
        return;
    };
    let ops = Receiver::start().await;
    let config = format!(
        r#"{}
[destinations.ops]
kind = "http"
url = "{}"

[alerts]
notify = ["ops"]
rejected = 3
"#,
        shop_source(SECRET),
        ops.url
    );
    let a = crate::nodes::node(&config, &url, &schema).await;
    let b = crate::nodes::node(&config, &url, &schema).await;
    a.post_forged("shop", 4).await;
    b.post_forged("shop", 4).await;
    let opened = alert_in(&a, "rejected_spike", "open", Duration::from_secs(10)).await;
    // Both nodes have looked at the spike since it opened (each reads the alert as open).
    for node in [&a, &b] {
        eventually("both nodes to see the alert", Duration::from_secs(10), async || {
            let text = node.metrics_text().await;
            text.contains("inlet_alerts_open{kind=\"rejected_spike\"} 1")
                .then_some(())
        })
        .await;
    }
    a.wait_for_deliveries("ops", "delivered", 1, Duration::from_secs(10))
        .await;
    let spikes: Vec<Value> = alerts(&b)
        .await
        .into_iter()
        .filter(|x| x["kind"] == "rejected_spike")
        .collect();
    assert_eq!(spikes.len(), 1, "opened once across the nodes: {spikes:?}");
    assert_eq!(spikes[0]["id"], opened["id"]);
    assert_eq!(ops.received().len(), 1, "notified once");
    a.stop().await;
    b.stop().await;
}
