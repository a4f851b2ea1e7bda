//! Shopify: `X-Shopify-Hmac-Sha256` (or the events webhooks' `shopify-hmac-sha256`), the
//! base64 HMAC-SHA256 of the raw body. Nothing else is signed, not even the headers.

use super::mac::{self, b64};
use super::{Request, SignInput, Verifier, VerifyError};

pub struct ShopifyVerifier {
    pub keys: Vec<Vec<u8>>,
}

impl Verifier for ShopifyVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        let value = req.required(&["x-shopify-hmac-sha256", "shopify-hmac-sha256"])?;
        let sig = b64::decode(value).ok_or_else(|| VerifyError::malformed("X-Shopify-Hmac-Sha256", "not base64"))?;
        if self.keys.iter().any(|k| mac::verify_sha256(k, &[req.body], &sig)) {
            Ok(())
        } else {
            Err(VerifyError::mismatch())
        }
    }
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    vec![
        (
            "X-Shopify-Hmac-Sha256".into(),
            b64::encode(&mac::sha256(key, &[input.body])),
        ),
        ("X-Shopify-Event-Id".into(), input.id.to_string()),
    ]
}
