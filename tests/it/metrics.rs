//! `/metrics`: Prometheus text that a parser accepts, behind the admin token, and counters
//! that move with traffic. The registry is process-wide, so this test's names are its own.

use std::collections::HashMap;

use inlet::providers::SchemeSpec;

use crate::receiver::Receiver;
use crate::support::{TestApp, now, signed};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Parses Prometheus text: every sample `name{labels} value` of a family declared by a
/// `# TYPE` line. Returns samples keyed by `name{labels}`.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "one TYPE per family: {line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "unexpected line {line:?}");
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        let name = series.split('{').next().expect("name");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "a sample before its TYPE: {line}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        samples.insert(series.to_string(), value);
    }
    samples
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_need_the_token_and_move_with_traffic() {
    let receiver = Receiver::start().await;
    let cfg = format!(
        r#"
[admin]
token = "metrics-token"

[sources.metrics_src]
scheme = "standard"
secrets = ["{SECRET}"]

[destinations.metrics_app]
kind = "http"
url = "{}"
retry = ["0s"]

[[routes]]
from = ["metrics_src"]
to = ["metrics_app"]
"#,
        receiver.url
    );
    let app = TestApp::spawn(&cfg).await;
    for (id, body) in [("m1", "{\"n\":1}"), ("m2", "{\"n\":2}"), ("m1", "{\"n\":1}")] {
        let headers = signed(&SchemeSpec::named("standard"), SECRET, body.as_bytes(), now(), id, "");
        assert_eq!(app.post("metrics_src", &headers, body.as_bytes()).await.0, 200);
    }
    let forged = signed(
        &SchemeSpec::named("standard"),
        "whsec_d3Jvbmd3cm9uZ3dyb25n",
        b"{}",
        now(),
        "m3",
        "",
    );
    assert_eq!(app.post("metrics_src", &forged, b"{}").await.0, 401);
    receiver.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let url = format!("{}/metrics", app.admin);
    assert_eq!(
        app.client.get(&url).send().await.expect("answered").status().as_u16(),
        401
    );
    let resp = app
        .client
        .get(&url)
        .bearer_auth("metrics-token")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    let m = parse(&resp.text().await.expect("text"));
    let get = |k: &str| m.get(k).copied().unwrap_or_else(|| panic!("no {k} in {m:?}"));
    assert_eq!(
        get(r#"inlet_ingest_requests_total{source="metrics_src",outcome="accepted"}"#),
        2.0
    );
    assert_eq!(
        get(r#"inlet_ingest_requests_total{source="metrics_src",outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        get(r#"inlet_ingest_requests_total{source="metrics_src",outcome="rejected"}"#),
        1.0
    );
    assert_eq!(
        get(r#"inlet_deliveries_total{destination="metrics_app",outcome="delivered"}"#),
        2.0
    );
    assert_eq!(
        get(r#"inlet_delivery_duration_seconds_count{destination="metrics_app"}"#),
        2.0
    );
    assert_eq!(get(r#"inlet_queue_depth{destination="metrics_app",kind="http"}"#), 0.0);
    assert_eq!(get(r#"inlet_circuit_open{destination="metrics_app",kind="http"}"#), 0.0);
    assert!(get("inlet_ingest_duration_seconds_count") >= 3.0);
    assert!(get("inlet_store_commit_batch_count") >= 1.0);
    assert!(get(r#"inlet_store_commit_seconds_bucket{le="+Inf"}"#) >= 1.0);
    app.stop().await;
}
