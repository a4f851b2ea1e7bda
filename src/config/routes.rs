//! `[[routes]]`: which sources' events, by type glob, go to which destinations.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::values::glob_matches;
use super::{ConfigError, DestinationSettings, SourceSettings, typed};

#[derive(Debug, Clone)]
pub struct RouteSettings {
    pub from: Vec<String>,
    /// Globs on the event type; `["*"]` when not given. An event without a type matches
    /// only a route that takes all types.
    pub events: Vec<String>,
    pub to: Vec<String>,
}

impl RouteSettings {
    pub fn matches(&self, source: &str, event_type: Option<&str>) -> bool {
        self.from.iter().any(|s| s == source)
            && match event_type {
                Some(t) => self.events.iter().any(|g| glob_matches(g, t)),
                None => self.events.iter().any(|g| g == "*"),
            }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    from: Vec<String>,
    events: Option<Vec<String>>,
    to: Vec<String>,
}

pub fn parse(
    index: usize,
    value: toml::Value,
    sources: &BTreeMap<String, SourceSettings>,
    destinations: &BTreeMap<String, DestinationSettings>,
) -> Result<RouteSettings, ConfigError> {
    let prefix = format!("routes[{index}]");
    let raw: RawRoute = typed(value, &prefix)?;
    if raw.from.is_empty() {
        return Err(ConfigError::at(format!("{prefix}.from"), "names no source"));
    }
    if raw.to.is_empty() {
        return Err(ConfigError::at(format!("{prefix}.to"), "names no destination"));
    }
    for (i, s) in raw.from.iter().enumerate() {
        if !sources.contains_key(s) {
            return Err(ConfigError::at(
                format!("{prefix}.from[{i}]"),
                format!("no source named {s:?}"),
            ));
        }
    }
    for (i, d) in raw.to.iter().enumerate() {
        if !destinations.contains_key(d) {
            return Err(ConfigError::at(
                format!("{prefix}.to[{i}]"),
                format!("no destination named {d:?}"),
            ));
        }
    }
    let events = raw.events.unwrap_or_else(|| vec!["*".into()]);
    if events.is_empty() {
        return Err(ConfigError::at(
            format!("{prefix}.events"),
            "an empty list matches nothing; leave it out to match all",
        ));
    }
    Ok(RouteSettings {
        from: raw.from,
        events,
        to: raw.to,
    })
}
