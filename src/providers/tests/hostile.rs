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
    let v = spec.verifier(&secrets, None).expect("verifier builds");
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
            method: "POST",
        },
        now,
    );
    (got.map_err(|e| e.kind), mac::work() - before)
}

/// The signature header of each multi-candidate scheme, with `n` candidates.
fn stuffed(spec: &SchemeSpec, n: usize, candidate: &str) -> Vec<(String, String)> {
    match spec.name() {
        "stripe" => {
            let list: Vec<String> = (0..n).map(|_| format!("v1={candidate}")).collect();
            vec![("Stripe-Signature".into(), format!("t={NOW},{}", list.join(",")))]
        }
        "paddle" => {
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

fn multi() -> [(SchemeSpec, &'static str); 3] {
    [
        (SchemeSpec::named("stripe"), "whsec_stripe"),
        (SchemeSpec::named("paddle"), "pdl_ntfset_secret"),
        (SchemeSpec::named("standard"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ]
}

#[test]
fn a_header_with_100000_empty_candidates_is_malformed_and_costs_no_mac() {
    let body = vec![b'x'; 1_400_000];
    for (spec, secret) in multi() {
        let (got, work) = verify_counted(&spec, &[secret, secret], &stuffed(&spec, 100_000, ""), &body, NOW);
        assert_eq!(got, Err(ErrorKind::MalformedHeader), "{spec:?}");
        assert_eq!(work, 0, "{spec:?} computed a MAC for a refused header");
    }
}

#[test]
fn seventeen_candidates_are_malformed_and_sixteen_cost_one_mac_per_secret() {
    let body = br#"{"id":"evt_1"}"#;
    for (spec, secret) in multi() {
        let candidate = match spec.name() {
            "standard" => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
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
    for (spec, secret) in multi() {
        let input = SignInput {
            body,
            at: NOW,
            id: "msg_1",
            url: None,
            headers: &[],
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
            let element = match spec.name() {
                "stripe" => format!(",{}", value.split(',').nth(1).expect("v1=")),
                "paddle" => format!(";{}", value.split(';').nth(1).expect("h1=")),
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
    for (spec, keys) in every_scheme() {
        let Some(name) = spec.signature_header_names().next() else {
            continue; // mailgun signs in the body, none signs nothing
        };
        let pairs = vec![(name.to_string(), long.clone())];
        let (got, work) = verify_counted(&spec, &[keys[0].as_str()], &pairs, b"{}", NOW);
        assert_eq!(got, Err(ErrorKind::MalformedHeader), "{spec:?}");
        assert_eq!(work, 0, "{spec:?}");
    }
}

#[test]
fn a_mailgun_token_reused_with_another_body_is_invalid_signature() {
    let spec = SchemeSpec::named("mailgun");
    let key = "key-mailgun-signing";
    let v = spec.verifier(&[Secret::new(key)], None).expect("verifier");
    let input = SignInput {
        body: br#"{"event-data":{"id":"ev_1","event":"delivered"}}"#,
        at: NOW,
        id: "tok_captured",
        url: None,
        headers: &[],
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
                method: "POST",
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

/// Every provider with two keys of its kind.
fn every_scheme() -> Vec<(SchemeSpec, [String; 2])> {
    super::every_provider()
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
            if spec.name() == "none" {
                continue;
            }
            let secrets = [keys[0].as_str(), keys[1].as_str()];
            let (got, work) = verify_counted(&spec, &secrets, &pairs, &body, now);
            prop_assert!(got.is_err(), "{:?} accepted a forged request", spec);
            // Twilio tries up to four URL forms (as given and WHATWG-normalised, each with
            // and without the port); Standard checks each Ed25519 candidate on its own.
            let bound = match spec.name() {
                "twilio" => 4 * 2,
                "standard" => 1 + MAX_CANDIDATES as u64,
                _ => 2,
            };
            prop_assert!(work <= bound, "{:?}: {} checks for one request (bound {})", spec, work, bound);
        }
    }
}
