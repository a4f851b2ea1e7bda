//! The template-HMAC family: a header carries one or more HMACs of a message built from
//! a [`Template`] (the body, a signed timestamp, the URL, other headers). Stripe, Slack,
//! Paddle, GitHub, Shopify, Square, Zoom, Linear and most providers are this family with
//! other parameters; the generic `hmac` scheme is too, from the source's own settings.
//! Owns how a request is checked against the parameters (`hmac_params.rs`): reading the
//! header value, the timestamp, the message, and the KIND of each failure; which provider
//! uses which parameters is its file's.

pub use super::hmac_params::{Algorithm, Encoding, HmacParams, KeyForm, Pairs, Undecodable};
use super::mac;
use super::template::{Missing, Values};
use super::timestamp::TimeSource;
use super::{ErrorKind, KeyError, MAX_CANDIDATES, Request, Secret, SignInput, Verifier, VerifyError, check_window};

pub struct HmacVerifier {
    params: HmacParams,
    keys: Vec<Vec<u8>>,
    window: i64,
    allow_legacy: bool,
    legacy_keys: Vec<Vec<u8>>,
}

impl HmacVerifier {
    pub fn new(params: &HmacParams, secrets: &[Secret], window: i64, allow_legacy: bool) -> Result<Self, KeyError> {
        let legacy_keys = match &params.legacy {
            Some(l) => l.keys(secrets)?,
            None => Vec::new(),
        };
        Ok(HmacVerifier {
            keys: params.keys(secrets)?,
            params: params.clone(),
            window,
            allow_legacy,
            legacy_keys,
        })
    }
}

impl Verifier for HmacVerifier {
    fn verify(&self, req: &Request<'_>, now: i64) -> Result<(), VerifyError> {
        let p = &self.params;
        let value = std::iter::once(&p.header)
            .chain(&p.aliases)
            .find_map(|name| req.header(&[name.as_str()]));
        match (value, &p.legacy) {
            (Some(value), _) => check(p, &self.keys, value, req, now, self.window),
            (None, Some(legacy)) => match req.header(&[legacy.header.as_str()]) {
                Some(value) if self.allow_legacy => check(legacy, &self.legacy_keys, value, req, now, self.window),
                Some(_) => Err(VerifyError::new(
                    ErrorKind::NoSupportedScheme,
                    format!(
                        "only the retired {} was sent, and this source does not allow it",
                        legacy.header
                    ),
                )),
                None => Err(VerifyError::missing(&p.header)),
            },
            (None, None) => Err(VerifyError::missing(&p.header)),
        }
    }
}

/// The signatures a header value lists, and the timestamp element if it has one.
fn candidates<'a>(p: &HmacParams, value: &'a str) -> Result<(Vec<&'a str>, Option<&'a str>), VerifyError> {
    let header = p.header.as_str();
    let value = match &p.prefix {
        Some(prefix) => value
            .strip_prefix(prefix.as_str())
            .ok_or_else(|| VerifyError::malformed(header, &format!("does not start with {prefix}")))?,
        None => value,
    };
    let Some(pairs) = &p.pairs else {
        return Ok((vec![value], None));
    };
    let ts_key = p.timestamp.as_ref().and_then(|t| match &t.source {
        TimeSource::Pair(k) => Some(k.as_str()),
        TimeSource::Header(_) | TimeSource::Body(_) => None,
    });
    let (mut found, mut t, mut retired) = (Vec::new(), None, false);
    for item in value.split(pairs.separator.trim()) {
        let (k, v) = item
            .trim()
            .split_once('=')
            .ok_or_else(|| VerifyError::malformed(header, "an element is not key=value"))?;
        let k = k.trim();
        if Some(k) == ts_key {
            t = Some(v.trim());
        } else if k == pairs.signature {
            if found.len() == MAX_CANDIDATES {
                return Err(VerifyError::malformed(header, "more than 16 signatures"));
            }
            found.push(v.trim());
        } else if pairs.retired.iter().any(|r| r == k) {
            retired = true;
        }
    }
    if let Some(k) = ts_key
        && t.is_none()
    {
        return Err(VerifyError::malformed(header, &format!("no {k}= element")));
    }
    if found.is_empty() {
        return Err(if retired {
            VerifyError::new(
                ErrorKind::NoSupportedScheme,
                format!("no {} signature, only retired versions", pairs.signature),
            )
        } else {
            VerifyError::malformed(header, &format!("no {}= element", pairs.signature))
        });
    }
    Ok((found, t))
}

fn check(
    p: &HmacParams,
    keys: &[Vec<u8>],
    value: &str,
    req: &Request<'_>,
    now: i64,
    window: i64,
) -> Result<(), VerifyError> {
    let (found, pair_t) = candidates(p, value)?;
    let stamp = match &p.timestamp {
        Some(spec) => Some(spec.read(req, pair_t)?),
        None => None,
    };
    // A timestamp in the header is parsed before the MAC; one in the body only after it.
    if let (Some(spec), Some(s)) = (&p.timestamp, &stamp)
        && !matches!(spec.source, TimeSource::Body(_))
    {
        s.seconds.clone()?;
    }
    let sigs: Vec<Vec<u8>> = found.iter().filter_map(|c| p.encoding.decode(c)).collect();
    if sigs.is_empty() && p.undecodable == Undecodable::MalformedHeader {
        return Err(VerifyError::malformed(&p.header, "the signature does not decode"));
    }
    let header = |name: &str| req.header(&[name]);
    let values = Values {
        body: req.body,
        timestamp: stamp.as_ref().map(|s| s.text),
        url: req.url,
        method: req.method,
        header: &header,
    };
    let parts = p.message.render(&values).map_err(|m| match m {
        Missing::Url => VerifyError::new(
            ErrorKind::InvalidSignature,
            "no public URL configured to verify against",
        ),
        Missing::Header(h) => VerifyError::missing(&h),
        Missing::Timestamp => VerifyError::new(ErrorKind::InvalidTimestamp, "no timestamp to verify"),
    })?;
    if !mac::any_key_signed(keys, parts.parts(), &sigs, p.algorithm.compute()) {
        return Err(VerifyError::mismatch());
    }
    match (&p.timestamp, stamp) {
        (Some(spec), Some(s)) => {
            let ts = s.seconds?;
            if spec.past_only && ts > now {
                Ok(())
            } else {
                check_window(ts, now, window)
            }
        }
        _ => Ok(()),
    }
}

/// The headers this provider would send for `input`, signed with `secret`.
pub fn sign(p: &HmacParams, secret: &Secret, input: &SignInput<'_>) -> Result<Vec<(String, String)>, KeyError> {
    let key = p.keys(std::slice::from_ref(secret))?.remove(0);
    let stamp = p.timestamp.as_ref().map(|t| t.format(input.at));
    let extra = |name: &str| {
        input
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let values = Values {
        body: input.body,
        timestamp: stamp.as_deref(),
        url: input.url,
        method: "POST",
        header: &extra,
    };
    let parts = p.message.render(&values).map_err(|m| match m {
        Missing::Url => KeyError::UrlRequired("hmac"),
        Missing::Header(h) => KeyError::Key {
            scheme: "hmac",
            why: format!("the signed header {h} is not among the headers to send"),
        },
        Missing::Timestamp => KeyError::Key {
            scheme: "hmac",
            why: "the template signs a timestamp and the provider names none".into(),
        },
    })?;
    let sig = p.encoding.encode(&(p.algorithm.compute())(&key, parts.parts()));
    let prefix = p.prefix.as_deref().unwrap_or("");
    let mut headers = Vec::new();
    let value = match (&p.pairs, p.timestamp.as_ref().map(|t| &t.source), &stamp) {
        (Some(pairs), Some(TimeSource::Pair(k)), Some(t)) => {
            format!(
                "{prefix}{k}={t}{sep}{s}={sig}",
                sep = pairs.separator,
                s = pairs.signature
            )
        }
        (Some(pairs), _, _) => format!("{prefix}{}={sig}", pairs.signature),
        (None, _, _) => format!("{prefix}{sig}"),
    };
    headers.push((p.header.clone(), value));
    if let (Some(TimeSource::Header(name)), Some(t)) = (p.timestamp.as_ref().map(|t| &t.source), stamp) {
        headers.push((name.clone(), t));
    }
    Ok(headers)
}
