//! Poll sources against a fake provider API whose data the tests change while inlet polls:
//! exactly-once across pages and restarts, the cursor boundary, failed runs, Retry-After,
//! intervals, dedupe groups with webhook sources (reconciliation), the rate limit, and runs
//! that would never end (an API that ignores `page`, `max_pages`).

use std::collections::HashMap;
use std::time::Duration;

use inlet::providers::SchemeSpec;

use inlet::sources::poll::RunStop;

use crate::provider::{FakeApi, Scripted};
use crate::receiver::Receiver;
use crate::support::{TestApp, now, signed};

const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A poll source `items` on `api` (pages by `after_id`, cursor `updated_after` with a 5 s
/// lookback), delivering to `receiver`; `extra` is appended to the source.
fn config(api: &FakeApi, receiver: &str, extra: &str) -> String {
    format!(
        r#"
[sources.items]
kind = "poll"
url = "{api}/items"
items = "/data"
id = "/id"
event_type = "/type"
interval = "1s"
idle_interval = "2s"
cursor = {{ param = "updated_after", field = "/updated", lookback = "5s" }}
pagination = {{ kind = "cursor", param = "after_id", field = "/id", has_more = "/has_more" }}
{extra}

[destinations.app]
kind = "http"
url = "{receiver}"
retry = ["0s", "1s"]

[[routes]]
from = ["items"]
to = ["app"]
"#,
        api = api.base
    )
}

/// How many times each payload id reached the receiver.
fn delivered(receiver: &Receiver) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in receiver.received() {
        let envelope: serde_json::Value = serde_json::from_slice(&r.body).expect("envelope JSON");
        let id = envelope["payload"]["id"].as_str().expect("payload id").to_string();
        *counts.entry(id).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn every_item_is_delivered_exactly_once_across_three_pages_and_a_restart_in_the_middle_of_a_run() {
    let api = FakeApi::start(2).await;
    for (i, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        api.put(id, 100 + i as i64);
    }
    api.script(3, Scripted::Hold(Duration::from_secs(30)));
    let receiver = Receiver::start().await;
    let cfg = config(&api, &receiver.url, "");
    let app = TestApp::spawn(&cfg).await;
    api.wait_for_calls(3).await;
    receiver.wait_for(4).await;
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.cursor, None, "a run cut short commits no cursor");
    let dir = app.stop().await;

    let app = TestApp::spawn_in(&cfg, dir).await;
    receiver.wait_for(5).await;
    // Let another run or two read the same items again.
    api.wait_for_calls(api.calls().len() + 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = delivered(&receiver);
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "each item once: {counts:?}");
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.cursor.as_deref(), Some("104"));
    assert_eq!(state.counts.new_events, 5);
    assert!(state.counts.duplicates >= 4, "{:?}", state.counts);
    for r in receiver.received() {
        let envelope: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(envelope["via"], "poll");
        assert_eq!(envelope["type"], "item.updated");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_item_written_later_with_the_cursors_own_timestamp_is_not_skipped() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    api.put("b", 100);
    // The same API behind two sources: one with the lookback, one without (the control).
    let extra = format!(
        r#"
[sources.strict]
kind = "poll"
url = "{}/items"
items = "/data"
id = "/id"
cursor = {{ param = "updated_after", field = "/updated", lookback = "0s" }}
"#,
        api.base
    );
    let (app, _clock) = TestApp::spawn_manual(&config(&api, "http://127.0.0.1:9/", &extra)).await;
    for source in ["items", "strict"] {
        app.poll_once(source).await.expect("run completes");
        let state = app.store.poll_state(source).await.expect("reads");
        assert_eq!(state.cursor.as_deref(), Some("100"));
    }
    api.put("c", 100);
    for source in ["items", "strict"] {
        app.poll_once(source).await.expect("run completes");
    }
    let stored = app.stored().await;
    let keys = |source: &str| -> Vec<String> {
        let mut k: Vec<String> = stored
            .iter()
            .filter(|(s, _)| s == source)
            .map(|(_, k)| k.clone())
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys("items"), vec!["a", "b", "c"], "the lookback re-asks the boundary");
    assert_eq!(keys("strict"), vec!["a", "b"], "a strict > API hides it without one");
    let calls = api.calls();
    assert_eq!(calls[2].query.get("updated_after").map(String::as_str), Some("95"));
    app.stop().await;
}

#[tokio::test]
async fn a_500_on_page_two_leaves_the_cursor_where_it_was_and_the_next_run_completes() {
    let api = FakeApi::start(2).await;
    for (i, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        api.put(id, 100 + i as i64);
    }
    api.script(2, Scripted::Status(500, None));
    let (app, _clock) = TestApp::spawn_manual(&config(&api, "http://127.0.0.1:9/", "")).await;
    let err = app.poll_once("items").await.expect_err("page 2 fails the run");
    assert_eq!(err.kind(), "http_500");
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.cursor, None);
    assert_eq!(state.counts.errors, 1);
    assert_eq!(state.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(app.stored().await.len(), 2, "page 1 is stored as it arrived");

    let summary = app.poll_once("items").await.expect("the next run completes");
    assert_eq!(summary.pages, 3);
    assert_eq!(summary.new_events, 3);
    let calls = api.calls();
    assert!(
        !calls[2].query.contains_key("updated_after"),
        "the retry starts from the old cursor (none)"
    );
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.cursor.as_deref(), Some("104"));
    assert_eq!(state.last_error, None);
    assert_eq!(state.counts.runs, 2);
    assert_eq!(state.counts.requests, 5);
    assert_eq!(app.stored().await.len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn a_429_with_retry_after_stops_all_calls_for_that_long_also_across_a_restart() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    api.script(1, Scripted::Status(429, Some("2")));
    let cfg = config(&api, "http://127.0.0.1:9/", "");
    let app = TestApp::spawn(&cfg).await;
    api.wait_for_calls(1).await;
    for _ in 0..200 {
        if app
            .store
            .poll_state("items")
            .await
            .expect("reads")
            .paused_until
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let state = app.store.poll_state("items").await.expect("reads");
    assert!(state.paused_until.is_some(), "the pause is stored");
    assert_eq!(state.counts.rate_limited, 1);
    let dir = app.stop().await;

    let app = TestApp::spawn_in(&cfg, dir).await;
    let calls = api.wait_for_calls(2).await;
    assert_eq!(calls.len(), 2, "polling resumes after the pause");
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_secs(2), "called again after {gap:?}");
    assert!(gap < Duration::from_secs(4), "and not much later: {gap:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_idle_interval_follows_an_empty_poll_and_the_normal_one_follows_new_items() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    let cfg = config(&api, "http://127.0.0.1:9/", "").replace("idle_interval = \"2s\"", "idle_interval = \"3s\"");
    let app = TestApp::spawn(&cfg).await;
    let calls = api.wait_for_calls(3).await;
    let after_new = calls[1].at - calls[0].at;
    let after_empty = calls[2].at - calls[1].at;
    assert!(
        after_new >= Duration::from_secs(1) && after_new < Duration::from_millis(1600),
        "interval after new items: {after_new:?}"
    );
    assert!(
        after_empty >= Duration::from_secs(3) && after_empty < Duration::from_millis(3600),
        "idle interval after an empty poll: {after_empty:?}"
    );
    let state = app.store.poll_state("items").await.expect("reads");
    assert!(state.counts.empty_polls >= 1, "{:?}", state.counts);
    app.stop().await;
}

#[tokio::test]
async fn the_idle_interval_holds_across_a_restart_because_the_next_run_time_is_stored() {
    let api = FakeApi::start(10).await;
    let cfg = config(&api, "http://127.0.0.1:9/", "").replace("idle_interval = \"2s\"", "idle_interval = \"4s\"");
    let app = TestApp::spawn(&cfg).await;
    let first = api.wait_for_calls(1).await[0].at;
    let mut scheduled = None;
    for _ in 0..500 {
        scheduled = app.store.poll_state("items").await.expect("reads").next_run_at;
        if scheduled.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let scheduled = scheduled.expect("the empty run stored its next run time");
    let wait = scheduled - chrono::Utc::now().timestamp_millis();
    assert!(
        wait > 3000 && wait <= 4400,
        "idle_interval 4 s plus jitter ahead: {wait} ms"
    );
    let dir = app.stop().await;

    // A new process (as another node would) waits for the stored time, not just `interval`.
    let app = TestApp::spawn_in(&cfg, dir).await;
    let calls = api.wait_for_calls(2).await;
    let gap = calls[1].at - first;
    assert!(
        gap >= Duration::from_secs(4),
        "polled again after {gap:?}: the idle interval held"
    );
    assert!(gap < Duration::from_secs(6), "and not much later: {gap:?}");
    app.stop().await;
}

#[tokio::test]
async fn in_one_dedupe_group_a_webhook_and_a_poll_of_the_same_event_give_one_delivery_and_a_dropped_webhook_is_recovered()
 {
    let api = FakeApi::start(10).await;
    let receiver = Receiver::start().await;
    let extra = format!(
        r#"dedupe_group = "items"

[sources.hook]
kind = "webhook"
scheme = "standard"
secrets = ["{STANDARD_SECRET}"]
id = "/id"
dedupe_group = "items"
"#
    );
    let cfg = config(&api, &receiver.url, &extra).replace(r#"from = ["items"]"#, r#"from = ["items", "hook"]"#);
    let app = TestApp::spawn(&cfg).await;
    api.wait_for_calls(1).await;

    let body = br#"{"id":"a","updated":100,"type":"item.updated"}"#;
    let headers = signed(
        &SchemeSpec::named("standard"),
        STANDARD_SECRET,
        body,
        now(),
        "msg_a",
        "",
    );
    let (status, answer) = app.post("hook", &headers, body).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(false)));
    // The provider holds both; the webhook of "b" never came.
    api.put("a", 100);
    api.put("b", 101);
    receiver.wait_for(2).await;
    api.wait_for_calls(api.calls().len() + 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let counts = delivered(&receiver);
    assert_eq!(counts.get("a"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("b"), Some(&1), "{counts:?}");
    let via: HashMap<String, String> = receiver
        .received()
        .iter()
        .map(|r| {
            let e: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
            (
                e["payload"]["id"].as_str().unwrap_or("").to_string(),
                e["via"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(via["a"], "webhook");
    assert_eq!(via["b"], "poll");
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.counts.recovered, 1, "{:?}", state.counts);
    assert!(state.counts.duplicates >= 1);

    // The late webhook of "b" is a duplicate of what polling found.
    let body = br#"{"id":"b","updated":101,"type":"item.updated"}"#;
    let headers = signed(
        &SchemeSpec::named("standard"),
        STANDARD_SECRET,
        body,
        now(),
        "msg_b",
        "",
    );
    let (status, answer) = app.post("hook", &headers, body).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn with_rate_limit_5_per_second_a_10_second_run_makes_no_more_than_50_calls_plus_the_burst() {
    let api = FakeApi::start(10).await;
    let cfg = format!(
        r#"
[sources.endless]
kind = "poll"
url = "{}/endless"
items = "/data"
id = "/id"
rate_limit = "5/s"
pagination = {{ kind = "page", param = "page" }}
"#,
        api.base
    );
    let app = TestApp::spawn(&cfg).await;
    let first = api.wait_for_calls(1).await[0].at;
    tokio::time::sleep(Duration::from_millis(10_300)).await;
    let calls = api.calls();
    let in_window = calls.iter().filter(|c| c.at - first < Duration::from_secs(10)).count();
    assert!(in_window <= 5 * 10 + 1, "{in_window} calls in 10 s");
    assert!(in_window >= 45, "the limit paces, it does not stall: {in_window} calls");
    let pages: Vec<&str> = calls
        .iter()
        .take(3)
        .filter_map(|c| c.query.get("page").map(String::as_str))
        .collect();
    assert_eq!(pages, vec!["1", "2", "3"]);
    assert!(calls.iter().all(|c| c.path == "/endless"));
    app.stop().await;
}

#[tokio::test]
async fn a_failing_source_backs_off_and_logs_once_when_it_starts_failing_and_once_when_it_recovers() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    for n in 1..=3 {
        api.script(n, Scripted::Status(500, None));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let body = format!(
        "[sources.items]\nkind = \"poll\"\nurl = \"{}/items?api_key=secret-in-query\"\nitems = \"/data\"\nid = \"/id\"\n\
         interval = \"1s\"\nidle_interval = \"2s\"\nheaders = {{ Authorization = \"Bearer secret-in-header\" }}\n",
        api.base
    );
    let config = crate::support::write_config(dir.path(), &body);
    let mut child = tokio::task::spawn_blocking(move || crate::support::Child::serve(&config, &[]))
        .await
        .expect("joins");
    let calls = api.wait_for_calls(4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.process.kill();
    let _ = child.process.wait();
    let logs = child.logs();

    let gaps: Vec<f64> = calls.windows(2).map(|w| (w[1].at - w[0].at).as_secs_f64()).collect();
    assert!(
        gaps[0] >= 1.0 && gaps[1] >= 2.0 && gaps[2] >= 2.0,
        "backoff 1 s, 2 s, then capped at idle: {gaps:?}"
    );
    assert_eq!(logs.matches("poll failing").count(), 1, "{logs}");
    assert_eq!(logs.matches("poll source recovered").count(), 1, "{logs}");
    assert!(logs.contains("HTTP 500"));
    assert!(
        !logs.contains("secret-in-query") && !logs.contains("secret-in-header"),
        "{logs}"
    );
    drop(dir);
}

#[tokio::test]
async fn the_cursor_survives_a_config_edit_and_a_restart() {
    let api = FakeApi::start(10).await;
    api.put("a", 100);
    let cfg = config(&api, "http://127.0.0.1:9/", "");
    let (app, _clock) = TestApp::spawn_manual(&cfg).await;
    app.poll_once("items").await.expect("run");
    let dir = app.stop().await;

    let edited = cfg.replace("interval = \"1s\"", "interval = \"5s\"").replace(
        "idle_interval = \"2s\"",
        "idle_interval = \"10s\"\nquery = { limit = \"7\" }",
    );
    let (app, _clock) = TestApp::spawn_manual_in(&edited, dir).await;
    assert_eq!(
        app.store.poll_state("items").await.expect("reads").cursor.as_deref(),
        Some("100")
    );
    app.poll_once("items").await.expect("run");
    let last = api.calls().pop().expect("a call");
    assert_eq!(last.query.get("updated_after").map(String::as_str), Some("95"));
    assert_eq!(last.query.get("limit").map(String::as_str), Some("7"));
    app.stop().await;
}

#[tokio::test]
async fn polled_events_count_in_the_dashboards_ingest_chart_once_each() {
    let api = FakeApi::start(10).await;
    for (i, id) in ["p", "q", "r"].iter().enumerate() {
        api.put(id, 100 + i as i64);
    }
    let receiver = Receiver::start().await;
    let cfg = config(&api, &receiver.url, "")
        .replace("[sources.items]", "[sources.charted]")
        .replace(r#"from = ["items"]"#, r#"from = ["charted"]"#);
    let app = TestApp::spawn(&cfg).await;
    receiver.wait_for(3).await;
    // A later run reads the same items again: duplicates do not count.
    api.wait_for_calls(api.calls().len() + 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let chart = inlet::telemetry::series::last_hour("ingest", chrono::Utc::now().timestamp_millis());
    let counted: u64 = chart
        .iter()
        .filter(|(label, _)| label == "charted")
        .flat_map(|(_, counts)| counts)
        .sum();
    assert_eq!(counted, 3, "{chart:?}");
    app.stop().await;
}

/// A poll source `items` on `path` of `api` with page pagination and the cursor on `/updated`.
fn paged(api: &FakeApi, path: &str, extra: &str) -> String {
    format!(
        r#"
[sources.items]
kind = "poll"
url = "{}{path}"
items = "/data"
id = "/id"
cursor = {{ param = "updated_after", field = "/updated" }}
pagination = {{ kind = "page", param = "page" }}
{extra}
"#,
        api.base
    )
}

#[tokio::test]
async fn past_max_pages_a_newest_first_listing_keeps_its_cursor_so_nothing_older_is_skipped() {
    let api = FakeApi::start(2).await;
    let (app, _clock) = TestApp::spawn_manual(&paged(&api, "/endless-newest-first", "max_pages = 3")).await;
    let failed = app.poll_once("items").await;
    assert!(
        matches!(&failed, Err(e) if e.to_string().contains("max_pages")),
        "{failed:?}"
    );
    assert_eq!(api.calls().len(), 3, "the run stops at max_pages");
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.cursor, None, "the cursor stays: what is left is older");
    assert_eq!(app.stored().await.len(), 6, "the pages read are kept");
    app.stop().await;
}

#[tokio::test]
async fn a_page_ignoring_api_ends_the_run_at_the_first_page_with_nothing_new_and_commits_the_cursor() {
    let api = FakeApi::start(2).await;
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        api.put(id, 100 + i as i64);
    }
    let (app, _clock) = TestApp::spawn_manual(&paged(&api, "/first-page-only", "")).await;
    let summary = app.poll_once("items").await.expect("the run completes");
    assert_eq!(summary.stopped, Some(RunStop::Repeated { page: 2 }));
    assert_eq!(summary.pages, 2);
    assert_eq!(summary.new_events, 2);
    let calls = api.calls();
    assert!(calls.len() <= 3, "{} requests", calls.len());
    assert_eq!(calls[1].query.get("page").map(String::as_str), Some("2"));
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(
        state.cursor.as_deref(),
        Some("101"),
        "the run's greatest cursor is committed"
    );
    assert_eq!(state.last_error, None);
    let mut keys: Vec<String> = app.stored().await.into_iter().map(|(_, k)| k).collect();
    keys.sort();
    assert_eq!(keys, vec!["a", "b"]);
    app.stop().await;
}

#[tokio::test]
async fn a_run_ends_after_max_pages_pages_with_the_cursor_committed() {
    let api = FakeApi::start(2).await;
    let (app, _clock) = TestApp::spawn_manual(&paged(&api, "/endless", "max_pages = 3")).await;
    let summary = app.poll_once("items").await.expect("the run completes");
    assert_eq!(summary.stopped, Some(RunStop::MaxPages { max_pages: 3 }));
    assert_eq!(summary.pages, 3);
    assert_eq!(summary.new_events, 6);
    assert_eq!(api.calls().len(), 3);
    let state = app.store.poll_state("items").await.expect("reads");
    assert_eq!(state.cursor.as_deref(), Some("3"));
    // The next run goes on from there: the cursor is sent.
    app.poll_once("items").await.expect("the next run completes");
    let calls = api.calls();
    assert_eq!(calls[3].query.get("updated_after").map(String::as_str), Some("3"));
    app.stop().await;
}
