//! Provider handshakes over HTTP: GET challenges (Meta's verify token, X's CRC, Dropbox's
//! and Nylas's echo), signed POST handshakes (Twitch's callback verification, Xero's
//! intent to receive) and the unsigned setup handshakes that hand over the secret (Asana,
//! Notion) are answered as each provider requires and never stored.

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

/// The `handshake_secret` records of `source`, waited for (at most 10 s).
async fn revealed(app: &TestApp, source: &str) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let records = app.store.rejected(100).await.expect("reads");
        let found: Vec<(String, String)> = records
            .into_iter()
            .filter(|r| r.source == source && r.error == "handshake_secret")
            .flat_map(|r| r.headers)
            .collect();
        if !found.is_empty() {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no handshake_secret record for {source}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn asana_and_notion_setup_handshakes_are_answered_and_their_secret_kept_for_the_operator() {
    let app = TestApp::spawn(
        "[sources.asana]\nscheme = \"asana\"\nsecrets = [\"placeholder\"]\n\
         [sources.notion]\nscheme = \"notion\"\nsecrets = [\"placeholder\"]\n",
    )
    .await;
    let r = app
        .client
        .post(format!("{}/webhooks/asana", app.base))
        .header(
            "X-Hook-Secret",
            "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81",
        )
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers().get("x-hook-secret").and_then(|v| v.to_str().ok()),
        Some("b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"),
        "Asana wants its secret echoed"
    );
    assert_eq!(
        revealed(&app, "asana").await,
        vec![(
            "x-hook-secret".to_string(),
            "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81".to_string()
        )]
    );

    let body = br#"{"verification_token":"secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"}"#;
    let (status, _) = app.post("notion", &[], body).await;
    assert_eq!(status, 200);
    assert_eq!(
        revealed(&app, "notion").await,
        vec![(
            "verification_token".to_string(),
            "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl".to_string()
        )]
    );
    // An ordinary unsigned request is still refused, and nothing is stored.
    let (status, answer) = app.post("notion", &[], br#"{"id":"x","type":"page.created"}"#).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("missing_header")));
    assert!(app.stored().await.is_empty(), "handshakes are not events");
}
