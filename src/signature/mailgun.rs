//! Mailgun: the signature is in the body, not a header: `signature.{timestamp, token,
//! signature}` of a JSON webhook (or the `timestamp`, `token`, `signature` form fields of a
//! legacy one), `signature = hex(HMAC-SHA256(signing key, timestamp + token))`. The rest of
//! the body is not signed; dedupe (on `event-data.id`) is what stops a replayed token.

use serde_json::Value;

use super::{Request, SignInput, Verifier, VerifyError, check_window, mac, parse_timestamp};

pub struct MailgunVerifier {
    pub keys: Vec<Vec<u8>>,
    pub window: i64,
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
        check_window(ts, now, self.window)
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
