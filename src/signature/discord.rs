//! Discord interactions: Ed25519 over `{X-Signature-Timestamp}{raw body}`, the signature
//! hex in `X-Signature-Ed25519`, checked with the application's public key (hex, as the
//! developer portal shows it). `inlet sign` takes the private seed (hex) instead. A PING is
//! answered with `{"type":1}` by the webhook intake, after this check.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::{KeyError, Request, Secret, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

fn bad(why: &str) -> KeyError {
    KeyError::Key {
        scheme: "discord",
        why: why.to_string(),
    }
}

fn key_bytes(secret: &str) -> Result<[u8; 32], KeyError> {
    hex::decode(secret.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("the key is not 32 bytes of hex"))
}

pub struct DiscordVerifier {
    keys: Vec<VerifyingKey>,
    window: i64,
}

impl DiscordVerifier {
    pub fn new(secrets: &[Secret], window: i64) -> Result<Self, KeyError> {
        let keys = secrets
            .iter()
            .map(|s| VerifyingKey::from_bytes(&key_bytes(s.expose())?).map_err(|_| bad("not an Ed25519 public key")))
            .collect::<Result<_, _>>()?;
        Ok(DiscordVerifier { keys, window })
    }
}

impl Verifier for DiscordVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let sig = req.required(&["x-signature-ed25519"])?;
        let t = req.required(&["x-signature-timestamp"])?;
        let sig = hex::decode(sig)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| VerifyError::malformed("X-Signature-Ed25519", "not a hex Ed25519 signature"))?;
        let ts = parse_timestamp(t)?;
        let msg = [t.as_bytes(), req.body].concat();
        if !self.keys.iter().any(|k| {
            mac::tick();
            k.verify_strict(&msg, &sig).is_ok()
        }) {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

/// The public key (hex) of a private seed (hex): what a source verifying `sign`'s output needs.
pub fn public_key_hex(seed_hex: &str) -> Result<String, KeyError> {
    Ok(hex::encode(
        SigningKey::from_bytes(&key_bytes(seed_hex)?).verifying_key().to_bytes(),
    ))
}

pub fn sign(secret: &Secret, input: &SignInput<'_>) -> Result<Vec<(String, String)>, KeyError> {
    let key = SigningKey::from_bytes(&key_bytes(secret.expose())?);
    let t = input.at.to_string();
    let sig = key.sign(&[t.as_bytes(), input.body].concat());
    Ok(vec![
        ("X-Signature-Ed25519".into(), hex::encode(sig.to_bytes())),
        ("X-Signature-Timestamp".into(), t),
    ])
}
