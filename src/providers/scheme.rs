//! [`SchemeSpec`]: a provider as one source uses it, with what the source adds (the
//! generic `hmac` settings, `allow_sha1`). Verifying and signing go through it, so the id
//! header a provider sends (`X-GitHub-Delivery`) comes with every signature it makes.

use std::time::Duration;

use super::{Provider, find};
use crate::signature::{self, Encoding, Family, HmacSpec, KeyError, KeyForm, Options, Secret, SignInput, Verifier};

/// A provider with a source's settings.
#[derive(Clone)]
pub struct SchemeSpec {
    pub provider: &'static Provider,
    pub family: Family,
    pub allow_legacy: bool,
    headers: Vec<String>,
}

impl std::fmt::Debug for SchemeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SchemeSpec({})", self.provider.name)
    }
}

impl PartialEq for SchemeSpec {
    fn eq(&self, other: &Self) -> bool {
        self.provider.name == other.provider.name
            && self.family == other.family
            && self.allow_legacy == other.allow_legacy
    }
}

impl SchemeSpec {
    fn of(provider: &'static Provider, family: Family) -> SchemeSpec {
        let headers = family.signature_headers();
        SchemeSpec {
            provider,
            family,
            allow_legacy: false,
            headers,
        }
    }

    /// A provider as its file gives it.
    pub fn of_provider(provider: &'static Provider) -> SchemeSpec {
        SchemeSpec::of(provider, provider.verify.clone())
    }

    /// The built-in provider `name`, as its file gives it.
    pub fn find(name: &str) -> Option<SchemeSpec> {
        find(name).map(SchemeSpec::of_provider)
    }

    /// A built-in provider by a name known to exist (tests and benchmarks).
    pub fn named(name: &str) -> SchemeSpec {
        SchemeSpec::find(name).unwrap_or_else(|| panic!("no built-in provider {name:?}"))
    }

    /// This (configurable) provider with a source's `header`, `algorithm`, `encoding` and
    /// `prefix` as its parameters.
    pub fn with_hmac(self, spec: HmacSpec) -> SchemeSpec {
        SchemeSpec::of(self.provider, Family::Hmac(spec.params()))
    }

    /// The generic `hmac` scheme with these settings (tests and benchmarks).
    pub fn hmac(spec: HmacSpec) -> SchemeSpec {
        SchemeSpec::named("hmac").with_hmac(spec)
    }

    /// With the provider's retired header allowed (`allow_sha1`).
    pub fn allowing_legacy(mut self, allow: bool) -> SchemeSpec {
        self.allow_legacy = allow;
        self
    }

    pub fn name(&self) -> &'static str {
        &self.provider.name
    }

    /// The headers this spec treats as signatures (lowercase).
    pub fn signature_header_names(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().map(String::as_str)
    }

    /// True when `name` (any case) is a header this spec treats as a signature.
    pub fn is_signature_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    pub fn default_tolerance(&self) -> Option<Duration> {
        self.family.default_tolerance()
    }

    pub fn needs_url(&self) -> bool {
        self.family.needs_url()
    }

    /// The verifier for this spec with a source's secrets and `tolerance`.
    pub fn verifier(&self, secrets: &[Secret], tolerance: Option<Duration>) -> Result<Box<dyn Verifier>, KeyError> {
        signature::verifier(
            &self.family,
            secrets,
            Options {
                tolerance,
                allow_legacy: self.allow_legacy,
            },
        )
    }

    /// The headers the provider would send for `input`: its signature, and its id header
    /// with `input.id` when the id is read from a header.
    pub fn sign(&self, secret: &Secret, input: &SignInput<'_>) -> Result<Vec<(String, String)>, KeyError> {
        let mut headers = signature::sign(&self.family, secret, input)?;
        if let Some(name) = self.provider.event.id_header()
            && !input.id.is_empty()
            && !headers
                .iter()
                .chain(input.headers)
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            headers.push((name.to_string(), input.id.to_string()));
        }
        Ok(headers)
    }

    /// The body as the provider would send it, for families that sign inside it.
    pub fn sign_body(&self, secret: &Secret, input: &SignInput<'_>) -> Option<Vec<u8>> {
        signature::sign_body(&self.family, secret, input)
    }
}

/// A key pair for trying a provider out (tests, `inlet trigger` against a local config):
/// the secret that signs and the secret a source verifies with. They differ only for
/// public-key families, where the source holds the public key.
pub fn example_keys(family: &Family) -> (String, String) {
    let same = |s: &str| (s.to_string(), s.to_string());
    match family {
        Family::Ed25519(p) => {
            let seed = [0x2au8; 32];
            let seed = match p.key_encoding {
                Encoding::Hex => hex::encode(seed),
                Encoding::Base64 => signature::b64::encode(&seed),
            };
            let public = signature::public_key_of(family, &seed).unwrap_or_default();
            (seed, public)
        }
        // A P-256 private key (PKCS#8, base64): SendGrid's verifier accepts it for its public half.
        Family::Ecdsa => same(EXAMPLE_P256),
        Family::Standard(_) => same("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        Family::Hmac(h) if h.key == KeyForm::Base64 => same("ZXhhbXBsZS1tYWMtc2VjcmV0"),
        Family::Basic => same("hooks:example-password"),
        Family::Hmac(_) | Family::UrlForm(_) | Family::BodyFields | Family::Token(_) | Family::None => {
            same("example-secret")
        }
    }
}

const EXAMPLE_P256: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcm9Z1+hlsC2lKtItia8OaGHGHBCBn+sA0KOXetL4t0ahRANCAARvOb+M+bj4LvoVET0NqhoHehghT+3rIhZeX//5kEMk4JaGjwchiwFrJnYR6qBHB34ATLoj/6pqNTit4xnooZ14";
