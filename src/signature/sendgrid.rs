//! SendGrid (Twilio SendGrid Event Webhook): ECDSA P-256 / SHA-256 over
//! `{X-Twilio-Email-Event-Webhook-Timestamp}{raw body}`, the DER signature base64 in
//! `X-Twilio-Email-Event-Webhook-Signature`. The source's secret is the verification key
//! (base64 DER SubjectPublicKeyInfo, as the SendGrid settings page shows it); a base64
//! PKCS#8 private key also works and is what `inlet sign` needs.

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};

use super::mac::{self, b64};
use super::{KeyError, Request, Secret, SignInput, Verifier, VerifyError, check_window, parse_timestamp};

const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";

fn bad(why: &str) -> KeyError {
    KeyError::Key {
        scheme: "sendgrid",
        why: why.to_string(),
    }
}

fn private_key(secret: &str) -> Option<SigningKey> {
    SigningKey::from_pkcs8_der(&b64::decode(secret)?).ok()
}

/// The verification key: a public key, or the public half of a private key.
fn public_key(secret: &str) -> Result<VerifyingKey, KeyError> {
    let der = b64::decode(secret).ok_or_else(|| bad("the verification key is not base64"))?;
    if let Ok(k) = VerifyingKey::from_public_key_der(&der) {
        return Ok(k);
    }
    private_key(secret)
        .map(|k| *k.verifying_key())
        .ok_or_else(|| bad("not a P-256 public key (SubjectPublicKeyInfo) or private key (PKCS#8)"))
}

pub struct SendgridVerifier {
    keys: Vec<VerifyingKey>,
    window: i64,
}

impl SendgridVerifier {
    pub fn new(secrets: &[Secret], window: i64) -> Result<Self, KeyError> {
        let keys = secrets
            .iter()
            .map(|s| public_key(s.expose()))
            .collect::<Result<_, _>>()?;
        Ok(SendgridVerifier { keys, window })
    }
}

impl Verifier for SendgridVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let sig = req.required(&[SIGNATURE])?;
        let t = req.required(&[TIMESTAMP])?;
        let sig = b64::decode(sig)
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or_else(|| {
                VerifyError::malformed("X-Twilio-Email-Event-Webhook-Signature", "not a base64 DER signature")
            })?;
        let ts = parse_timestamp(t)?;
        let msg = [t.as_bytes(), req.body].concat();
        if !self.keys.iter().any(|k| {
            mac::tick();
            k.verify(&msg, &sig).is_ok()
        }) {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

pub fn sign(secret: &Secret, input: &SignInput<'_>) -> Result<Vec<(String, String)>, KeyError> {
    let key = private_key(secret.expose()).ok_or_else(|| bad("signing needs a base64 PKCS#8 P-256 private key"))?;
    let t = input.at.to_string();
    let sig: Signature = key.sign(&[t.as_bytes(), input.body].concat());
    Ok(vec![
        (
            "X-Twilio-Email-Event-Webhook-Signature".into(),
            b64::encode(sig.to_der().as_bytes()),
        ),
        ("X-Twilio-Email-Event-Webhook-Timestamp".into(), t),
    ])
}
