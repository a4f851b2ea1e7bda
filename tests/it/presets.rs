//! The newer presets over HTTP: each accepts what its provider signs (with its id and type),
//! refuses a forgery, and answers its handshake only when the handshake is signed.

use inlet::providers::{SchemeSpec, discord_public_key, sign, sign_body};
use inlet::signature::{Secret, SignInput};
use serde_json::json;

use crate::support::{TestApp, now};

const DISCORD_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn config() -> String {
    let discord_public = discord_public_key(DISCORD_SEED).expect("seed");
    format!(
        r#"
[sources.mailgun]
scheme = "mailgun"
secrets = ["mg-key"]

[sources.discord]
scheme = "discord"
secrets = ["{discord_public}"]

[sources.zoom]
scheme = "zoom"
secrets = ["zoom-old", "zoom-new"]

[sources.linear]
scheme = "linear"
secrets = ["lin-secret"]

[sources.intercom]
scheme = "intercom"
secrets = ["ic-secret"]
"#
    )
}

struct Case {
    source: &'static str,
    spec: SchemeSpec,
    secret: &'static str,
    body: Vec<u8>,
    /// The dedupe key it must get ("" = the body hash).
    key: &'static str,
    event_type: Option<&'static str>,
}

fn signed(spec: &SchemeSpec, secret: &str, body: &[u8], id: &str) -> Vec<(String, String)> {
    let input = SignInput {
        body,
        at: now(),
        id,
        url: None,
        headers: &[],
    };
    sign(spec, &Secret::new(secret), &input).expect("signs")
}

async fn stored(app: &TestApp, id: &str) -> (String, Option<String>) {
    let e = app.store.event(id).await.expect("reads").expect("stored");
    (e.event.dedupe_key, e.event.event_type)
}

#[tokio::test]
async fn each_new_preset_accepts_its_providers_signature_with_its_id_and_type_and_refuses_a_forgery() {
    let app = TestApp::spawn(&config()).await;
    let ms = chrono::Utc::now().timestamp_millis();
    let linear = format!(r#"{{"action":"update","type":"Issue","webhookTimestamp":{ms},"data":{{"id":"i1"}}}}"#);
    let mailgun_plain = br#"{"event-data":{"id":"mg_ev_1","event":"delivered","timestamp":1800000000}}"#;
    let mailgun = sign_body(
        &SchemeSpec::named("mailgun"),
        &Secret::new("mg-key"),
        &SignInput {
            body: mailgun_plain,
            at: now(),
            id: "tok_1",
            url: None,
            headers: &[],
        },
    )
    .expect("signed body");
    let case = |source, spec, secret, body: Vec<u8>, key, event_type| Case {
        source,
        spec,
        secret,
        body,
        key,
        event_type,
    };
    let cases = vec![
        case(
            "mailgun",
            SchemeSpec::named("mailgun"),
            "mg-key",
            mailgun.clone(),
            "mg_ev_1",
            Some("delivered"),
        ),
        case(
            "discord",
            SchemeSpec::named("discord"),
            DISCORD_SEED,
            br#"{"id":"int_1","type":2}"#.to_vec(),
            "int_1",
            Some("2"),
        ),
        case(
            "linear",
            SchemeSpec::named("linear"),
            "lin-secret",
            linear.into_bytes(),
            "del_1",
            Some("Issue.update"),
        ),
        case(
            "intercom",
            SchemeSpec::named("intercom"),
            "ic-secret",
            br#"{"id":"notif_1","topic":"conversation.user.created","created_at":1800000000}"#.to_vec(),
            "notif_1",
            Some("conversation.user.created"),
        ),
        case(
            "zoom",
            SchemeSpec::named("zoom"),
            "zoom-new",
            br#"{"event":"meeting.started","event_ts":1800000000000}"#.to_vec(),
            "",
            Some("meeting.started"),
        ),
    ];
    for Case {
        source,
        spec,
        secret,
        body,
        key,
        event_type,
    } in cases
    {
        let headers = signed(&spec, secret, &body, "del_1");
        let (status, answer) = app.post(source, &headers, &body).await;
        assert_eq!(status, 200, "{source}: {answer}");
        let (dedupe_key, t) = stored(&app, answer["id"].as_str().expect("id")).await;
        if !key.is_empty() {
            assert_eq!(dedupe_key, key, "{source}");
        }
        assert_eq!(t.as_deref(), event_type, "{source}");

        let mut forged = body.clone();
        forged.extend_from_slice(b" ");
        if source == "mailgun" {
            // Mailgun signs only timestamp + token: a changed token is the forgery.
            forged = String::from_utf8(body.clone())
                .expect("utf-8")
                .replace("tok_1", "tok_2")
                .into_bytes();
        }
        let (status, answer) = app.post(source, &headers, &forged).await;
        assert_eq!(status, 401, "{source}: {answer}");
        assert_eq!(answer["error"], "invalid_signature", "{source}");
    }
    app.stop().await;
}

#[tokio::test]
async fn discords_ping_is_answered_with_type_1_only_when_signed_and_is_not_stored() {
    let app = TestApp::spawn(&config()).await;
    let ping = br#"{"id":"ping_1","type":1,"application_id":"app"}"#;
    let headers = signed(&SchemeSpec::named("discord"), DISCORD_SEED, ping, "");
    let (status, answer) = app.post("discord", &headers, ping).await;
    assert_eq!((status, answer), (200, json!({ "type": 1 })));
    let forged = signed(&SchemeSpec::named("discord"), &"11".repeat(32), ping, "");
    let (status, answer) = app.post("discord", &forged, ping).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("invalid_signature")));
    assert!(app.stored().await.is_empty(), "handshakes are not events");
    app.stop().await;
}

#[tokio::test]
async fn zooms_url_validation_is_answered_with_the_token_hmac_only_when_signed() {
    let app = TestApp::spawn(&config()).await;
    let body = br#"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1}"#;
    let headers = signed(&SchemeSpec::named("zoom"), "zoom-new", body, "");
    let (status, answer) = app.post("zoom", &headers, body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    let expected = {
        use hmac::{KeyInit, Mac};
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"zoom-new").expect("key");
        m.update(b"qgg8vlvZRS6UYooatFL8Aw");
        hex::encode(m.finalize().into_bytes())
    };
    assert_eq!(
        answer["encryptedToken"],
        expected.as_str(),
        "keyed with the secret that signed"
    );
    let forged = signed(&SchemeSpec::named("zoom"), "not-the-secret", body, "");
    let (status, answer) = app.post("zoom", &forged, body).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("invalid_signature")));
    assert!(app.stored().await.is_empty());
    app.stop().await;
}
