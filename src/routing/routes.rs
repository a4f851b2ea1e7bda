//! `[[routes]]`: which sources' events, by type glob and payload filter, go to which
//! destinations, and which key (and version) orders a route's deliveries.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::filter::Condition;
use crate::destinations::DestinationSettings;
use crate::domain::settings::{ConfigError, typed};
use crate::domain::values::{Pointer, glob_matches};

#[derive(Debug, Clone)]
pub struct RouteSettings {
    pub from: Vec<String>,
    /// Globs on the event type; `["*"]` when not given. An event without a type matches
    /// only a route that takes all types.
    pub events: Vec<String>,
    pub to: Vec<String>,
    /// Every condition must hold.
    pub filter: Vec<Condition>,
    pub ordering: Option<Ordering>,
}

/// `ordering = { key = "/pointer", version = "/pointer" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering {
    pub key: String,
    pub version: Option<String>,
}

impl RouteSettings {
    /// Source and type only: what can be decided without the payload.
    pub fn matches(&self, source: &str, event_type: Option<&str>) -> bool {
        self.from.iter().any(|s| s == source)
            && match event_type {
                Some(t) => self.events.iter().any(|g| glob_matches(g, t)),
                None => self.events.iter().any(|g| g == "*"),
            }
    }

    /// Whether routing needs the payload parsed (a filter or an ordering key).
    pub fn reads_payload(&self) -> bool {
        !self.filter.is_empty() || self.ordering.is_some()
    }

    /// The filter, on the parsed payload (`None`: not JSON).
    pub fn passes(&self, payload: Option<&serde_json::Value>) -> bool {
        self.filter.iter().all(|c| c.holds(payload))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    from: Vec<String>,
    events: Option<Vec<String>>,
    to: Vec<String>,
    filter: Option<Vec<toml::Value>>,
    ordering: Option<RawOrdering>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrdering {
    key: Pointer,
    version: Option<Pointer>,
}

pub fn parse(
    index: usize,
    value: toml::Value,
    has_source: &dyn Fn(&str) -> bool,
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
        if !has_source(s) {
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
    let filter = raw
        .filter
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, v)| Condition::parse(v, &format!("{prefix}.filter[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RouteSettings {
        from: raw.from,
        events,
        to: raw.to,
        filter,
        ordering: raw.ordering.map(|o| Ordering {
            key: o.key.0,
            version: o.version.map(|v| v.0),
        }),
    })
}
