//! SendGrid (its SDK's published vector, at the end, and round trips with P-256 keys), Mailgun (the
//! signature in the body), Discord (Ed25519 seed signs, public key verifies), Linear (the
//! body's timestamp window): sign→verify, tamper, wrong key, stale, future, missing and
//! malformed, each with the KIND it must read.

use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};

use super::*;
use crate::signature::mac::b64;

const NOW: i64 = 1_800_000_000;

fn headers_of(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn input(body: &[u8], at: i64) -> SignInput<'_> {
    SignInput {
        body,
        at,
        id: "tok_0123456789",
        url: None,
        headers: &[],
    }
}

/// A P-256 key pair from a fixed scalar: (PKCS#8 private, SubjectPublicKeyInfo public), base64.
fn p256_pair(seed: u8) -> (String, String) {
    let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("valid scalar");
    let private = b64::encode(key.to_pkcs8_der().expect("pkcs8").as_bytes());
    let public = b64::encode(key.verifying_key().to_public_key_der().expect("spki").as_bytes());
    (private, public)
}

/// What every public-key scheme must read, given a good signature `h` of `body` checked
/// with `public`: rotation finds it, another key and another body are invalid, the
/// timestamp window holds both ways, a missing header and a `mangled` one say so.
fn public_key_negatives(
    spec: &SchemeSpec,
    (public, other): (&str, &str),
    h: &[(&str, &str)],
    (body, tampered): (&[u8], &[u8]),
    mangled: &[(&str, &str)],
) {
    assert_eq!(check(spec, &[other, public], h, body, None, NOW), Ok(()), "rotation");
    assert_eq!(
        check(spec, &[other], h, body, None, NOW),
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        check(spec, &[public], h, tampered, None, NOW),
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        check(spec, &[public], h, body, None, NOW + 301),
        Err(ErrorKind::TimestampTooOld)
    );
    assert_eq!(
        check(spec, &[public], h, body, None, NOW - 301),
        Err(ErrorKind::TimestampTooNew)
    );
    assert_eq!(
        check(spec, &[public], &h[1..], body, None, NOW),
        Err(ErrorKind::MissingHeader)
    );
    assert_eq!(
        check(spec, &[public], mangled, body, None, NOW),
        Err(ErrorKind::MalformedHeader)
    );
}

#[test]
fn sendgrid_verifies_what_a_p256_key_signs_with_the_public_or_the_private_key() {
    let (private, public) = p256_pair(7);
    let (_, other) = p256_pair(9);
    let body = b"[{\"email\":\"a@example.com\",\"event\":\"delivered\"}]\r\n";
    let pairs = sign(
        &SchemeSpec::named("sendgrid"),
        &Secret::new(&private),
        &input(body, NOW),
    )
    .expect("signs");
    let h = headers_of(&pairs);
    let spec = SchemeSpec::named("sendgrid");
    assert_eq!(check(&spec, &[&public], &h, body, None, NOW), Ok(()));
    assert_eq!(check(&spec, &[&private], &h, body, None, NOW), Ok(()));
    let mangled = [("X-Twilio-Email-Event-Webhook-Signature", "bm90IGRlcg=="), h[1]];
    public_key_negatives(&spec, (&public, &other), &h, (body, b"[]\r\n"), &mangled);
    assert!(
        sign(&spec, &Secret::new(&public), &input(body, NOW)).is_err(),
        "a public key cannot sign"
    );
    assert!(spec.verifier(&[Secret::new("not a key")], None).is_err());
}

#[test]
fn mailgun_signs_timestamp_and_token_inside_json_and_form_bodies() {
    let spec = SchemeSpec::named("mailgun");
    let key = "key-mailgun-signing";
    let json = br#"{"event-data":{"id":"ev_1","event":"delivered","timestamp":1800000000.5}}"#;
    let form = b"recipient=a%40example.com&event=delivered";
    for body in [&json[..], &form[..]] {
        let signed = sign_body(&spec, &Secret::new(key), &input(body, NOW)).expect("a signed body");
        assert_eq!(check(&spec, &[key], &[], &signed, None, NOW), Ok(()));
        assert_eq!(
            check(&spec, &["other", key], &[], &signed, None, NOW),
            Ok(()),
            "rotation"
        );
        assert_eq!(
            check(&spec, &["other"], &[], &signed, None, NOW),
            Err(ErrorKind::InvalidSignature)
        );
        assert_eq!(
            check(&spec, &[key], &[], &signed, None, NOW + 301),
            Err(ErrorKind::TimestampTooOld)
        );
        assert_eq!(
            check(&spec, &[key], &[], &signed, None, NOW - 301),
            Err(ErrorKind::TimestampTooNew)
        );
        let text = String::from_utf8(signed).expect("utf-8");
        let forged = text.replace("tok_0123456789", "tok_0123456780");
        assert_eq!(
            check(&spec, &[key], &[], forged.as_bytes(), None, NOW),
            Err(ErrorKind::InvalidSignature)
        );
    }
    assert_eq!(
        check(&spec, &[key], &[], json, None, NOW),
        Err(ErrorKind::MissingHeader)
    );
    let bad_hex = br#"{"signature":{"timestamp":"1800000000","token":"t","signature":"zz"}}"#;
    assert_eq!(
        check(&spec, &[key], &[], bad_hex, None, NOW),
        Err(ErrorKind::MalformedHeader)
    );
}

#[test]
fn discord_verifies_with_the_public_key_what_the_seed_signs() {
    let spec = SchemeSpec::named("discord");
    let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let public = discord_public_key(seed).expect("a seed");
    // RFC 8032 test 1: this seed's public key.
    assert_eq!(
        public,
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let other = discord_public_key(&"11".repeat(32)).expect("a seed");
    let body = br#"{"id":"123","type":2,"data":{"name":"ping"}}"#;
    let pairs = sign(&spec, &Secret::new(seed), &input(body, NOW)).expect("signs");
    let h = headers_of(&pairs);
    assert_eq!(check(&spec, &[&public], &h, body, None, NOW), Ok(()));
    let mangled = [("X-Signature-Ed25519", "abcd"), h[1]];
    public_key_negatives(&spec, (&public, &other), &h, (body, b"{}"), &mangled);
    assert!(spec.verifier(&[Secret::new("not hex")], None).is_err());
}

#[test]
fn linear_checks_the_signature_then_the_bodys_millisecond_timestamp_within_60_seconds() {
    let spec = SchemeSpec::named("linear");
    let key = "lin_wh_secret";
    let body_at = |ms: i64| format!(r#"{{"action":"create","type":"Issue","webhookTimestamp":{ms}}}"#);
    let body = body_at(NOW * 1000 + 250);
    let pairs = sign(&spec, &Secret::new(key), &input(body.as_bytes(), NOW)).expect("signs");
    let h = headers_of(&pairs);
    assert_eq!(check(&spec, &[key], &h, body.as_bytes(), None, NOW), Ok(()));
    assert_eq!(
        check(&spec, &[key], &h, body.as_bytes(), None, NOW + 60),
        Ok(()),
        "the edge"
    );
    assert_eq!(
        check(&spec, &[key], &h, body.as_bytes(), None, NOW + 61),
        Err(ErrorKind::TimestampTooOld)
    );
    assert_eq!(
        check(&spec, &[key], &h, body.as_bytes(), None, NOW - 61),
        Err(ErrorKind::TimestampTooNew)
    );
    assert_eq!(
        check(&spec, &["other"], &h, body.as_bytes(), None, NOW),
        Err(ErrorKind::InvalidSignature)
    );
    let tampered = body_at(NOW * 1000 + 251);
    assert_eq!(
        check(&spec, &[key], &h, tampered.as_bytes(), None, NOW),
        Err(ErrorKind::InvalidSignature)
    );
    let no_time = br#"{"action":"create"}"#;
    let pairs = sign(&spec, &Secret::new(key), &input(no_time, NOW)).expect("signs");
    assert_eq!(
        check(&spec, &[key], &headers_of(&pairs), no_time, None, NOW),
        Err(ErrorKind::InvalidTimestamp)
    );
    assert_eq!(
        check(&spec, &[key], &[("Linear-Signature", "xyz")], no_time, None, NOW),
        Err(ErrorKind::InvalidSignature),
        "a value that is not hex does not match (the SDK compares digests)"
    );
    assert_eq!(
        check(&spec, &[key], &[], no_time, None, NOW),
        Err(ErrorKind::MissingHeader)
    );
}

/// sendgrid/sendgrid-nodejs `packages/eventwebhook/src/eventwebhook.spec.js`: its key,
/// signature, timestamp and payload, and its four rejections.
#[test]
fn sendgrid_published_vector_verifies_and_its_rejections_reject() {
    const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    const OTHER_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
    const SIGNATURE: &str =
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    const BAD_SIGNATURE: &str =
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
    const TIMESTAMP: &str = "1588788367";
    let payload = br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
    let spec = SchemeSpec::named("sendgrid");
    let h = |sig: &'static str, ts: &'static str| {
        [
            ("X-Twilio-Email-Event-Webhook-Signature", sig),
            ("X-Twilio-Email-Event-Webhook-Timestamp", ts),
        ]
    };
    let at = 1_588_788_367;
    assert_eq!(
        check(&spec, &[PUBLIC_KEY], &h(SIGNATURE, TIMESTAMP), payload, None, at),
        Ok(())
    );
    assert_eq!(
        check(&spec, &[OTHER_KEY], &h(SIGNATURE, TIMESTAMP), payload, None, at),
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        check(&spec, &[PUBLIC_KEY], &h(SIGNATURE, TIMESTAMP), b"payload", None, at),
        Err(ErrorKind::InvalidSignature)
    );
    assert!(check(&spec, &[PUBLIC_KEY], &h(BAD_SIGNATURE, TIMESTAMP), payload, None, at).is_err());
    assert!(check(&spec, &[PUBLIC_KEY], &h(SIGNATURE, "timestamp"), payload, None, at).is_err());
    // The SDK has no window; inlet's default (5 min) applies on top.
    assert_eq!(
        check(&spec, &[PUBLIC_KEY], &h(SIGNATURE, TIMESTAMP), payload, None, at + 3600),
        Err(ErrorKind::TimestampTooOld)
    );
}
