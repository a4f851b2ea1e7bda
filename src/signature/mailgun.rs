//! Mailgun: the signature is in the body, not a header: `signature.{timestamp, token,
//! signature}` of a JSON webhook (or the `timestamp`, `token`, `signature` form fields of a
//! legacy one), `signature = hex(HMAC-SHA256(signing key, timestamp + token))`. The rest of
//! the body is not signed, so each verified token is remembered with its body's hash for
//! the tolerance window: the same token with another body is `invalid_signature` (a
//! captured signature block pasted onto a forged body), the same token with the same body
//! passes (the provider's retry, which dedupe then answers as a duplicate).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;

use super::{ErrorKind, Request, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

/// Tokens remembered at most; past it the oldest go first. Only verified requests are
/// remembered, so only the key's holder can fill it.
const REMEMBERED: usize = 100_000;

pub struct MailgunVerifier {
    keys: Vec<Vec<u8>>,
    window: i64,
    seen: Mutex<Seen>,
}

impl MailgunVerifier {
    pub fn new(keys: Vec<Vec<u8>>, window: i64) -> Self {
        MailgunVerifier {
            keys,
            window,
            seen: Mutex::new(Seen::default()),
        }
    }
}

/// Verified tokens: the body hash each came with and when it stops mattering (the
/// signed timestamp + the window: after that the window refuses the token anyway).
#[derive(Default)]
struct Seen {
    bodies: HashMap<String, (i64, [u8; 32])>,
    order: VecDeque<(i64, String)>,
}

impl Seen {
    /// False when `token` was verified before with another body.
    fn admit(&mut self, token: &str, body: &[u8], expires: i64, now: i64) -> bool {
        while let Some((at, _)) = self.order.front() {
            if *at >= now && self.order.len() < REMEMBERED {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.bodies.remove(&old);
            }
        }
        let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(body).into();
        match self.bodies.get(token) {
            Some((_, known)) => mac::equal(known, &hash),
            None => {
                self.bodies.insert(token.to_string(), (expires, hash));
                self.order.push_back((expires, token.to_string()));
                true
            }
        }
    }
}

/// (timestamp, token, signature) from a JSON or form body.
fn fields(body: &[u8]) -> Result<(String, String, String), VerifyError> {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let found = if let Ok(json) = serde_json::from_slice::<Value>(body) {
        let sig = json.get("signature");
        [
            text(sig.and_then(|s| s.get("timestamp"))),
            text(sig.and_then(|s| s.get("token"))),
            text(sig.and_then(|s| s.get("signature"))),
        ]
    } else {
        let mut f = [None, None, None];
        for (k, v) in form_urlencoded::parse(body) {
            let slot = match k.as_ref() {
                "timestamp" => 0,
                "token" => 1,
                "signature" => 2,
                _ => continue,
            };
            f[slot].get_or_insert_with(|| v.into_owned());
        }
        f
    };
    let [ts, token, sig] = found;
    let missing = |name: &str| VerifyError::missing(&format!("signature.{name} (in the body)"));
    Ok((
        ts.ok_or_else(|| missing("timestamp"))?,
        token.ok_or_else(|| missing("token"))?,
        sig.ok_or_else(|| missing("signature"))?,
    ))
}

impl Verifier for MailgunVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let (t, token, sig) = fields(req.body)?;
        let sig = hex::decode(sig.trim()).map_err(|_| VerifyError::malformed("signature.signature", "not hex"))?;
        let ts = parse_timestamp(t.trim())?;
        if !self
            .keys
            .iter()
            .any(|k| mac::verify_sha256(k, &[t.as_bytes(), token.as_bytes()], &sig))
        {
            return Err(VerifyError::mismatch());
        }
        check_window(ts, now, self.window)?;
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.admit(&token, req.body, ts.saturating_add(self.window), now) {
            Ok(())
        } else {
            Err(VerifyError::new(
                ErrorKind::InvalidSignature,
                "this token was already used with another body",
            ))
        }
    }
}

/// The body with Mailgun's signature set: `signature` object of a JSON body, else form
/// fields appended. The token is the input's id (Mailgun's is 50 random characters).
pub fn sign_body(key: &[u8], input: &SignInput<'_>) -> Vec<u8> {
    let t = input.at.to_string();
    let token = if input.id.is_empty() {
        "inlet-test-token"
    } else {
        input.id
    };
    let sig = hex::encode(mac::sha256(key, &[t.as_bytes(), token.as_bytes()]));
    match serde_json::from_slice::<Value>(input.body) {
        Ok(Value::Object(mut map)) => {
            map.insert(
                "signature".into(),
                serde_json::json!({ "timestamp": t, "token": token, "signature": sig }),
            );
            serde_json::to_vec(&map).unwrap_or_default()
        }
        _ => {
            let mut body = input.body.to_vec();
            let fields = form_urlencoded::Serializer::new(String::new())
                .append_pair("timestamp", &t)
                .append_pair("token", token)
                .append_pair("signature", &sig)
                .finish();
            if !body.is_empty() {
                body.push(b'&');
            }
            body.extend_from_slice(fields.as_bytes());
            body
        }
    }
}
