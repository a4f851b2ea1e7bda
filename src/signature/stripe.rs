//! Stripe: `Stripe-Signature: t=…,v1=…` over `{t}.{body}`, HMAC-SHA256 hex. Any `v1` may
//! match (Stripe sends one per active secret); `v0` and other schemes are never accepted.

use super::{ErrorKind, MAX_CANDIDATES, Request, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

const HEADER: &str = "stripe-signature";

pub struct StripeVerifier {
    pub keys: Vec<Vec<u8>>,
    pub window: i64,
}

impl Verifier for StripeVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let value = req.required(&[HEADER])?;
        let mut timestamp = None;
        let mut candidates = Vec::new();
        let mut other_schemes = false;
        for item in value.split(',') {
            let (k, v) = item
                .trim()
                .split_once('=')
                .ok_or_else(|| VerifyError::malformed("Stripe-Signature", "an element is not key=value"))?;
            match k.trim() {
                "t" => timestamp = Some(v.trim()),
                "v1" if candidates.len() == MAX_CANDIDATES => {
                    return Err(VerifyError::malformed("Stripe-Signature", "more than 16 v1 signatures"));
                }
                "v1" => candidates.push(v.trim()),
                _ => other_schemes = true,
            }
        }
        let t = timestamp.ok_or_else(|| VerifyError::malformed("Stripe-Signature", "no t= element"))?;
        let ts = parse_timestamp(t)?;
        if candidates.is_empty() {
            return Err(if other_schemes {
                VerifyError::new(ErrorKind::NoSupportedScheme, "no v1 signature (v0 is never accepted)")
            } else {
                VerifyError::malformed("Stripe-Signature", "no v1= element")
            });
        }
        let sigs: Vec<Vec<u8>> = candidates.iter().filter_map(|c| hex::decode(c).ok()).collect();
        if !mac::any_key_signed(&self.keys, &[t.as_bytes(), b".", req.body], &sigs, mac::sha256) {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    let t = input.at.to_string();
    let sig = hex::encode(mac::sha256(key, &[t.as_bytes(), b".", input.body]));
    vec![("Stripe-Signature".into(), format!("t={t},v1={sig}"))]
}
