//! `GET /api/v1/sources`, `POST /api/v1/sources/{name}/reset-cursor` and `inlet sources`:
//! poll figures and cursors as a person or a script reads them, behind the admin token, and
//! never a poll source's credentials.

use std::process::Command;
use std::time::Duration;

use crate::provider::{FakeApi, Scripted};
use crate::support::TestApp;

const TOKEN: &str = "admin-token-for-tests";

fn config(api: &FakeApi) -> String {
    format!(
        r#"
[admin]
token = "{TOKEN}"

[sources.items]
kind = "poll"
url = "{}/items?limit=10"
items = "/data"
id = "/id"
interval = "1s"
cursor = {{ param = "updated_after", field = "/updated", initial = "50" }}

[sources.hook]
kind = "webhook"
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
"#,
        api.base
    )
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut req = app.client.get(format!("{}{path}", app.admin));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("answered");
    (resp.status().as_u16(), resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_sources_route_shows_cursors_and_efficiency_and_needs_the_token() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    api.put("b", 101);
    let (app, _clock) = TestApp::spawn_manual(&config(&api)).await;
    app.poll_once("items").await.expect("run");
    app.poll_once("items").await.expect("run");

    assert_eq!(get(&app, "/api/v1/sources", None).await.0, 401);
    let (status, body) = get(&app, "/api/v1/sources", Some("wrong")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    let (status, body) = get(&app, "/api/v1/sources", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    let poll = items.iter().find(|s| s["name"] == "items").expect("poll source");
    assert_eq!(poll["kind"], "poll");
    assert_eq!(poll["status"], "ok");
    assert_eq!(poll["cursor"], 101, "an integer cursor stays an integer");
    assert_eq!(poll["stats"]["requests"], 2);
    assert_eq!(poll["stats"]["new_events"], 2);
    assert_eq!(poll["stats"]["duplicates"], 0, "the second run asked from the cursor");
    assert_eq!(poll["stats"]["empty_polls"], 1);
    assert_eq!(poll["stats"]["requests_per_new_event"], 1.0);
    assert_eq!(
        poll["url"].as_str(),
        Some(format!("{}/items?limit=10", api.base).as_str()),
        "a query value that is not a secret is shown"
    );
    let hook = items.iter().find(|s| s["name"] == "hook").expect("webhook source");
    assert_eq!(hook["kind"], "webhook");

    let ingest = app
        .client
        .get(format!("{}/api/v1/sources", app.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(ingest.status().as_u16(), 404, "never on the ingest listener");
    app.stop().await;
}

#[tokio::test]
async fn reset_cursor_sends_the_next_run_back_to_the_initial_cursor_and_wins_over_a_run_in_flight() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    let (app, _clock) = TestApp::spawn_manual(&config(&api)).await;
    app.poll_once("items").await.expect("run");
    assert_eq!(api.calls()[0].query["updated_after"], "50");
    assert_eq!(api.calls()[0].query["limit"], "10", "the url's own query is kept");

    // A run that is in flight while the cursor is reset must not put its cursor back.
    api.put("b", 200);
    api.script(2, Scripted::Hold(Duration::from_millis(500)));
    let state = app.store.poll_state("items").await.expect("reads");
    let poller = app.poller("items");
    let run = tokio::spawn(async move { poller.run_once(&state).await });
    api.wait_for_calls(2).await;
    let resp = app
        .client
        .post(format!("{}/api/v1/sources/items/reset-cursor", app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    run.await.expect("joins").expect("the run completes");
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.cursor, None, "the reset wins");
    assert_eq!(state.counts.new_events, 2, "the run's events are kept");

    app.poll_once("items").await.expect("run");
    assert_eq!(api.calls()[2].query["updated_after"], "50");
    let resp = app
        .client
        .post(format!("{}/api/v1/sources/hook/reset-cursor", app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 404);
    app.stop().await;
}

#[tokio::test]
async fn inlet_sources_prints_a_table_or_json_and_says_why_when_it_cannot() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    let (app, _clock) = TestApp::spawn_manual(&config(&api)).await;
    app.poll_once("items").await.expect("run");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_inlet"))
            .args(["-c", "/nonexistent/inlet.toml", "sources"])
            .args(args)
            .env_remove("INLET_ADMIN_TOKEN")
            .env_remove("INLET_ADMIN_URL")
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let admin = app.admin.clone();
    let (code, text) = tokio::task::spawn_blocking(move || run(&["--admin-url", &admin, "--token", TOKEN]))
        .await
        .expect("joins");
    assert_eq!(code, Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("REQ/NEW"), "{text}");
    let row = lines
        .iter()
        .find(|l| l.starts_with("items"))
        .expect("a row for the poll source");
    assert!(row.contains("poll") && row.contains("100"), "{row}");

    let admin = app.admin.clone();
    let (code, text) = tokio::task::spawn_blocking(move || run(&["--admin-url", &admin, "--token", TOKEN, "--json"]))
        .await
        .expect("joins");
    assert_eq!(code, Some(0));
    let json: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON document");
    assert_eq!(json.as_array().map(Vec::len), Some(2));

    let admin = app.admin.clone();
    let (code, text) = tokio::task::spawn_blocking(move || run(&["--admin-url", &admin, "--token", "nope"]))
        .await
        .expect("joins");
    assert_eq!(code, Some(1));
    assert!(text.contains("refused the token"), "{text}");

    let admin = app.admin.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_inlet"))
            .args(["destinations", "--admin-url", &admin, "--token", TOKEN])
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(table.starts_with("NAME") && table.contains("CIRCUIT"), "{table}");

    let (code, text) = tokio::task::spawn_blocking(move || run(&["--admin-url", "127.0.0.1:9"]))
        .await
        .expect("joins");
    assert_eq!(code, Some(1));
    assert!(text.contains("cannot reach the admin API"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn the_sources_route_shows_a_poll_url_without_its_password_query_keys_or_headers() {
    let cfg = format!(
        r#"
[admin]
token = "{TOKEN}"

[sources.items]
kind = "poll"
url = "https://user:PASSWORD@api.example.com/x?api_key=SECRET&limit=10"
headers = {{ Authorization = "Bearer HEADER-SECRET" }}
items = "/data"
id = "/id"
"#
    );
    let (app, _clock) = TestApp::spawn_manual(&cfg).await;
    let (status, body) = get(&app, "/api/v1/sources", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let text = body.to_string();
    for secret in ["PASSWORD", "SECRET"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(
        body["items"][0]["url"],
        "https://user:***@api.example.com/x?api_key=***&limit=10"
    );
    app.stop().await;
}
