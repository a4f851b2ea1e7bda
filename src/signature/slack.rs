//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`,
//! HMAC-SHA256 with the signing secret; the timestamp window applies both ways.

use super::{ErrorKind, Request, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

pub struct SlackVerifier {
    pub keys: Vec<Vec<u8>>,
    pub window: i64,
}

impl Verifier for SlackVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let value = req.required(&["x-slack-signature"])?;
        let t = req.required(&["x-slack-request-timestamp"])?;
        let (version, hex_sig) = value
            .split_once('=')
            .ok_or_else(|| VerifyError::malformed("X-Slack-Signature", "not version=hex"))?;
        let ts = parse_timestamp(t)?;
        if version != "v0" {
            return Err(VerifyError::new(
                ErrorKind::NoSupportedScheme,
                format!("signature version {version:?}"),
            ));
        }
        let sig = hex::decode(hex_sig).map_err(|_| VerifyError::malformed("X-Slack-Signature", "not hex"))?;
        let ok = self
            .keys
            .iter()
            .any(|k| mac::verify_sha256(k, &[b"v0:", t.as_bytes(), b":", req.body], &sig));
        if !ok {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    let t = input.at.to_string();
    let sig = hex::encode(mac::sha256(key, &[b"v0:", t.as_bytes(), b":", input.body]));
    vec![
        ("X-Slack-Request-Timestamp".into(), t),
        ("X-Slack-Signature".into(), format!("v0={sig}")),
    ]
}
