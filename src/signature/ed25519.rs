//! The Ed25519 family: a signature header over `{timestamp}{separator}{raw body}`, checked
//! with the provider's public key. Discord (hex key and signature, no separator) and
//! Telnyx (base64, `|`) are this family. A source may hold the private seed instead of the
//! public key, which is how `inlet sign` and `inlet trigger` sign; the public key of a seed
//! is [`public_key`].

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::Deserialize;

use super::hmac::Encoding;
use super::{KeyError, Request, Secret, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

/// An Ed25519 provider's parameters, as its file gives them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ed25519Params {
    pub header: String,
    pub timestamp_header: String,
    /// Between the timestamp and the body in the signed message.
    #[serde(default)]
    pub separator: String,
    /// How the public key (and a private seed) is written: hex or base64.
    #[serde(default)]
    pub key_encoding: Encoding,
    #[serde(default)]
    pub signature_encoding: Encoding,
    /// Seconds either side of now.
    #[serde(default = "five_minutes")]
    pub tolerance: u64,
}

fn five_minutes() -> u64 {
    300
}

fn bad(why: &str) -> KeyError {
    KeyError::Key {
        scheme: "ed25519",
        why: why.to_string(),
    }
}

fn key_bytes(p: &Ed25519Params, secret: &str) -> Result<[u8; 32], KeyError> {
    p.key_encoding
        .decode(secret)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad(&format!("the key is not 32 bytes of {:?}", p.key_encoding)))
}

pub struct Ed25519Verifier {
    params: Ed25519Params,
    keys: Vec<VerifyingKey>,
    window: i64,
}

impl Ed25519Verifier {
    pub fn new(params: &Ed25519Params, secrets: &[Secret], window: i64) -> Result<Self, KeyError> {
        let keys = secrets
            .iter()
            .map(|s| {
                VerifyingKey::from_bytes(&key_bytes(params, s.expose())?).map_err(|_| bad("not an Ed25519 public key"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Ed25519Verifier {
            params: params.clone(),
            keys,
            window,
        })
    }
}

impl Verifier for Ed25519Verifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let p = &self.params;
        let sig = req.required(&[p.header.as_str()])?;
        let t = req.required(&[p.timestamp_header.as_str()])?;
        let sig = p
            .signature_encoding
            .decode(sig)
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| VerifyError::malformed(&p.header, "not an Ed25519 signature"))?;
        let ts = parse_timestamp(t)?;
        let msg = [t.as_bytes(), p.separator.as_bytes(), req.body].concat();
        if !self.keys.iter().any(|k| {
            mac::tick();
            k.verify_strict(&msg, &sig).is_ok()
        }) {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

/// The public key (in the provider's key encoding) of a private seed.
pub fn public_key(p: &Ed25519Params, seed: &str) -> Result<String, KeyError> {
    Ok(p.key_encoding
        .encode(&SigningKey::from_bytes(&key_bytes(p, seed)?).verifying_key().to_bytes()))
}

pub fn sign(p: &Ed25519Params, secret: &Secret, input: &SignInput<'_>) -> Result<Vec<(String, String)>, KeyError> {
    let key = SigningKey::from_bytes(&key_bytes(p, secret.expose())?);
    let t = input.at.to_string();
    let sig = key.sign(&[t.as_bytes(), p.separator.as_bytes(), input.body].concat());
    Ok(vec![
        (p.header.clone(), p.signature_encoding.encode(&sig.to_bytes())),
        (p.timestamp_header.clone(), t),
    ])
}
