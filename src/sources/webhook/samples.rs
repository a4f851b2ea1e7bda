//! Every provider's sample events, signed as the provider signs, go through intake: they
//! verify, read the type the sample names, and a provider that says where its id is gives
//! an id rather than the body hash. This is what `inlet trigger` relies on.

use ::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;
use crate::providers::{SchemeSpec, example_keys, registry, render};
use crate::signature::{Family, Secret, SignInput};

const NOW: i64 = 1_800_000_000;
const URL: &str = "https://hooks.example.com/webhooks/src";

#[test]
fn every_providers_samples_verify_and_read_as_the_event_they_name() {
    let mut checked = 0;
    for p in &registry().providers {
        if matches!(p.verify, Family::None) || p.configurable {
            continue;
        }
        let spec = SchemeSpec::named(&p.name);
        let (signing, verifying) = example_keys(&p.verify);
        let mut source = super::tests::source(spec.clone());
        source.secrets = vec![Secret::new(verifying)];
        source.public_url = Some(URL.into());
        let intake = WebhookIntake::new(source).expect("builds");
        for sample in &p.samples {
            let rendered = render(sample, NOW, &[]).expect("renders");
            let input = SignInput {
                body: &rendered.body,
                at: NOW,
                id: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                url: Some(URL),
                headers: &rendered.headers,
            };
            let secret = Secret::new(signing.clone());
            let signed = spec.sign(&secret, &input).expect("signs");
            let body = spec.sign_body(&secret, &input).unwrap_or_else(|| rendered.body.clone());
            let mut headers = HeaderMap::new();
            for (k, v) in rendered.headers.iter().chain(&signed) {
                headers.append(
                    HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    HeaderValue::from_str(v).expect("value"),
                );
            }
            let what = format!("{} / {}", p.name, sample.event);
            let draft = match intake.accept(&headers, &body, Some(URL), NOW) {
                Ok(Accepted::Event(d)) => d,
                other => panic!("{what}: {other:?}"),
            };
            if !p.event.event_type.is_empty() {
                let wanted = sample.event_type.as_deref().unwrap_or(&sample.event);
                assert_eq!(draft.event_type.as_deref(), Some(wanted), "{what}: type");
            }
            if !p.event.id.is_empty() {
                assert!(!draft.dedupe_key.starts_with("sha256:"), "{what}: the id was not found");
            }
            checked += 1;
        }
    }
    assert!(checked >= 70, "{checked} samples");
}
