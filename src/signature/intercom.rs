//! Intercom: `X-Hub-Signature: sha1=<hex>` of HMAC-SHA1 over the raw body with the app's
//! client secret. No timestamp is signed: dedupe on the notification id is the replay guard.

use super::{Request, SignInput, Verifier, VerifyError, mac};

pub struct IntercomVerifier {
    pub keys: Vec<Vec<u8>>,
}

impl Verifier for IntercomVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        let value = req.required(&["x-hub-signature"])?;
        let hex_sig = value
            .strip_prefix("sha1=")
            .ok_or_else(|| VerifyError::malformed("X-Hub-Signature", "does not start with sha1="))?;
        let sig = hex::decode(hex_sig).map_err(|_| VerifyError::malformed("X-Hub-Signature", "not hex"))?;
        if self.keys.iter().any(|k| mac::verify_sha1(k, &[req.body], &sig)) {
            Ok(())
        } else {
            Err(VerifyError::mismatch())
        }
    }
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    vec![(
        "X-Hub-Signature".into(),
        format!("sha1={}", hex::encode(mac::sha1(key, &[input.body]))),
    )]
}
