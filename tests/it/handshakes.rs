//! Provider handshakes over HTTP: GET challenges (Meta's verify token, X's CRC, Dropbox's
//! and Nylas's echo) and signed POST handshakes (Twitch's callback verification, Xero's
//! intent to receive) are answered as each provider requires and never stored.

use hmac::{KeyInit, Mac};
use inlet::providers::SchemeSpec;

use crate::support::{TestApp, now, signed};

const CONFIG: &str = r#"
[sources.whatsapp]
scheme = "whatsapp"
secrets = ["app-secret"]
verify_token = "meatyhamhock"

[sources.x]
scheme = "x"
secrets = ["consumer-secret"]

[sources.dropbox]
scheme = "dropbox"
secrets = ["app-secret"]

[sources.twitch]
scheme = "twitch"
secrets = ["twitch-secret"]

[sources.xero]
scheme = "xero"
secrets = ["xero-key"]

[sources.stripe]
scheme = "stripe"
secrets = ["whsec_abc"]
"#;

async fn get(app: &TestApp, path: &str) -> (u16, String, Option<String>) {
    let r = app.client.get(format!("{}{path}", app.base)).send().await.expect("get");
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, r.text().await.expect("text"), kind)
}

#[tokio::test]
async fn get_challenges_are_answered_only_as_each_provider_allows_and_never_stored() {
    let app = TestApp::spawn(CONFIG).await;
    let (status, body, kind) = get(
        &app,
        "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=meatyhamhock&hub.challenge=1158201444",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "1158201444"));
    assert!(kind.is_some_and(|k| k.starts_with("text/plain")));
    let (status, _, _) = get(
        &app,
        "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444",
    )
    .await;
    assert_eq!(status, 403, "a wrong verify token is refused");

    let (status, body, _) = get(&app, "/webhooks/x?crc_token=abc123").await;
    assert_eq!(status, 200);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"consumer-secret").expect("key");
    mac.update(b"abc123");
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["response_token"], format!("sha256={expected}"));

    let (status, body, _) = get(&app, "/webhooks/dropbox?challenge=xyz789").await;
    assert_eq!((status, body.as_str()), (200, "xyz789"));
    let long = "a".repeat(513);
    let (status, _, _) = get(&app, &format!("/webhooks/dropbox?challenge={long}")).await;
    assert_eq!(status, 400, "an over-long challenge is not echoed");

    let (status, _, _) = get(&app, "/webhooks/stripe").await;
    assert_eq!(status, 405, "a provider without a GET handshake");
    let (status, _, _) = get(&app, "/webhooks/nope?challenge=1").await;
    assert_eq!(status, 404);
    assert!(app.stored().await.is_empty(), "handshakes are not events");
}

#[tokio::test]
async fn twitch_and_xero_handshakes_are_answered_only_when_signed() {
    let app = TestApp::spawn(CONFIG).await;
    let twitch = SchemeSpec::named("twitch");
    let body =
        br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387","type":"channel.follow"}}"#;
    let extra = vec![
        (
            "Twitch-Eventsub-Message-Id".to_string(),
            "e76c6bd4-55c9-4987-8304-da1588d8988b".to_string(),
        ),
        (
            "Twitch-Eventsub-Message-Type".to_string(),
            "webhook_callback_verification".to_string(),
        ),
    ];
    let mut headers = signed_with(&twitch, "twitch-secret", body, &extra);
    headers.extend(extra.clone());
    let r = app
        .client
        .post(format!("{}/webhooks/twitch", app.base))
        .body(body.to_vec());
    let r = headers
        .iter()
        .fold(r, |r, (k, v)| r.header(k, v))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.expect("text"), "pogchamp-kappa-360noscope-vohiyo");
    let mut forged = signed_with(&twitch, "not-the-secret", body, &extra);
    forged.extend(extra);
    let (status, _) = app.post("twitch", &forged, body).await;
    assert_eq!(status, 401);

    let itr = br#"{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}"#;
    let good = signed(&SchemeSpec::named("xero"), "xero-key", itr, now(), "", "");
    let r = app
        .client
        .post(format!("{}/webhooks/xero", app.base))
        .body(itr.to_vec());
    let r = good
        .iter()
        .fold(r, |r, (k, v)| r.header(k, v))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.expect("text"), "", "Xero wants an empty body");
    let bad = signed(&SchemeSpec::named("xero"), "guess", itr, now(), "", "");
    let (status, _) = app.post("xero", &bad, itr).await;
    assert_eq!(status, 401);
    assert!(app.stored().await.is_empty(), "handshakes are not events");
}

fn signed_with(spec: &SchemeSpec, secret: &str, body: &[u8], extra: &[(String, String)]) -> Vec<(String, String)> {
    let input = inlet::signature::SignInput {
        body,
        at: now(),
        id: "",
        url: None,
        headers: extra,
    };
    spec.sign(&inlet::signature::Secret::new(secret), &input)
        .expect("signs")
}
