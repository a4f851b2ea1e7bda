//! What intake reads from verified requests: dedupe keys, types, times, kept headers.

use ::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;
use crate::providers::{SchemeSpec, sign};
use crate::signature::{Secret, SignInput};

pub(super) fn source(spec: SchemeSpec) -> WebhookSource {
    WebhookSource {
        name: "src".into(),
        spec,
        secrets: vec![Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
        tolerance: None,
        dedupe_group: "src".into(),
        id: None,
        event_type: None,
        version: None,
        occurred_at: None,
        id_header: None,
        type_header: None,
        public_url: None,
        verify_token: None,
        hydrate: None,
        silence: None,
    }
}

fn run(source: WebhookSource, body: &str, extra: &[(&str, &str)]) -> Result<Accepted, Refusal> {
    let now = 1_800_000_000;
    let secret = source.secrets[0].clone();
    let pairs = sign(
        &source.spec,
        &secret,
        &SignInput {
            body: body.as_bytes(),
            at: now,
            id: "msg_1",
            url: Some("https://h/x"),
            headers: &[],
        },
    )
    .expect("signs");
    let mut headers = HeaderMap::new();
    // A header in `extra` replaces the one the signer made (the id header, say).
    for (k, v) in pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e.eq_ignore_ascii_case(k)))
        .chain(extra.iter().copied())
    {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    WebhookIntake::new(source)
        .expect("builds")
        .accept(&headers, body.as_bytes(), Some("https://h/x"), now)
}

fn draft(result: Result<Accepted, Refusal>) -> EventDraft {
    match result {
        Ok(Accepted::Event(d)) => d,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn stripe_events_are_keyed_by_body_id_with_type_and_created_time() {
    let d = draft(run(
        source(SchemeSpec::named("stripe")),
        r#"{"id":"evt_9","type":"charge.succeeded","created":1700000000}"#,
        &[],
    ));
    assert_eq!(d.dedupe_key, "evt_9");
    assert_eq!(d.event_type.as_deref(), Some("charge.succeeded"));
    assert_eq!(d.occurred_at, Some(1_700_000_000_000));
    assert!(
        d.headers.iter().all(|(k, _)| k != "stripe-signature"),
        "signature headers are not kept"
    );
}

#[test]
fn a_stripe_body_without_an_id_is_malformed() {
    assert!(matches!(
        run(source(SchemeSpec::named("stripe")), r#"{"type":"x"}"#, &[]),
        Err(Refusal::MalformedBody(_))
    ));
    assert!(matches!(
        run(source(SchemeSpec::named("stripe")), "not json", &[]),
        Err(Refusal::MalformedBody(_))
    ));
}

#[test]
fn github_types_carry_the_action() {
    let mut s = source(SchemeSpec::named("github").allowing_legacy(false));
    s.secrets = vec![Secret::new("gh")];
    let d = draft(run(s, r#"{"action":"opened"}"#, &[("X-GitHub-Event", "issues")]));
    assert_eq!(d.dedupe_key, "msg_1");
    assert_eq!(d.event_type.as_deref(), Some("issues.opened"));
}

#[test]
fn shopify_prefers_the_event_id_and_pointer_overrides_make_id_at_version_keys() {
    let d = draft(run(
        source(SchemeSpec::named("shopify")),
        r#"{"id":5}"#,
        &[("X-Shopify-Webhook-Id", "wh"), ("X-Shopify-Topic", "orders/updated")],
    ));
    assert_eq!(d.dedupe_key, "msg_1");
    assert_eq!(d.event_type.as_deref(), Some("orders/updated"));
    let mut s = source(SchemeSpec::named("shopify"));
    s.id = Some("/id".into());
    s.version = Some("/updated_at".into());
    let d = draft(run(
        s.clone(),
        r#"{"id":450789469,"updated_at":"2026-11-26T10:00:00Z"}"#,
        &[],
    ));
    assert_eq!(d.dedupe_key, "450789469@2026-11-26T10:00:00Z");
    assert!(matches!(
        run(s, r#"{"updated_at":"x"}"#, &[]),
        Err(Refusal::MalformedBody(_))
    ));
}

#[test]
fn schemes_without_an_id_fall_back_to_the_body_hash() {
    let mut s = source(SchemeSpec::named("none"));
    s.secrets = vec![Secret::new("")];
    let d = draft(run(s, "hello", &[]));
    assert_eq!(
        d.dedupe_key,
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(d.event_type, None);
}

#[test]
fn slack_url_verification_is_answered_as_a_handshake() {
    let mut s = source(SchemeSpec::named("slack"));
    s.secrets = vec![Secret::new("slack")];
    match run(s, r#"{"type":"url_verification","challenge":"abc"}"#, &[]) {
        Ok(Accepted::Handshake(v)) => assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&v.body).expect("json"),
            serde_json::json!({"challenge": "abc"})
        ),
        other => panic!("expected a handshake, got {other:?}"),
    }
}

#[test]
fn twilio_types_come_from_the_status_parameter() {
    let mut s = source(SchemeSpec::named("twilio"));
    s.secrets = vec![Secret::new("tok")];
    let d = draft(run(
        s,
        "MessageSid=SM1&MessageStatus=delivered",
        &[("I-Twilio-Idempotency-Token", "idem-1")],
    ));
    assert_eq!(d.dedupe_key, "idem-1");
    assert_eq!(d.event_type.as_deref(), Some("delivered"));
}
