//! Paddle Billing: `Paddle-Signature: ts=…;h1=…[;h1=…]` over `{ts}:{body}`, HMAC-SHA256
//! hex keyed with the whole secret string. Unknown keys (a future `h2`) are ignored.

use super::{ErrorKind, MAX_CANDIDATES, Request, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

pub struct PaddleVerifier {
    pub keys: Vec<Vec<u8>>,
    pub window: i64,
}

impl Verifier for PaddleVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let value = req.required(&["paddle-signature"])?;
        let mut ts = None;
        let mut candidates = Vec::new();
        for item in value.split(';') {
            let (k, v) = item
                .trim()
                .split_once('=')
                .ok_or_else(|| VerifyError::malformed("Paddle-Signature", "an element is not key=value"))?;
            match k.trim() {
                "ts" => ts = Some(v.trim()),
                "h1" if candidates.len() == MAX_CANDIDATES => {
                    return Err(VerifyError::malformed("Paddle-Signature", "more than 16 h1 signatures"));
                }
                "h1" => candidates.push(v.trim()),
                _ => {}
            }
        }
        let t = ts.ok_or_else(|| VerifyError::malformed("Paddle-Signature", "no ts= element"))?;
        let ts = parse_timestamp(t)?;
        if candidates.is_empty() {
            return Err(VerifyError::new(ErrorKind::NoSupportedScheme, "no h1 signature"));
        }
        let sigs: Vec<Vec<u8>> = candidates.iter().filter_map(|c| hex::decode(c).ok()).collect();
        if !mac::any_key_signed(&self.keys, &[t.as_bytes(), b":", req.body], &sigs, mac::sha256) {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    let t = input.at.to_string();
    let sig = hex::encode(mac::sha256(key, &[t.as_bytes(), b":", input.body]));
    vec![("Paddle-Signature".into(), format!("ts={t};h1={sig}"))]
}
