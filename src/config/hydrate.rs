//! `[sources.NAME.hydrate]`: the provider URL that returns an event's current state, built
//! from the payload with `{POINTER}` placeholders (in the path and query, never the host),
//! with its own headers, `rate_limit` and `timeout`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::values::{Dur, Rate, RateField};
use crate::domain::template::Template;
use crate::signature::Secret;

#[derive(Debug, Clone)]
pub struct HydrateSettings {
    pub url: Template,
    /// The template as it may be shown (password and secret-looking query values masked).
    pub shown_url: String,
    pub headers: Vec<(String, Secret)>,
    pub rate_limit: Option<Rate>,
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHydrate {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    rate_limit: Option<RateField>,
    timeout: Option<Dur>,
}

pub fn parse(raw: RawHydrate, prefix: &str) -> Result<HydrateSettings, ConfigError> {
    let at = |key: &str| format!("{prefix}.hydrate.{key}");
    let rest = raw
        .url
        .strip_prefix("https://")
        .or_else(|| raw.url.strip_prefix("http://"))
        .ok_or_else(|| super::not_http(&raw.url, &at("url")))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('{') {
        return Err(ConfigError::at(
            at("url"),
            "placeholders go in the path and query, never the host",
        ));
    }
    let url = Template::parse(&raw.url).map_err(|e| ConfigError::at(at("url"), e))?;
    let mut headers = Vec::new();
    for (k, v) in raw.headers {
        if http::HeaderName::try_from(k.as_str()).is_err() || http::HeaderValue::try_from(v.as_str()).is_err() {
            return Err(ConfigError::at(at(&format!("headers.{k}")), "is not a valid header"));
        }
        headers.push((k, Secret::new(v)));
    }
    // The placeholders' braces as written, not percent-encoded by the URL parser.
    let shown_url = crate::domain::mask_url(&raw.url)
        .replace("%7B", "{")
        .replace("%7D", "}");
    Ok(HydrateSettings {
        url,
        shown_url,
        headers,
        rate_limit: raw.rate_limit.map(|r| r.0),
        timeout: raw.timeout.map_or(Duration::from_secs(10), |d| d.0),
    })
}
