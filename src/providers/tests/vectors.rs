//! The providers' own published examples (docs and SDK test suites), byte for byte.

use super::*;

#[test]
fn stripe_published_vector_verifies_and_ignores_v0() {
    let body = include_bytes!("../testdata/stripe_body.bin");
    let h = "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";
    let spec = SchemeSpec::named("stripe");
    assert_eq!(
        check(
            &spec,
            &["webhook_secret"],
            &[("Stripe-Signature", h)],
            body,
            None,
            1533204720
        ),
        Ok(())
    );
    let mut changed = body.to_vec();
    changed.extend_from_slice(b"this_changes_the_json");
    assert_eq!(
        check(
            &spec,
            &["webhook_secret"],
            &[("Stripe-Signature", h)],
            &changed,
            None,
            1533204720
        ),
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        check(
            &spec,
            &["webhook_secret"],
            &[("Stripe-Signature", h)],
            body,
            None,
            1533204620 + 400
        ),
        Err(ErrorKind::TimestampTooOld)
    );
    for bad in [
        "t=,v1=2220f8,v0=63f3",
        "t,v1=,v0=",
        "t,v1=,v0",
        "t,v1=,",
        "t,,",
        ",,",
        "t",
    ] {
        let got = check(
            &spec,
            &["webhook_secret"],
            &[("Stripe-Signature", bad)],
            body,
            None,
            1533204720,
        );
        assert!(
            matches!(got, Err(ErrorKind::MalformedHeader | ErrorKind::InvalidTimestamp)),
            "{bad}: {got:?}"
        );
    }
    let only_v0 = "t=1533204620,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";
    assert_eq!(
        check(
            &spec,
            &["webhook_secret"],
            &[("Stripe-Signature", only_v0)],
            body,
            None,
            1533204720
        ),
        Err(ErrorKind::NoSupportedScheme)
    );
}

#[test]
fn standard_webhooks_published_vectors_verify() {
    let body = include_bytes!("../testdata/standard_webhooks_body.bin");
    let base = [
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
    ];
    let run = |secret: &str, sig: &str, now: i64| {
        let mut h = base.to_vec();
        h.push(("webhook-signature", sig));
        check(&SchemeSpec::named("standard"), &[secret], &h, body, None, now)
    };
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert_eq!(
        run(secret, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 1614265330),
        Ok(())
    );
    assert_eq!(
        run(
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            1614265330
        ),
        Ok(())
    );
    let multi = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    assert_eq!(run(secret, multi, 1614265330), Ok(()));
    assert_eq!(run(secret, "v1,", 1614265330), Err(ErrorKind::InvalidSignature));
    assert_eq!(
        run(secret, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O", 1614265330),
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        run(secret, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 1614265330),
        Err(ErrorKind::NoSupportedScheme)
    );
    assert_eq!(
        run(
            secret,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            1614265330 + 301
        ),
        Err(ErrorKind::TimestampTooOld)
    );
    assert_eq!(
        run(
            secret,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            1614265330 - 301
        ),
        Err(ErrorKind::TimestampTooNew)
    );
    // v1a: the Go library's signing vector, checked with the public key derived from its seed.
    let v1a = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==";
    assert_eq!(
        run("whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=", v1a, 1614265330),
        Ok(())
    );
    let signed = sign(
        &SchemeSpec::named("standard"),
        &Secret::new("whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="),
        &SignInput {
            body,
            at: 1614265330,
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            url: None,
            headers: &[],
        },
    )
    .expect("signs");
    assert_eq!(signed[2].1, v1a);
}

#[test]
fn svix_header_aliases_verify() {
    let body = include_bytes!("../testdata/standard_webhooks_body.bin");
    let h = [
        ("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("svix-timestamp", "1614265330"),
        ("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
    ];
    assert_eq!(
        check(
            &SchemeSpec::named("standard"),
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            &h,
            body,
            None,
            1614265330
        ),
        Ok(())
    );
}

#[test]
fn github_published_vector_verifies() {
    let body = include_bytes!("../testdata/github_body.bin");
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let spec = SchemeSpec::named("github").allowing_legacy(false);
    assert_eq!(
        check(
            &spec,
            &["It's a Secret to Everybody"],
            &[("X-Hub-Signature-256", sig)],
            body,
            None,
            0
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &spec,
            &["It's a Secret to Everybody"],
            &[("X-Hub-Signature-256", "757107ea")],
            body,
            None,
            0
        ),
        Err(ErrorKind::MalformedHeader)
    );
    assert_eq!(
        check(
            &spec,
            &["It's a Secret to Everybody"],
            &[("X-Hub-Signature", "sha1=00")],
            body,
            None,
            0
        ),
        Err(ErrorKind::NoSupportedScheme)
    );
    let sha1 = format!(
        "sha1={}",
        hex::encode(mac::sha1(b"It's a Secret to Everybody", &[body]))
    );
    let allow = SchemeSpec::named("github").allowing_legacy(true);
    assert_eq!(
        check(
            &allow,
            &["It's a Secret to Everybody"],
            &[("X-Hub-Signature", &sha1)],
            body,
            None,
            0
        ),
        Ok(())
    );
}

#[test]
fn shopify_published_vectors_verify_with_both_header_spellings() {
    let js = include_bytes!("../testdata/shopify_body.bin");
    let php = include_bytes!("../testdata/shopify_php_body.bin");
    let a = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=";
    assert_eq!(
        check(
            &SchemeSpec::named("shopify"),
            &["test_secret_key"],
            &[("X-Shopify-Hmac-Sha256", a)],
            js,
            None,
            0
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &SchemeSpec::named("shopify"),
            &["test_secret_key"],
            &[("shopify-hmac-sha256", a)],
            js,
            None,
            0
        ),
        Ok(())
    );
    let b = "/Redz4YXHLnSmmSN8grr5/Jl/Ua3d7yX3iWbjb8R8wo=";
    assert_eq!(
        check(
            &SchemeSpec::named("shopify"),
            &["old", "steffi"],
            &[("X-Shopify-Hmac-Sha256", b)],
            php,
            None,
            0
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &SchemeSpec::named("shopify"),
            &["steffi"],
            &[("X-Shopify-Hmac-Sha256", "whoops_this_is_wrong")],
            php,
            None,
            0
        ),
        // Shopify's SDKs compare the base64 strings: a value that does not decode does not match.
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        check(
            &SchemeSpec::named("shopify"),
            &["steffi"],
            &[("X-Shopify-Hmac-Sha256", a)],
            php,
            None,
            0
        ),
        Err(ErrorKind::InvalidSignature)
    );
}

#[test]
fn slack_published_vector_verifies() {
    let body = include_bytes!("../testdata/slack_body.bin");
    let h = [
        ("X-Slack-Request-Timestamp", "1531420618"),
        (
            "X-Slack-Signature",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        ),
    ];
    let secret = ["8f742231b10e8888abcd99yyyzzz85a5"];
    assert_eq!(
        check(&SchemeSpec::named("slack"), &secret, &h, body, None, 1531420618),
        Ok(())
    );
    let mut tampered = body.to_vec();
    tampered.extend_from_slice(b"------");
    assert_eq!(
        check(&SchemeSpec::named("slack"), &secret, &h, &tampered, None, 1531420618),
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        check(&SchemeSpec::named("slack"), &secret, &h, body, None, 1531420618 + 301),
        Err(ErrorKind::TimestampTooOld)
    );
}

#[test]
fn twilio_published_vectors_verify_with_port_variants() {
    let body = include_bytes!("../testdata/twilio_body.bin");
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let run = |sig: &str, url: &str, body: &[u8]| {
        check(
            &SchemeSpec::named("twilio"),
            &["12345"],
            &[("X-Twilio-Signature", sig)],
            body,
            Some(url),
            0,
        )
    };
    assert_eq!(run("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url, body), Ok(()));
    assert_eq!(
        run(
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
            body
        ),
        Ok(())
    );
    assert_eq!(run("kvajT1Ptam85bY51eRf/AJRuM3w=", url, body), Ok(()));
    assert_eq!(
        run(
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            body
        ),
        Ok(())
    );
    assert_eq!(
        run(
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
            url,
            b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
        ),
        Ok(())
    );
    assert_eq!(
        run("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url, b"CallSid=CA1"),
        Err(ErrorKind::InvalidSignature)
    );
    let json = include_bytes!("../testdata/twilio_json_body.bin");
    let json_url = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    assert_eq!(run("a9nBmqA0ju/hNViExpshrM61xv4=", json_url, json), Ok(()));
    assert_eq!(
        run("a9nBmqA0ju/hNViExpshrM61xv4=", json_url, b"{\"property\": \"other\"}"),
        Err(ErrorKind::BodyHashMismatch)
    );
}

#[test]
fn paddle_published_vectors_verify_skipping_junk_entries() {
    let body = include_bytes!("../testdata/paddle_body.bin");
    let h = "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02";
    let secrets = [
        "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4",
        "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh",
    ];
    assert_eq!(
        check(
            &SchemeSpec::named("paddle"),
            &secrets,
            &[("Paddle-Signature", h)],
            body,
            None,
            1696195954
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &SchemeSpec::named("paddle"),
            &secrets[..1],
            &[("Paddle-Signature", h)],
            body,
            None,
            1696195954
        ),
        Err(ErrorKind::InvalidSignature)
    );
    let node = include_bytes!("../testdata/paddle_node_body.bin");
    let h = "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9;h2=RANDOM";
    assert_eq!(
        check(
            &SchemeSpec::named("paddle"),
            &["VALID_SECRET"],
            &[("Paddle-Signature", h)],
            node,
            None,
            1698796805
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &SchemeSpec::named("paddle"),
            &["VALID_SECRET"],
            &[("Paddle-Signature", h)],
            node,
            None,
            1698796806
        ),
        Err(ErrorKind::TimestampTooOld)
    );
    assert_eq!(
        check(
            &SchemeSpec::named("paddle"),
            &["VALID_SECRET"],
            &[("Paddle-Signature", h)],
            b"{ \"data\": [ \"1\", \"2\" ]}",
            None,
            1698796800
        ),
        Err(ErrorKind::InvalidSignature)
    );
}

#[test]
fn square_published_vectors_verify() {
    let body = include_bytes!("../testdata/square_body.bin");
    let url = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";
    let sig = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    let h = [("x-square-hmacsha256-signature", sig)];
    assert_eq!(
        check(
            &SchemeSpec::named("square"),
            &["Ibxx_5AKakO-3qeNVR61Dw"],
            &h,
            body,
            Some(url),
            0
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &SchemeSpec::named("square"),
            &["Ibxx_5AKakO-3qeNVR61Dw"],
            &h,
            body,
            Some("https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9"),
            0
        ),
        Err(ErrorKind::InvalidSignature)
    );
    assert_eq!(
        check(
            &SchemeSpec::named("square"),
            &["MCmhFRxGX82xMwg5FsaoQA"],
            &h,
            body,
            Some(url),
            0
        ),
        Err(ErrorKind::InvalidSignature)
    );
    let escaped = include_bytes!("../testdata/square_escaped_body.bin");
    let h = [(
        "x-square-hmacsha256-signature",
        "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
    )];
    assert_eq!(
        check(
            &SchemeSpec::named("square"),
            &["signature-key"],
            &h,
            escaped,
            Some("https://webhook.site/webhooks"),
            0
        ),
        Ok(())
    );
}
