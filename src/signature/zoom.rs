//! Zoom: `x-zm-signature: v0=<hex>` of HMAC-SHA256 over `v0:{x-zm-request-timestamp}:{raw
//! body}` with the secret token; the timestamp window applies both ways. The webhook intake
//! answers `endpoint.url_validation` after this check, with [`encrypted_token`].

use super::{ErrorKind, Request, Secret, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

pub struct ZoomVerifier {
    pub keys: Vec<Vec<u8>>,
    pub window: i64,
}

fn parts(req: &Request<'_>) -> Result<(Vec<u8>, i64, String), VerifyError> {
    let value = req.required(&["x-zm-signature"])?;
    let t = req.required(&["x-zm-request-timestamp"])?;
    let (version, hex_sig) = value
        .split_once('=')
        .ok_or_else(|| VerifyError::malformed("x-zm-signature", "not version=hex"))?;
    if version != "v0" {
        return Err(VerifyError::new(
            ErrorKind::NoSupportedScheme,
            format!("signature version {version:?}"),
        ));
    }
    let sig = hex::decode(hex_sig).map_err(|_| VerifyError::malformed("x-zm-signature", "not hex"))?;
    Ok((sig, parse_timestamp(t)?, t.to_string()))
}

fn signed_by(key: &[u8], req: &Request<'_>, sig: &[u8], t: &str) -> bool {
    mac::verify_sha256(key, &[b"v0:", t.as_bytes(), b":", req.body], sig)
}

impl Verifier for ZoomVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let (sig, ts, t) = parts(req)?;
        if !self.keys.iter().any(|k| signed_by(k, req, &sig, &t)) {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)
    }
}

/// Zoom's URL-validation answer: hex HMAC-SHA256 of `plain` with the secret that signed
/// this (already verified) request.
pub fn encrypted_token(secrets: &[Secret], req: &Request<'_>, plain: &str) -> Option<String> {
    let (sig, _, t) = parts(req).ok()?;
    let key = secrets
        .iter()
        .map(|s| s.expose().as_bytes())
        .find(|k| signed_by(k, req, &sig, &t))?;
    Some(hex::encode(mac::sha256(key, &[plain.as_bytes()])))
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    let t = input.at.to_string();
    let sig = hex::encode(mac::sha256(key, &[b"v0:", t.as_bytes(), b":", input.body]));
    vec![
        ("x-zm-request-timestamp".into(), t),
        ("x-zm-signature".into(), format!("v0={sig}")),
    ]
}
