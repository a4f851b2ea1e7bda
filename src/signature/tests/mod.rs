//! The schemes' tests: the providers' published vectors (`vectors`), round trips,
//! negatives and property tests over every scheme (`properties`), and the presets whose
//! keys or signatures do not fit the generic cases (`presets`: sendgrid, mailgun, discord,
//! linear).

mod hostile;
mod presets;
mod properties;
mod vectors;

use ::http::{HeaderMap, HeaderName, HeaderValue};

pub(super) use super::*;

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
    let v = verifier(spec, &secrets, None).expect("verifier builds");
    let map = headers(hdrs);
    v.verify(
        &Request {
            headers: &map,
            body,
            url,
        },
        now,
    )
    .map_err(|e| e.kind)
}

pub(super) fn hmac_spec() -> SchemeSpec {
    SchemeSpec::Hmac(HmacSpec {
        header: "x-acme-signature".into(),
        algorithm: Algorithm::Sha256,
        encoding: Encoding::Hex,
        prefix: Some("sha256=".into()),
    })
}
