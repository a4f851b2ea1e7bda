//! Sign→verify round trips, tampered, stale, future, missing and malformed requests for
//! every scheme, and property tests: arbitrary input never verifies and never panics.

use proptest::prelude::*;

use super::*;

/// One provider ready to sign and verify in a test.
pub(super) struct Case {
    pub spec: SchemeSpec,
    /// What signs, and what the source verifies with (they differ for public keys).
    pub signing: String,
    pub verifying: String,
    /// Another key of the same kind, for rotation and wrong-secret cases.
    pub other: String,
    /// The headers the provider's sample carries (a template may sign one of them).
    pub headers: Vec<(String, String)>,
}

/// Every provider that signs in headers and takes its time from them (Mailgun signs in
/// the body and Linear's time is a body field: `presets`), as a source would use it, with
/// the generic `hmac` scheme's test settings.
pub(super) fn signed_cases() -> Vec<Case> {
    every_provider()
        .into_iter()
        .filter(|(spec, _)| match &spec.family {
            Family::None | Family::BodyFields => false,
            Family::Hmac(h) => !h
                .timestamp
                .as_ref()
                .is_some_and(|t| matches!(t.source, TimeSource::Body(_))),
            Family::Standard(_)
            | Family::Ed25519(_)
            | Family::Ecdsa
            | Family::UrlForm(_)
            | Family::Token(_)
            | Family::Basic => true,
        })
        .map(|(spec, keys)| {
            let (signing, verifying) = example_keys(&spec.family);
            let headers = spec
                .provider
                .samples
                .first()
                .map(|s| render(s, NOW, &[]).expect("renders").headers)
                .unwrap_or_default();
            // A second HMAC key for Standard Webhooks (the list's second is a public key).
            let other = match spec.family {
                Family::Standard(_) => "whsec_d3Jvbmd3cm9uZ3dyb25n".to_string(),
                _ => keys[1].clone(),
            };
            Case {
                spec,
                signing,
                verifying,
                other,
                headers,
            }
        })
        .collect()
}

/// Whether the family signs the body (a shared token or basic credentials do not).
fn signs_body(family: &Family) -> bool {
    !matches!(family, Family::Token(_) | Family::Basic)
}

/// Whether the signer sends the timestamp (not a body field such as Linear's).
fn signs_timestamp(family: &Family) -> bool {
    match family {
        Family::Hmac(h) => h
            .timestamp
            .as_ref()
            .is_some_and(|t| !matches!(t.source, TimeSource::Body(_))),
        Family::Standard(_) | Family::Ed25519(_) | Family::Ecdsa => true,
        Family::UrlForm(_) | Family::BodyFields | Family::Token(_) | Family::Basic | Family::None => false,
    }
}

const NOW: i64 = 1_800_000_000;
const URL: &str = "https://hooks.example.com/webhooks/x";

fn signed(c: &Case, body: &[u8], at: i64) -> Vec<(String, String)> {
    let input = SignInput {
        body,
        at,
        id: "evt_round_trip",
        url: Some(URL),
        headers: &c.headers,
    };
    let mut pairs = c.spec.sign(&Secret::new(&c.signing), &input).expect("signs");
    for h in &c.headers {
        if !pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(&h.0)) {
            pairs.push(h.clone());
        }
    }
    pairs
}

fn verify_pairs(
    spec: &SchemeSpec,
    secrets: &[&str],
    pairs: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<(), ErrorKind> {
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    check(spec, secrets, &refs, body, Some(URL), now)
}

#[test]
fn every_provider_verifies_what_it_signs_and_accepts_any_rotated_secret() {
    let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
    for c in signed_cases() {
        let pairs = signed(&c, body, NOW);
        assert_eq!(
            verify_pairs(&c.spec, &[&c.verifying], &pairs, body, NOW),
            Ok(()),
            "{:?}",
            c.spec
        );
        assert_eq!(
            verify_pairs(&c.spec, &[&c.other, &c.verifying], &pairs, body, NOW),
            Ok(()),
            "{:?} rotation",
            c.spec
        );
    }
}

#[test]
fn every_provider_rejects_a_tampered_body_and_a_wrong_secret() {
    let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
    for c in signed_cases() {
        let pairs = signed(&c, body, NOW);
        if signs_body(&c.spec.family) {
            let tampered = br#"{"id":"evt_1","type":"charge.succeeded "}"#;
            assert_eq!(
                verify_pairs(&c.spec, &[&c.verifying], &pairs, tampered, NOW),
                Err(ErrorKind::InvalidSignature),
                "{:?} tampered",
                c.spec
            );
        }
        assert_eq!(
            verify_pairs(&c.spec, &[&c.other], &pairs, body, NOW),
            Err(ErrorKind::InvalidSignature),
            "{:?} wrong secret",
            c.spec
        );
    }
}

#[test]
fn timestamped_providers_reject_stale_and_future_requests_after_checking_the_signature() {
    let body = b"{}";
    let mut checked = 0;
    for c in signed_cases().into_iter().filter(|c| signs_timestamp(&c.spec.family)) {
        let spec = &c.spec;
        let window = spec.default_tolerance().expect("timestamped").as_secs() as i64;
        let old = signed(&c, body, NOW - window - 1);
        assert_eq!(
            verify_pairs(spec, &[&c.verifying], &old, body, NOW),
            Err(ErrorKind::TimestampTooOld),
            "{spec:?}"
        );
        let edge = signed(&c, body, NOW - window);
        assert_eq!(
            verify_pairs(spec, &[&c.verifying], &edge, body, NOW),
            Ok(()),
            "{spec:?} edge"
        );
        let past_only = matches!(&spec.family, Family::Hmac(h) if h.timestamp.as_ref().is_some_and(|t| t.past_only));
        let future = signed(&c, body, NOW + window + 1);
        assert_eq!(
            verify_pairs(spec, &[&c.verifying], &future, body, NOW),
            if past_only {
                Ok(())
            } else {
                Err(ErrorKind::TimestampTooNew)
            },
            "{spec:?} future"
        );
        // A forged old request reads invalid_signature, not timestamp_too_old.
        assert_eq!(
            verify_pairs(spec, &[&c.other], &old, body, NOW),
            Err(ErrorKind::InvalidSignature),
            "{spec:?} forged"
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked} timestamped providers");
}

#[test]
fn every_provider_reports_missing_and_malformed_headers() {
    let body = b"{}";
    for c in signed_cases() {
        let spec = &c.spec;
        assert_eq!(
            verify_pairs(spec, &[&c.verifying], &[], body, NOW),
            Err(ErrorKind::MissingHeader),
            "{spec:?} missing"
        );
        let mut pairs = signed(&c, body, NOW);
        for (name, value) in pairs.iter_mut() {
            if spec.is_signature_header(name) {
                *value = "%%%not a signature%%%".into();
            }
        }
        let got = verify_pairs(spec, &[&c.verifying], &pairs, body, NOW);
        // Where the provider's SDK compares encoded strings, a value that does not decode is
        // a mismatch (so is a wrong shared token); where the header has a prefix or
        // elements, or the SDK refuses it first, it is malformed.
        let expected = match &spec.family {
            Family::Hmac(h)
                if h.prefix.is_none() && h.pairs.is_none() && h.undecodable == Undecodable::InvalidSignature =>
            {
                ErrorKind::InvalidSignature
            }
            Family::UrlForm(_) | Family::Token(_) => ErrorKind::InvalidSignature,
            Family::Hmac(_) | Family::Standard(_) | Family::Ed25519(_) | Family::Ecdsa | Family::Basic => {
                ErrorKind::MalformedHeader
            }
            Family::BodyFields | Family::None => unreachable!("not among the signed cases"),
        };
        assert_eq!(got, Err(expected), "{spec:?}");
    }
}

#[test]
fn non_numeric_timestamps_are_invalid_timestamp() {
    let cases: [(SchemeSpec, Vec<(&str, &str)>); 4] = [
        (SchemeSpec::named("stripe"), vec![("Stripe-Signature", "t=soon,v1=00")]),
        (
            SchemeSpec::named("standard"),
            vec![
                ("webhook-id", "m"),
                ("webhook-timestamp", "soon"),
                ("webhook-signature", "v1,AA=="),
            ],
        ),
        (
            SchemeSpec::named("slack"),
            vec![("X-Slack-Request-Timestamp", "soon"), ("X-Slack-Signature", "v0=00")],
        ),
        (SchemeSpec::named("paddle"), vec![("Paddle-Signature", "ts=soon;h1=00")]),
    ];
    for (spec, h) in cases {
        assert_eq!(
            check(&spec, &["whsec_c2VjcmV0"], &h, b"{}", None, NOW),
            Err(ErrorKind::InvalidTimestamp),
            "{spec:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bodies_and_headers_never_verify_and_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        value in "\\PC{0,120}",
        ts in "[0-9a-z=,;. ]{0,20}",
    ) {
        for c in signed_cases() {
            let spec = &c.spec;
            let mut pairs: Vec<(String, String)> = signed(&c, b"original", NOW)
                .into_iter()
                .map(|(k, v)| if spec.is_signature_header(&k) { (k, value.clone()) } else { (k, v) })
                .collect();
            pairs.push(("webhook-timestamp".into(), ts.clone()));
            // Header values the http crate refuses cannot reach a verifier.
            if pairs.iter().any(|(_, v)| HeaderValue::from_str(v).is_err()) {
                continue;
            }
            let got = verify_pairs(spec, &[&c.verifying], &pairs, &body, NOW);
            prop_assert!(got.is_err(), "{:?} accepted a forged request", spec);
        }
    }

    #[test]
    fn a_genuine_signature_verifies_any_body(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        for c in signed_cases() {
            if matches!(c.spec.family, Family::UrlForm(_)) {
                continue; // form bodies are signed by their decoded params, not bytes
            }
            let pairs = signed(&c, &body, NOW);
            prop_assert_eq!(verify_pairs(&c.spec, &[&c.verifying], &pairs, &body, NOW), Ok(()), "{:?}", c.spec);
        }
    }
}
