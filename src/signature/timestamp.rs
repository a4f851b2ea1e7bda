//! Where a template-HMAC provider's signed timestamp is (an element of the signature
//! header, a header of its own, a body field), its unit, and its replay window. Reading a
//! timestamp keeps the text exactly as received, since that is what was signed.

use serde::Deserialize;
use serde_json::Value;

use super::{ErrorKind, Request, VerifyError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeSource {
    /// An element of the signature header (`t` in `t=…,v1=…`).
    Pair(String),
    /// A header of its own (`X-Slack-Request-Timestamp`).
    Header(String),
    /// A JSON pointer into the body (`/webhookTimestamp`), read after the signature.
    Body(String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    #[default]
    Seconds,
    Millis,
    /// An RFC 3339 instant (`2026-12-01T10:11:12Z`).
    Rfc3339,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimestamp {
    pair: Option<String>,
    header: Option<String>,
    body: Option<String>,
    #[serde(default)]
    unit: Unit,
    /// Seconds either side of now; 300 unless the provider says otherwise.
    tolerance: Option<u64>,
    /// The provider's SDK refuses only old timestamps, never future ones.
    #[serde(default)]
    past_only: bool,
}

/// A signed timestamp's place, unit and window.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawTimestamp")]
pub struct TimestampSpec {
    pub source: TimeSource,
    pub unit: Unit,
    pub tolerance: u64,
    pub past_only: bool,
}

impl TryFrom<RawTimestamp> for TimestampSpec {
    type Error = String;

    fn try_from(r: RawTimestamp) -> Result<Self, String> {
        let source = match (r.pair, r.header, r.body) {
            (Some(p), None, None) => TimeSource::Pair(p),
            (None, Some(h), None) => TimeSource::Header(h),
            (None, None, Some(b)) if b.starts_with('/') => TimeSource::Body(b),
            _ => return Err("a timestamp names exactly one of pair, header or body (a /pointer)".into()),
        };
        Ok(TimestampSpec {
            source,
            unit: r.unit,
            tolerance: r.tolerance.unwrap_or(300),
            past_only: r.past_only,
        })
    }
}

/// A timestamp as read from a request: the signed text and what it means.
pub struct Stamp<'a> {
    pub text: &'a str,
    pub seconds: Result<i64, VerifyError>,
}

impl TimestampSpec {
    /// Reads the timestamp; `pair` is the header element already split out, if any.
    pub fn read<'a>(&self, req: &Request<'a>, pair: Option<&'a str>) -> Result<Stamp<'a>, VerifyError> {
        match &self.source {
            TimeSource::Pair(_) => {
                let text = pair.unwrap_or_default();
                Ok(Stamp {
                    text,
                    seconds: self.parse(text),
                })
            }
            TimeSource::Header(name) => {
                let text = req.header(&[name.as_str()]).ok_or_else(|| VerifyError::missing(name))?;
                Ok(Stamp {
                    text,
                    seconds: self.parse(text),
                })
            }
            TimeSource::Body(pointer) => {
                let found = serde_json::from_slice::<Value>(req.body)
                    .ok()
                    .and_then(|b| b.pointer(pointer).cloned());
                let seconds = match found {
                    Some(Value::Number(n)) => self.parse(&n.to_string()),
                    Some(Value::String(s)) => self.parse(&s),
                    _ => Err(VerifyError::new(
                        ErrorKind::InvalidTimestamp,
                        format!("the body has no timestamp at {pointer}"),
                    )),
                };
                Ok(Stamp { text: "", seconds })
            }
        }
    }

    fn parse(&self, text: &str) -> Result<i64, VerifyError> {
        let bad = || {
            VerifyError::new(
                ErrorKind::InvalidTimestamp,
                format!("not a timestamp in {:?}", self.unit),
            )
        };
        match self.unit {
            Unit::Seconds => text.trim().parse::<i64>().map_err(|_| bad()),
            Unit::Millis => text
                .trim()
                .parse::<i64>()
                .map(|ms| ms.div_euclid(1000))
                .map_err(|_| bad()),
            Unit::Rfc3339 => chrono::DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.timestamp())
                .map_err(|_| bad()),
        }
    }

    /// The text a provider would send for `at` (unix seconds).
    pub fn format(&self, at: i64) -> String {
        match self.unit {
            Unit::Seconds => at.to_string(),
            Unit::Millis => at.saturating_mul(1000).to_string(),
            Unit::Rfc3339 => chrono::DateTime::from_timestamp(at, 0)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}
