//! Standard Webhooks (and Svix's `svix-*` aliases): `webhook-id`, `webhook-timestamp` and a
//! space-separated `webhook-signature` list over `{id}.{timestamp}.{body}`. `v1` is
//! HMAC-SHA256 keyed with the base64 part of `whsec_…`; `v1a` is Ed25519 checked with a
//! `whpk_…` public key. Unknown versions in the list are skipped.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::mac::{self, b64};
use super::{
    ErrorKind, KeyError, MAX_CANDIDATES, Request, Secret, SignInput, Verifier, VerifyError, check_window,
    parse_timestamp,
};

const ID: &[&str] = &["webhook-id", "svix-id"];
const TIMESTAMP: &[&str] = &["webhook-timestamp", "svix-timestamp"];
const SIGNATURE: &[&str] = &["webhook-signature", "svix-signature"];

/// A key of a Standard Webhooks source, parsed from its secret text.
pub enum Key {
    Hmac(Vec<u8>),
    Public(VerifyingKey),
    Private(SigningKey),
}

impl Key {
    pub fn parse(secret: &str) -> Result<Key, KeyError> {
        let bad = |why: &str| KeyError::Standard(why.to_string());
        if let Some(rest) = secret.strip_prefix("whpk_") {
            let bytes = b64::decode(rest).ok_or_else(|| bad("whpk_ part is not base64"))?;
            let arr: [u8; 32] = bytes.try_into().map_err(|_| bad("whpk_ key is not 32 bytes"))?;
            return VerifyingKey::from_bytes(&arr)
                .map(Key::Public)
                .map_err(|_| bad("whpk_ key is not an Ed25519 point"));
        }
        if let Some(rest) = secret.strip_prefix("whsk_") {
            let bytes = b64::decode(rest).ok_or_else(|| bad("whsk_ part is not base64"))?;
            let seed: [u8; 32] = bytes
                .get(..32)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| bad("whsk_ key is shorter than 32 bytes"))?;
            return Ok(Key::Private(SigningKey::from_bytes(&seed)));
        }
        let rest = secret.strip_prefix("whsec_").unwrap_or(secret);
        let bytes = b64::decode(rest).ok_or_else(|| bad("whsec_ part is not base64"))?;
        if bytes.is_empty() {
            return Err(bad("empty key"));
        }
        Ok(Key::Hmac(bytes))
    }
}

pub struct StandardVerifier {
    hmac_keys: Vec<Vec<u8>>,
    public_keys: Vec<VerifyingKey>,
    window: i64,
}

impl StandardVerifier {
    pub fn new(secrets: &[Secret], window: i64) -> Result<Self, KeyError> {
        let mut v = StandardVerifier {
            hmac_keys: Vec::new(),
            public_keys: Vec::new(),
            window,
        };
        for s in secrets {
            match Key::parse(s.expose())? {
                Key::Hmac(k) => v.hmac_keys.push(k),
                Key::Public(k) => v.public_keys.push(k),
                Key::Private(k) => v.public_keys.push(k.verifying_key()),
            }
        }
        Ok(v)
    }
}

impl Verifier for StandardVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let id = req.required(ID)?;
        let t = req.required(TIMESTAMP)?;
        let list = req.required(SIGNATURE)?;
        let ts = parse_timestamp(t)?;
        let entries: Vec<(&str, &str)> = list.split_whitespace().filter_map(|e| e.split_once(',')).collect();
        if entries.is_empty() {
            return Err(VerifyError::malformed(
                "webhook-signature",
                "no version,signature entry",
            ));
        }
        if entries.len() > MAX_CANDIDATES {
            return Err(VerifyError::malformed("webhook-signature", "more than 16 signatures"));
        }
        let content = [id.as_bytes(), b".", t.as_bytes(), b".", req.body];
        let mut hmac_sigs = Vec::new();
        let mut public_sigs = Vec::new();
        let mut supported = false;
        for (version, sig) in entries {
            match version {
                "v1" if !self.hmac_keys.is_empty() => {
                    supported = true;
                    hmac_sigs.extend(b64::decode(sig));
                }
                "v1a" if !self.public_keys.is_empty() => {
                    supported = true;
                    public_sigs.extend(b64::decode(sig).and_then(|b| Signature::from_slice(&b).ok()));
                }
                _ => {}
            }
        }
        // One MAC per key for every v1 candidate; an Ed25519 candidate can only be checked
        // on its own (at most 16 of them, and identical ones once).
        public_sigs.dedup_by(|a, b| a.to_bytes() == b.to_bytes());
        let mut matched = mac::any_key_signed(&self.hmac_keys, &content, &hmac_sigs, mac::sha256);
        if !matched && !public_sigs.is_empty() {
            let msg = content.concat();
            matched = public_sigs.iter().any(|sig| {
                self.public_keys.iter().any(|k| {
                    mac::tick();
                    k.verify_strict(&msg, sig).is_ok()
                })
            });
        }
        if !supported {
            return Err(VerifyError::new(
                ErrorKind::NoSupportedScheme,
                "no signature of a version this source has a key for",
            ));
        }
        if !matched {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

pub fn sign(
    secret: &Secret,
    input: &SignInput<'_>,
    spelling: super::StandardHeaders,
) -> Result<Vec<(String, String)>, KeyError> {
    let t = input.at.to_string();
    let content = [input.id.as_bytes(), b".", t.as_bytes(), b".", input.body];
    let signature = match Key::parse(secret.expose())? {
        Key::Hmac(k) => format!("v1,{}", b64::encode(&mac::sha256(&k, &content))),
        Key::Private(k) => format!("v1a,{}", b64::encode(&k.sign(&content.concat()).to_bytes())),
        Key::Public(_) => return Err(KeyError::PublicKeyCannotSign),
    };
    let prefix = match spelling {
        super::StandardHeaders::Webhook => "webhook",
        super::StandardHeaders::Svix => "svix",
    };
    Ok(vec![
        (format!("{prefix}-id"), input.id.to_string()),
        (format!("{prefix}-timestamp"), t),
        (format!("{prefix}-signature"), signature),
    ])
}
