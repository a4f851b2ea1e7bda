//! Linear: `Linear-Signature` is the hex HMAC-SHA256 of the raw body; the time is the body's
//! `webhookTimestamp` (unix milliseconds), checked against the window both ways (60 s by
//! default, as Linear's SDK does) after the signature.

use super::{ErrorKind, Request, SignInput, Verifier, VerifyError, check_window, mac};

pub struct LinearVerifier {
    pub keys: Vec<Vec<u8>>,
    pub window: i64,
}

impl Verifier for LinearVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let value = req.required(&["linear-signature"])?;
        let sig = hex::decode(value).map_err(|_| VerifyError::malformed("Linear-Signature", "not hex"))?;
        if !self.keys.iter().any(|k| mac::verify_sha256(k, &[req.body], &sig)) {
            return Err(VerifyError::mismatch());
        }
        let ms = serde_json::from_slice::<serde_json::Value>(req.body)
            .ok()
            .and_then(|b| b.get("webhookTimestamp").and_then(serde_json::Value::as_i64))
            .ok_or_else(|| {
                VerifyError::new(
                    ErrorKind::InvalidTimestamp,
                    "the body has no numeric webhookTimestamp (unix ms)",
                )
            })?;
        check_window(ms.div_euclid(1000), now, self.window)
    }
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    let mut headers = vec![("Linear-Signature".into(), hex::encode(mac::sha256(key, &[input.body])))];
    if !input.id.is_empty() {
        headers.push(("Linear-Delivery".into(), input.id.to_string()));
    }
    headers
}
