//! Every scheme end to end through `POST /webhooks/{source}`: signed → 200 and stored;
//! forged, stale, missing and malformed → 401 with its KIND and only a rejected record.

use inlet::providers::SchemeSpec;
use inlet::signature::{Algorithm, Encoding, HmacSpec};

use crate::support::{TestApp, now, signed};

const CONFIG: &str = r#"
[server]
public_url = "https://hooks.example.com"

[sources.stripe]
scheme = "stripe"
secrets = ["whsec_old_stripe", "whsec_test_stripe"]

[sources.standard]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[sources.github]
scheme = "github"
secrets = ["gh-secret"]

[sources.shopify]
scheme = "shopify"
secrets = ["shopify-secret"]

[sources.slack]
scheme = "slack"
secrets = ["slack-secret"]

[sources.twilio]
scheme = "twilio"
secrets = ["twilio-token"]

[sources.paddle]
scheme = "paddle"
secrets = ["pdl_ntfset_secret"]

[sources.square]
scheme = "square"
secrets = ["square-key"]
public_url = "https://hooks.example.com/square-notify"

[sources.acme]
scheme = "hmac"
secrets = ["acme-secret"]
header = "X-Acme-Signature"
prefix = "sha256="
id_header = "X-Acme-Delivery"
type_header = "X-Acme-Event"

[sources.open]
scheme = "none"
allow_unsigned = true

[destinations.app]
kind = "http"
url = "http://127.0.0.1:9/events"

[[routes]]
from = ["stripe"]
events = ["charge.*"]
to = ["app"]
"#;

/// An expected KIND, the headers and the body of a request that must be refused.
type Negative = (&'static str, Vec<(String, String)>, Vec<u8>);

struct Case {
    source: &'static str,
    spec: SchemeSpec,
    secret: &'static str,
    url: &'static str,
    body: &'static str,
    extra: Vec<(String, String)>,
    expected_key: &'static str,
}

fn cases() -> Vec<Case> {
    let json = r#"{"id":"evt_S1","event_id":"E1","type":"charge.succeeded","event_type":"subscription.created"}"#;
    let h = |k: &str, v: &str| (k.to_string(), v.to_string());
    vec![
        Case {
            source: "stripe",
            spec: SchemeSpec::named("stripe"),
            secret: "whsec_test_stripe",
            url: "",
            body: json,
            extra: vec![],
            expected_key: "evt_S1",
        },
        Case {
            source: "standard",
            spec: SchemeSpec::named("standard"),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            url: "",
            body: json,
            extra: vec![],
            expected_key: "msg_round",
        },
        Case {
            source: "github",
            spec: SchemeSpec::named("github").allowing_legacy(false),
            secret: "gh-secret",
            url: "",
            body: json,
            extra: vec![h("X-GitHub-Event", "push")],
            expected_key: "msg_round",
        },
        Case {
            source: "shopify",
            spec: SchemeSpec::named("shopify"),
            secret: "shopify-secret",
            url: "",
            body: json,
            extra: vec![h("X-Shopify-Topic", "orders/create")],
            expected_key: "msg_round",
        },
        Case {
            source: "slack",
            spec: SchemeSpec::named("slack"),
            secret: "slack-secret",
            url: "",
            body: r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#,
            extra: vec![],
            expected_key: "Ev1",
        },
        Case {
            source: "twilio",
            spec: SchemeSpec::named("twilio"),
            secret: "twilio-token",
            url: "https://hooks.example.com/webhooks/twilio",
            body: "MessageSid=SM1&MessageStatus=delivered",
            extra: vec![
                h("I-Twilio-Idempotency-Token", "tw-1"),
                h("Content-Type", "application/x-www-form-urlencoded"),
            ],
            expected_key: "tw-1",
        },
        Case {
            source: "paddle",
            spec: SchemeSpec::named("paddle"),
            secret: "pdl_ntfset_secret",
            url: "",
            body: json,
            extra: vec![],
            expected_key: "E1",
        },
        Case {
            source: "square",
            spec: SchemeSpec::named("square"),
            secret: "square-key",
            url: "https://hooks.example.com/square-notify",
            body: json,
            extra: vec![],
            expected_key: "E1",
        },
        Case {
            source: "acme",
            spec: SchemeSpec::hmac(HmacSpec {
                header: "x-acme-signature".into(),
                algorithm: Algorithm::Sha256,
                encoding: Encoding::Hex,
                prefix: Some("sha256=".into()),
            }),
            secret: "acme-secret",
            url: "",
            body: json,
            extra: vec![h("X-Acme-Delivery", "acme-1"), h("X-Acme-Event", "thing.done")],
            expected_key: "acme-1",
        },
    ]
}

fn wrong_secret(spec: &SchemeSpec) -> &'static str {
    if *spec == SchemeSpec::named("standard") {
        "whsec_d3Jvbmd3cm9uZ3dyb25n"
    } else {
        "not-the-secret"
    }
}

/// `headers` with `extra` added; a name in `extra` replaces the signer's (its id header).
fn with(mut headers: Vec<(String, String)>, extra: &[(String, String)]) -> Vec<(String, String)> {
    headers.retain(|(k, _)| !extra.iter().any(|(e, _)| e.eq_ignore_ascii_case(k)));
    headers.extend_from_slice(extra);
    headers
}

#[tokio::test]
async fn every_scheme_stores_signed_requests_and_rejects_the_rest_with_their_kind() {
    let app = TestApp::spawn(CONFIG).await;
    let mut rejected = 0;
    for c in cases() {
        let t = now();
        let good = with(
            signed(&c.spec, c.secret, c.body.as_bytes(), t, "msg_round", c.url),
            &c.extra,
        );
        let (status, answer) = app.post(c.source, &good, c.body.as_bytes()).await;
        assert_eq!(status, 200, "{}: {answer}", c.source);
        assert_eq!(answer["duplicate"], false, "{}", c.source);
        let id = answer["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("evt_"));
        let stored = app.store.event(&id).await.expect("reads").expect("stored");
        assert_eq!(stored.event.dedupe_key, c.expected_key, "{}", c.source);
        assert_eq!(stored.event.body, c.body.as_bytes(), "{}: raw bytes kept", c.source);
        assert!(
            stored.event.headers.iter().all(|(k, _)| !c.spec.is_signature_header(k)),
            "{}: no signature stored",
            c.source
        );

        let mut negatives: Vec<Negative> = vec![
            ("invalid_signature", good.clone(), format!("{} ", c.body).into_bytes()),
            (
                "invalid_signature",
                with(
                    signed(&c.spec, wrong_secret(&c.spec), c.body.as_bytes(), t, "msg_round", c.url),
                    &c.extra,
                ),
                c.body.as_bytes().to_vec(),
            ),
            ("missing_header", c.extra.clone(), c.body.as_bytes().to_vec()),
        ];
        let garbled: Vec<(String, String)> = good
            .iter()
            .map(|(k, v)| {
                if c.spec.is_signature_header(k) {
                    (k.clone(), "%%garbage%%".into())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        // Where the provider's SDK compares encoded strings, a value that does not decode is
        // a mismatch (CONTRACT: the KIND the SDK reports); elsewhere the header is malformed.
        let garbled_kind = match c.spec.name() {
            "shopify" | "twilio" | "square" => "invalid_signature",
            _ => "malformed_header",
        };
        negatives.push((garbled_kind, garbled, c.body.as_bytes().to_vec()));
        if let Some(window) = c.spec.default_tolerance() {
            let window = window.as_secs() as i64;
            negatives.push((
                "timestamp_too_old",
                with(
                    signed(
                        &c.spec,
                        c.secret,
                        c.body.as_bytes(),
                        t - window - 60,
                        "msg_round",
                        c.url,
                    ),
                    &c.extra,
                ),
                c.body.as_bytes().to_vec(),
            ));
            negatives.push((
                "timestamp_too_new",
                with(
                    signed(
                        &c.spec,
                        c.secret,
                        c.body.as_bytes(),
                        t + window + 60,
                        "msg_round",
                        c.url,
                    ),
                    &c.extra,
                ),
                c.body.as_bytes().to_vec(),
            ));
        }
        for (kind, headers, body) in negatives {
            let (status, answer) = app.post(c.source, &headers, &body).await;
            assert_eq!(status, 401, "{} {kind}: {answer}", c.source);
            let got = answer["error"].as_str().expect("error kind");
            let ok = got == kind || (kind == "malformed_header" && got == "no_supported_scheme");
            assert!(ok, "{}: expected {kind}, got {got}", c.source);
            rejected += 1;
        }
    }
    let (status, _) = app.post("open", &[], b"anything at all").await;
    assert_eq!(status, 200, "scheme none accepts unsigned requests when allowed");

    assert_eq!(
        app.store.event_ids(1000).await.expect("reads").len(),
        cases().len() + 1,
        "only the signed requests were stored"
    );
    assert_eq!(
        app.rejected_count(rejected).await,
        rejected,
        "one rejected record per refused request"
    );
    app.stop().await;
}

#[tokio::test]
async fn one_event_sent_twenty_times_at_once_is_stored_once() {
    let app = TestApp::spawn(CONFIG).await;
    let body = br#"{"id":"evt_twenty","type":"charge.succeeded"}"#;
    let headers = signed(&SchemeSpec::named("stripe"), "whsec_test_stripe", body, now(), "", "");
    let answers = futures::future::join_all((0..20).map(|_| app.post("stripe", &headers, body))).await;
    assert!(answers.iter().all(|(s, _)| *s == 200));
    let first = answers[0].1["id"].clone();
    assert!(
        answers.iter().all(|(_, a)| a["id"] == first),
        "every answer carries the first event's id"
    );
    let duplicates = answers.iter().filter(|(_, a)| a["duplicate"] == true).count();
    assert_eq!(duplicates, 19);
    assert_eq!(app.store.event_ids(100).await.expect("reads").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_routed_event_is_committed_with_its_pending_delivery() {
    let app = TestApp::spawn(CONFIG).await;
    let routed = br#"{"id":"evt_r1","type":"charge.refunded"}"#;
    let (_, a) = app
        .post(
            "stripe",
            &signed(&SchemeSpec::named("stripe"), "whsec_test_stripe", routed, now(), "", ""),
            routed,
        )
        .await;
    let event = app
        .store
        .event(a["id"].as_str().expect("id"))
        .await
        .expect("reads")
        .expect("stored");
    let deliveries: Vec<(&str, &str)> = event
        .deliveries
        .iter()
        .map(|d| (d.destination.as_str(), d.state.as_str()))
        .collect();
    assert_eq!(deliveries, vec![("app", "pending")]);
    let unrouted = br#"{"id":"evt_r2","type":"invoice.paid"}"#;
    let (_, a) = app
        .post(
            "stripe",
            &signed(
                &SchemeSpec::named("stripe"),
                "whsec_test_stripe",
                unrouted,
                now(),
                "",
                "",
            ),
            unrouted,
        )
        .await;
    let event = app
        .store
        .event(a["id"].as_str().expect("id"))
        .await
        .expect("reads")
        .expect("stored");
    assert!(event.deliveries.is_empty(), "no route matches invoice.paid");
    assert_eq!(event.event.occurred_at, None);
    app.stop().await;
}

#[tokio::test]
async fn unknown_sources_are_404_and_unreadable_bodies_400() {
    let app = TestApp::spawn(CONFIG).await;
    let (status, _) = app.post("nope", &[], b"{}").await;
    assert_eq!(status, 404);
    let body = b"not json";
    let (status, answer) = app
        .post(
            "stripe",
            &signed(&SchemeSpec::named("stripe"), "whsec_test_stripe", body, now(), "", ""),
            body,
        )
        .await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("malformed_body")));
    assert!(app.store.event_ids(10).await.expect("reads").is_empty());
    assert_eq!(app.rejected_count(1).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn slack_url_verification_is_answered_only_when_signed_and_never_stored() {
    let app = TestApp::spawn(CONFIG).await;
    let body = br#"{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#;
    let (status, answer) = app
        .post(
            "slack",
            &signed(&SchemeSpec::named("slack"), "slack-secret", body, now(), "", ""),
            body,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let (status, answer) = app
        .post(
            "slack",
            &signed(&SchemeSpec::named("slack"), "forged", body, now(), "", ""),
            body,
        )
        .await;
    assert_eq!(status, 401);
    assert!(answer.get("challenge").is_none());
    assert!(app.store.event_ids(10).await.expect("reads").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn rejected_records_redact_signatures() {
    let app = TestApp::spawn(CONFIG).await;
    let body = br#"{"id":"evt_x","type":"t"}"#;
    let headers = signed(&SchemeSpec::named("stripe"), "whsec_wrong", body, now(), "", "");
    let signature = headers[0].1.clone();
    app.post("stripe", &headers, body).await;
    app.rejected_count(1).await;
    let records = app.store.rejected(10).await.expect("reads");
    assert_eq!(records[0].source, "stripe");
    assert_eq!(records[0].error, "invalid_signature");
    assert_eq!(records[0].body_size, body.len() as u64);
    let text = format!("{:?}", records[0].headers);
    assert!(!text.contains(&signature), "the signature is not kept");
    assert!(text.contains("[redacted]"));
    app.stop().await;
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_callers_own_is_echoed() {
    let app = TestApp::spawn(CONFIG).await;
    let body = br#"{"id":"evt_rid","type":"t"}"#;
    let headers = signed(&SchemeSpec::named("stripe"), "whsec_test_stripe", body, now(), "", "");
    let send = |rid: Option<&'static str>, body: &'static [u8]| {
        let mut req = app.client.post(format!("{}/webhooks/stripe", app.base)).body(body);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        if let Some(r) = rid {
            req = req.header("x-request-id", r);
        }
        req.send()
    };
    let made = send(None, body).await.expect("answered");
    assert_eq!(made.status().as_u16(), 200);
    assert!(
        made.headers()["x-request-id"]
            .to_str()
            .unwrap_or("")
            .starts_with("req_")
    );
    let echoed = send(Some("trace-42"), body).await.expect("answered");
    assert_eq!(echoed.headers()["x-request-id"], "trace-42");
    let refused = send(None, br#"{"forged":true}"#).await.expect("answered");
    assert_eq!(refused.status().as_u16(), 401);
    assert!(refused.headers().contains_key("x-request-id"), "refusals too");
    app.stop().await;
}
