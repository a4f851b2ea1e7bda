//! The schemes' tests: the providers' published vectors (`vectors`), round trips,
//! negatives and property tests over every scheme (`properties`), and the presets whose
//! keys or signatures do not fit the generic cases (`presets`: sendgrid, mailgun, discord,
//! linear).

mod files;
mod hostile;
mod presets;
mod properties;
mod vectors;

use ::http::{HeaderMap, HeaderName, HeaderValue};

pub(super) use super::*;
pub(super) use crate::signature::{
    Algorithm, Encoding, ErrorKind, Family, HmacSpec, KeyForm, MAX_CANDIDATES, MAX_SIGNATURE_HEADER, Request, Secret,
    SignInput, TimeSource, Undecodable, b64, check_window, mac,
};

pub(super) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).expect("test header name"),
            HeaderValue::from_str(v).expect("test header value"),
        );
    }
    map
}

pub(super) fn check(
    spec: &SchemeSpec,
    secrets: &[&str],
    hdrs: &[(&str, &str)],
    body: &[u8],
    url: Option<&str>,
    now: i64,
) -> Result<(), ErrorKind> {
    let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
    let v = spec.verifier(&secrets, None).expect("verifier builds");
    let map = headers(hdrs);
    v.verify(
        &Request {
            headers: &map,
            body,
            url,
            method: "POST",
        },
        now,
    )
    .map_err(|e| e.kind)
}

pub(super) fn hmac_spec() -> SchemeSpec {
    SchemeSpec::hmac(HmacSpec {
        header: "x-acme-signature".into(),
        algorithm: Algorithm::Sha256,
        encoding: Encoding::Hex,
        prefix: Some("sha256=".into()),
    })
}

/// A P-256 public key (base64 DER), as SendGrid's console shows one.
pub(super) fn sendgrid_public(seed: u8) -> String {
    use p256::pkcs8::EncodePublicKey;
    let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("valid scalar");
    b64::encode(key.verifying_key().to_public_key_der().expect("spki").as_bytes())
}

/// Every built-in provider as a source would use it (retired headers allowed, `hmac` with
/// [`hmac_spec`]), with two verification keys of its family's kind.
pub(super) fn every_provider() -> Vec<(SchemeSpec, [String; 2])> {
    registry()
        .providers
        .iter()
        .map(|p| {
            let spec = if p.configurable {
                hmac_spec()
            } else {
                SchemeSpec::named(&p.name).allowing_legacy(true)
            };
            let keys = match &p.verify {
                Family::Ecdsa => [sendgrid_public(7), sendgrid_public(8)],
                Family::Ed25519(e) => {
                    let (a, b) = ([0x11u8; 32], [0x22u8; 32]);
                    match e.key_encoding {
                        Encoding::Hex => [hex::encode(a), hex::encode(b)],
                        Encoding::Base64 => [b64::encode(&a), b64::encode(&b)],
                    }
                }
                Family::Standard(_) => [
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
                    "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".into(),
                ],
                Family::Hmac(h) if h.key == KeyForm::Base64 => {
                    ["Zmlyc3Qtc2VjcmV0".into(), "c2Vjb25kLXNlY3JldA==".into()]
                }
                Family::Basic => ["user:first-secret".into(), "user:second-secret".into()],
                Family::Hmac(_) | Family::UrlForm(_) | Family::BodyFields | Family::Token(_) | Family::None => {
                    ["first-secret".into(), "second-secret".into()]
                }
            };
            (spec, keys)
        })
        .collect()
}
