//! Traces as a collector sees them: the gateway (the binary) exports OTLP/HTTP protobuf to a
//! receiver in the test, decoded with the OpenTelemetry protocol's own types. One webhook
//! carrying a `traceparent` gives `ingest`, `verify`, `commit` and `delivery` spans in that
//! trace, and the HTTP destination receives a `traceparent` of the same trace.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::receiver::Receiver;
use crate::support::{Child, eventually, standard_post, write_config};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// One span as received, ids in hex.
#[derive(Clone, Debug)]
struct Got {
    trace: String,
    id: String,
    parent: String,
    name: String,
    service: String,
    attributes: Vec<(String, String)>,
}

type Spans = Arc<Mutex<Vec<Got>>>;

async fn collector() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut got = sink.lock().expect("spans");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|kv| kv.key == "service.name")
                        .map(|kv| format!("{:?}", kv.value))
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            let attributes = span
                                .attributes
                                .iter()
                                .map(|kv| (kv.key.clone(), format!("{:?}", kv.value)))
                                .collect();
                            got.push(Got {
                                trace: hex::encode(&span.trace_id),
                                id: hex::encode(&span.span_id),
                                parent: hex::encode(&span.parent_span_id),
                                name: span.name,
                                service: service.clone(),
                                attributes,
                            });
                        }
                    }
                }
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, spans)
}

#[tokio::test]
async fn a_webhook_with_a_traceparent_yields_ingest_verify_commit_and_delivery_spans_in_its_trace_and_the_receiver_joins_it()
 {
    crate::support::init();
    let (otlp, spans) = collector().await;
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[telemetry]
otlp = "{otlp}"

[sources.shop]
scheme = "standard"
secrets = ["{SECRET}"]

[destinations.app]
kind = "http"
url = "{}"

[[routes]]
from = ["shop"]
to = ["app"]
"#,
            receiver.url
        ),
    );
    let child = Child::serve(&config, &[("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    let client = reqwest::Client::new();
    let parent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let resp = standard_post(&client, &child.ingest, "shop", SECRET, br#"{"n":1}"#, "msg_traced")
        .header("traceparent", &parent)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    let event: serde_json::Value = resp.json().await.expect("JSON");
    let event_id = event["id"].as_str().expect("an id").to_string();

    let delivered = receiver.wait_for(1).await;
    let sent = delivered[0]
        .headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .expect("the delivery carries a traceparent")
        .to_string();
    assert!(sent.starts_with(&format!("00-{TRACE_ID}-")), "{sent}");
    assert_ne!(sent, parent, "the delivery span's own id, not the provider's");

    let names = eventually("the four spans of the trace", Duration::from_secs(20), async || {
        let got = spans.lock().expect("spans").clone();
        let names: Vec<String> = got
            .iter()
            .filter(|s| s.trace == TRACE_ID)
            .map(|s| s.name.clone())
            .collect();
        ["ingest", "verify", "commit", "delivery"]
            .iter()
            .all(|n| names.iter().any(|m| m == n))
            .then_some(got)
    })
    .await;
    let span = |name: &str| {
        names
            .iter()
            .find(|s| s.trace == TRACE_ID && s.name == name)
            .cloned()
            .expect("the span")
    };
    let (ingest_span, verify, commit, delivery_span) =
        (span("ingest"), span("verify"), span("commit"), span("delivery"));
    assert_eq!(
        ingest_span.parent, "00f067aa0ba902b7",
        "the provider's span is the ingest span's parent"
    );
    assert_eq!(verify.parent, ingest_span.id, "verify is a child of ingest");
    assert_eq!(commit.parent, ingest_span.id, "commit is a child of ingest");
    assert_eq!(
        delivery_span.parent, ingest_span.id,
        "the delivery joins the event's trace under its ingest span"
    );
    assert!(
        sent.contains(&format!("-{}-", delivery_span.id)),
        "the receiver gets the delivery span's id: {sent}"
    );
    assert!(ingest_span.service.contains("inlet"), "{}", ingest_span.service);
    let ingest = ingest_span.attributes;
    let has =
        |attrs: &[(String, String)], key: &str, value: &str| attrs.iter().any(|(k, v)| k == key && v.contains(value));
    assert!(has(&ingest, "inlet.source", "shop"), "{ingest:?}");
    assert!(has(&ingest, "inlet.outcome", "accepted"), "{ingest:?}");
    assert!(has(&ingest, "inlet.event_id", &event_id), "{ingest:?}");
    let delivery = delivery_span.attributes;
    assert!(has(&delivery, "inlet.destination", "app"), "{delivery:?}");
    assert!(has(&delivery, "inlet.outcome", "delivered"), "{delivery:?}");
    assert!(has(&delivery, "inlet.attempt", "1"), "{delivery:?}");
    drop(child);
}

#[tokio::test]
async fn an_unreachable_collector_is_one_clear_warning_that_shows_neither_its_password_nor_its_headers() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[telemetry]\notlp = \"http://collector:hunter2@127.0.0.1:9\"\n\n[sources.shop]\nscheme = \"standard\"\nsecrets = [\"{SECRET}\"]\n"
        ),
    );
    let child = Child::serve(
        &config,
        &[
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=sekret-api-key"),
        ],
    );
    let resp = standard_post(
        &reqwest::Client::new(),
        &child.ingest,
        "shop",
        SECRET,
        br#"{"n":1}"#,
        "msg_dead_collector",
    )
    .send()
    .await
    .expect("answered");
    assert_eq!(resp.status().as_u16(), 200, "a dead collector costs ingest nothing");
    eventually("the exporter's warning", Duration::from_secs(20), async || {
        child
            .logs()
            .contains("traces: the collector is unreachable")
            .then_some(())
    })
    .await;
    let logs = child.logs();
    assert!(logs.contains("collector:***@"), "the endpoint is named, masked: {logs}");
    assert!(!logs.contains("hunter2") && !logs.contains("sekret-api-key"), "{logs}");
}
