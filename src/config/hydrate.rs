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
        .ok_or_else(|| ConfigError::at(at("url"), format!("{:?} is not an http:// or https:// URL", raw.url)))?;
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
    Ok(HydrateSettings {
        url,
        headers,
        rate_limit: raw.rate_limit.map(|r| r.0),
        timeout: raw.timeout.map_or(Duration::from_secs(10), |d| d.0),
    })
}
