//! What a request without credentials can make a verifier do: stuffed candidate lists and
//! oversized signature headers are `malformed_header` before any MAC, a header with many
//! candidates costs one MAC per secret, a Mailgun token is not reusable with another body,
//! and arbitrary headers and bodies against every scheme never panic and never cost more
//! than the bound (counted by `mac::work`, not timed).

use proptest::prelude::*;

use super::*;

const NOW: i64 = 1_800_000_000;

fn verify_counted(
    spec: &SchemeSpec,
    secrets: &[&str],
    pairs: &[(String, String)],
    body: &[u8],
    now: i64,
) -> (Result<(), ErrorKind>, u64) {
    let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
    let v = verifier(spec, &secrets, None).expect("verifier builds");
    let mut map = HeaderMap::new();
    for (k, value) in pairs {
        if let (Ok(n), Ok(val)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(value)) {
            map.append(n, val);
        }
    }
    let before = mac::work();
    let got = v.verify(
        &Request {
            headers: &map,
            body,
            url: Some("https://hooks.example.com/webhooks/x"),
        },
        now,
    );
    (got.map_err(|e| e.kind), mac::work() - before)
}

/// The signature header of each multi-candidate scheme, with `n` candidates.
fn stuffed(spec: &SchemeSpec, n: usize, candidate: &str) -> Vec<(String, String)> {
    match spec {
        SchemeSpec::Stripe => {
            let list: Vec<String> = (0..n).map(|_| format!("v1={candidate}")).collect();
            vec![("Stripe-Signature".into(), format!("t={NOW},{}", list.join(",")))]
        }
        SchemeSpec::Paddle => {
            let list: Vec<String> = (0..n).map(|_| format!("h1={candidate}")).collect();
            vec![("Paddle-Signature".into(), format!("ts={NOW};{}", list.join(";")))]
        }
        _ => {
            let list: Vec<String> = (0..n).map(|_| format!("v1,{candidate}")).collect();
            vec![
                ("webhook-id".into(), "msg_1".into()),
                ("webhook-timestamp".into(), NOW.to_string()),
                ("webhook-signature".into(), list.join(" ")),
            ]
        }
    }
}

const MULTI: [(SchemeSpec, &str); 3] = [
    (SchemeSpec::Stripe, "whsec_stripe"),
    (SchemeSpec::Paddle, "pdl_ntfset_secret"),
    (SchemeSpec::Standard, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
];

#[test]
fn a_header_with_100000_empty_candidates_is_malformed_and_costs_no_mac() {
    let body = vec![b'x'; 1_400_000];
    for (spec, secret) in MULTI {
        let (got, work) = verify_counted(&spec, &[secret, secret], &stuffed(&spec, 100_000, ""), &body, NOW);
        assert_eq!(got, Err(ErrorKind::MalformedHeader), "{spec:?}");
        assert_eq!(work, 0, "{spec:?} computed a MAC for a refused header");
    }
}

#[test]
fn seventeen_candidates_are_malformed_and_sixteen_cost_one_mac_per_secret() {
    let body = br#"{"id":"evt_1"}"#;
    for (spec, secret) in MULTI {
        let candidate = match spec {
            SchemeSpec::Standard => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            _ => "00000000000000000000000000000000000000000000000000000000000000ff",
        };
        let (got, work) = verify_counted(&spec, &[secret], &stuffed(&spec, 17, candidate), body, NOW);
        assert_eq!(got, Err(ErrorKind::MalformedHeader), "{spec:?} 17");
        assert_eq!(work, 0, "{spec:?} 17");
        let (got, work) = verify_counted(
            &spec,
            &[secret, "whsec_b3RoZXI="],
            &stuffed(&spec, 16, candidate),
            body,
            NOW,
        );
        assert_eq!(got, Err(ErrorKind::InvalidSignature), "{spec:?} 16");
        assert_eq!(work, 2, "{spec:?}: 16 candidates and 2 secrets must cost 2 MACs");
    }
}

#[test]
fn a_genuine_signature_among_fifteen_decoys_still_verifies_with_one_mac() {
    let body = br#"{"id":"evt_1"}"#;
    for (spec, secret) in MULTI {
        let input = SignInput {
            body,
            at: NOW,
            id: "msg_1",
            url: None,
        };
        let genuine = sign(&spec, &Secret::new(secret), &input).expect("signs");
        let mut pairs = stuffed(&spec, 15, "00");
        for (name, value) in &genuine {
            if !spec.is_signature_header(name) {
                continue;
            }
            let (_, header) = pairs
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .expect("the stuffed header");
            // The genuine list's signature element, appended to the decoys.
            let element = match spec {
                SchemeSpec::Stripe => format!(",{}", value.split(',').nth(1).expect("v1=")),
                SchemeSpec::Paddle => format!(";{}", value.split(';').nth(1).expect("h1=")),
                _ => format!(" {value}"),
            };
            header.push_str(&element);
        }
        let (got, work) = verify_counted(&spec, &[secret], &pairs, body, NOW);
        assert_eq!(got, Ok(()), "{spec:?}: {pairs:?}");
        assert_eq!(work, 1, "{spec:?}");
    }
}

#[test]
fn a_signature_header_over_8_kib_is_malformed_for_every_header_scheme() {
    let long = "a".repeat(MAX_SIGNATURE_HEADER + 1);
    for scheme in Scheme::ALL {
        let spec = match scheme {
            Scheme::Hmac => hmac_spec(),
            other => other.spec(false, || Err::<HmacSpec, ()>(())).expect("not hmac"),
        };
        let Some(name) = spec.signature_header_names().next() else {
            continue; // mailgun signs in the body, none signs nothing
        };
        let secret = match scheme {
            Scheme::Sendgrid => sendgrid_public(),
            Scheme::Discord => "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".to_string(),
            _ => "whsec_c2VjcmV0".to_string(),
        };
        let pairs = vec![(name.to_string(), long.clone())];
        let (got, work) = verify_counted(&spec, &[secret.as_str()], &pairs, b"{}", NOW);
        assert_eq!(got, Err(ErrorKind::MalformedHeader), "{scheme:?}");
        assert_eq!(work, 0, "{scheme:?}");
    }
}

#[test]
fn a_mailgun_token_reused_with_another_body_is_invalid_signature() {
    let spec = SchemeSpec::Mailgun;
    let key = "key-mailgun-signing";
    let v = verifier(&spec, &[Secret::new(key)], None).expect("verifier");
    let input = SignInput {
        body: br#"{"event-data":{"id":"ev_1","event":"delivered"}}"#,
        at: NOW,
        id: "tok_captured",
        url: None,
    };
    let genuine = sign_body(&spec, &Secret::new(key), &input).expect("signed body");
    let text = String::from_utf8(genuine.clone()).expect("utf-8");
    let forged = text.replace("ev_1", "ev_forged");
    let empty = HeaderMap::new();
    let verify = |body: &[u8], now: i64| {
        v.verify(
            &Request {
                headers: &empty,
                body,
                url: None,
            },
            now,
        )
        .map_err(|e| e.kind)
    };
    assert_eq!(verify(&genuine, NOW), Ok(()));
    assert_eq!(
        verify(&genuine, NOW + 10),
        Ok(()),
        "the provider's retry of the same body"
    );
    assert_eq!(verify(forged.as_bytes(), NOW + 20), Err(ErrorKind::InvalidSignature));
}

#[test]
fn a_timestamp_at_the_ends_of_i64_is_out_of_the_window_without_overflow() {
    assert_eq!(
        check_window(i64::MIN, NOW, 300).map_err(|e| e.kind),
        Err(ErrorKind::TimestampTooOld)
    );
    assert_eq!(
        check_window(i64::MAX, NOW, 300).map_err(|e| e.kind),
        Err(ErrorKind::TimestampTooNew)
    );
    assert_eq!(
        check_window(i64::MAX, i64::MIN, 300).map_err(|e| e.kind),
        Err(ErrorKind::TimestampTooNew)
    );
    assert_eq!(
        check_window(i64::MIN, i64::MAX, 300).map_err(|e| e.kind),
        Err(ErrorKind::TimestampTooOld)
    );
}

fn sendgrid_public() -> String {
    use p256::pkcs8::EncodePublicKey;
    let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).expect("valid scalar");
    mac::b64::encode(key.verifying_key().to_public_key_der().expect("spki").as_bytes())
}

/// Every scheme with two keys of its kind.
fn every_scheme() -> Vec<(SchemeSpec, [String; 2])> {
    Scheme::ALL
        .into_iter()
        .map(|scheme| {
            let spec = match scheme {
                Scheme::Hmac => hmac_spec(),
                other => other.spec(true, || Err::<HmacSpec, ()>(())).expect("not hmac"),
            };
            let keys = match scheme {
                Scheme::Sendgrid => [sendgrid_public(), sendgrid_public()],
                Scheme::Discord => [
                    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".into(),
                    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c".into(),
                ],
                Scheme::Standard => [
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
                    "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".into(),
                ],
                _ => ["first-secret".into(), "second-secret".into()],
            };
            (spec, keys)
        })
        .collect()
}

/// Header names a verifier may read: every scheme's, and some noise.
const NAMES: &[&str] = &[
    "stripe-signature",
    "paddle-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-signature",
    "x-hub-signature-256",
    "x-hub-signature",
    "x-shopify-hmac-sha256",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-twilio-signature",
    "x-square-hmacsha256-signature",
    "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp",
    "x-signature-ed25519",
    "x-signature-timestamp",
    "x-zm-signature",
    "x-zm-request-timestamp",
    "linear-signature",
    "x-acme-signature",
    "x-other",
];

/// Values shaped like signature headers: candidate lists of any length and noise.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,200}",
        (0usize..3000, "[0-9a-fA-F]{0,64}").prop_map(|(n, c)| format!("t=1800000000,{}", format!("v1={c},").repeat(n))),
        (0usize..3000, "[0-9a-f]{0,64}").prop_map(|(n, c)| format!("ts=1800000000;{}", format!("h1={c};").repeat(n))),
        (0usize..3000, "[A-Za-z0-9+/=]{0,88}").prop_map(|(n, c)| format!("v1,{c} v1a,{c} ").repeat(n)),
        "(v0|sha256|sha1)=[0-9a-f]{0,80}",
        "-?[0-9]{1,20}",
    ]
}

fn cases() -> u32 {
    std::env::var("INLET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// The fuzz target: every scheme, arbitrary headers and bodies. Never a panic, never a
    /// forged request accepted, and at most one MAC per key and signed message (Twilio
    /// signs two URL forms; an Ed25519 candidate is one check each, at most 16).
    #[test]
    fn arbitrary_headers_and_bodies_never_panic_and_cost_bounded_work(
        headers in proptest::collection::vec((proptest::sample::select(NAMES), value()), 0..8),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        now in prop_oneof![Just(NOW), any::<i64>()],
    ) {
        let pairs: Vec<(String, String)> = headers.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        for (spec, keys) in every_scheme() {
            if spec == SchemeSpec::None {
                continue;
            }
            let secrets = [keys[0].as_str(), keys[1].as_str()];
            let (got, work) = verify_counted(&spec, &secrets, &pairs, &body, now);
            prop_assert!(got.is_err(), "{:?} accepted a forged request", spec);
            let bound = match spec.scheme() {
                Scheme::Twilio => 2 * 2,
                Scheme::Standard => 1 + MAX_CANDIDATES as u64,
                _ => 2,
            };
            prop_assert!(work <= bound, "{:?}: {} checks for one request (bound {})", spec, work, bound);
        }
    }
}
