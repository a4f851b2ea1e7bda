//! Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 over the notification URL
//! followed by the raw body. The URL is the public one from config, exactly as registered.

use super::mac::{self, b64};
use super::{Request, Verifier, VerifyError};

const HEADER: &str = "x-square-hmacsha256-signature";

pub struct SquareVerifier {
    pub keys: Vec<Vec<u8>>,
}

impl Verifier for SquareVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        let value = req.required(&[HEADER])?;
        let sig = b64::decode(value).ok_or_else(|| VerifyError::malformed(HEADER, "not base64"))?;
        let url = req.url()?;
        if self
            .keys
            .iter()
            .any(|k| mac::verify_sha256(k, &[url.as_bytes(), req.body], &sig))
        {
            Ok(())
        } else {
            Err(VerifyError::mismatch())
        }
    }
}

pub fn sign(key: &[u8], url: &str, body: &[u8]) -> Vec<(String, String)> {
    vec![(HEADER.into(), b64::encode(&mac::sha256(key, &[url.as_bytes(), body])))]
}
