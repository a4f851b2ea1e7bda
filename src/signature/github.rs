//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body. The legacy SHA-1
//! `X-Hub-Signature` is accepted only when the source sets `allow_sha1 = true`.

use super::{ErrorKind, Request, SignInput, Verifier, VerifyError, mac};

pub struct GithubVerifier {
    pub keys: Vec<Vec<u8>>,
    pub allow_sha1: bool,
}

impl Verifier for GithubVerifier {
    fn verify(&self, req: &Request<'_>, _now: i64) -> Result<(), VerifyError> {
        if let Some(value) = req.header(&["x-hub-signature-256"]) {
            let sig = decode(value, "sha256=", "X-Hub-Signature-256")?;
            return matches(self.keys.iter().any(|k| mac::verify_sha256(k, &[req.body], &sig)));
        }
        match req.header(&["x-hub-signature"]) {
            Some(value) if self.allow_sha1 => {
                let sig = decode(value, "sha1=", "X-Hub-Signature")?;
                matches(self.keys.iter().any(|k| mac::verify_sha1(k, &[req.body], &sig)))
            }
            Some(_) => Err(VerifyError::new(
                ErrorKind::NoSupportedScheme,
                "only the SHA-1 X-Hub-Signature was sent and allow_sha1 is off",
            )),
            None => Err(VerifyError::missing("X-Hub-Signature-256")),
        }
    }
}

fn decode(value: &str, prefix: &str, header: &str) -> Result<Vec<u8>, VerifyError> {
    let hex_part = value
        .strip_prefix(prefix)
        .ok_or_else(|| VerifyError::malformed(header, &format!("does not start with {prefix}")))?;
    hex::decode(hex_part).map_err(|_| VerifyError::malformed(header, "not hex"))
}

fn matches(ok: bool) -> Result<(), VerifyError> {
    if ok { Ok(()) } else { Err(VerifyError::mismatch()) }
}

pub fn sign(key: &[u8], input: &SignInput<'_>) -> Vec<(String, String)> {
    let sig = hex::encode(mac::sha256(key, &[input.body]));
    vec![
        ("X-Hub-Signature-256".into(), format!("sha256={sig}")),
        ("X-GitHub-Delivery".into(), input.id.to_string()),
    ]
}
