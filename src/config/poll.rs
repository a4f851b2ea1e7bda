//! `[sources.NAME]` with `kind = "poll"`: what to GET, where the items, ids, types and the
//! cursor are in the answer, how pages follow each other (and how many one run may read),
//! and how often to ask. Validation refuses settings with no effect, and a `lookback` on a
//! cursor that cannot be moved back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::hydrate::{HydrateSettings, RawHydrate};
use super::values::{Dur, Pointer, Rate, RateField};
use super::{ConfigError, typed};
use crate::signature::Secret;

/// A poll source. Its `Debug` shows the URL masked (`url::Url`'s own would print a
/// userinfo password).
#[derive(Clone)]
pub struct PollSource {
    pub name: String,
    /// The URL without its query string: the query is in [`PollSource::query`].
    pub url: url::Url,
    /// Sent on every request of the source, to its own host only.
    pub headers: Vec<(String, Secret)>,
    /// The url's own query merged with `query` (which wins), in order.
    pub query: Vec<(String, Secret)>,
    pub interval: Duration,
    pub idle_interval: Duration,
    pub timeout: Duration,
    pub rate_limit: Option<Rate>,
    /// Pointer to the array of items in each answer ("" = the answer is the array).
    pub items: String,
    pub id: String,
    pub event_type: EventTypeSpec,
    pub version: Option<String>,
    pub occurred_at: Option<String>,
    pub cursor: Option<CursorSettings>,
    pub pagination: Pagination,
    /// The most pages one run reads; the run then ends as if that page were the last.
    pub max_pages: u32,
    pub dedupe_group: String,
    pub hydrate: Option<HydrateSettings>,
}

impl std::fmt::Debug for PollSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollSource")
            .field("name", &self.name)
            .field("url", &crate::domain::mask_url(self.url.as_str()))
            .field("headers", &self.headers)
            .field("query", &self.query)
            .field("interval", &self.interval)
            .field("idle_interval", &self.idle_interval)
            .field("timeout", &self.timeout)
            .field("rate_limit", &self.rate_limit)
            .field("items", &self.items)
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("version", &self.version)
            .field("occurred_at", &self.occurred_at)
            .field("cursor", &self.cursor)
            .field("pagination", &self.pagination)
            .field("max_pages", &self.max_pages)
            .field("dedupe_group", &self.dedupe_group)
            .field("hydrate", &self.hydrate)
            .finish()
    }
}

impl PollSource {
    /// The URL with its query as it may be shown: password and secret-looking query values
    /// masked ([`crate::domain::mask_url`]).
    pub fn shown_url(&self) -> String {
        let mut url = self.url.clone();
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (k.as_str(), v.expose())));
        }
        crate::domain::mask_url(url.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTypeSpec {
    None,
    Pointer(String),
    Literal(String),
}

#[derive(Debug, Clone)]
pub struct CursorSettings {
    /// The query parameter the cursor is sent in.
    pub param: String,
    /// Pointer, per item, to the value the cursor advances over.
    pub field: String,
    /// The cursor of the first run; without it the first run sends no cursor.
    pub initial: Option<Value>,
    pub lookback: Duration,
    pub unit: CursorUnit,
}

pub use crate::domain::CursorUnit;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pagination {
    /// One request per run.
    None,
    /// `param` = `field` of the last item; stops when `has_more` is false (or on an empty page).
    Cursor {
        param: String,
        field: String,
        has_more: Option<String>,
    },
    /// The next page's URL is at `field` in the answer.
    NextUrl { field: String },
    /// RFC 8288 `Link: <…>; rel="next"`.
    LinkHeader,
    /// `param` = 1, 2, … (from `start`) until an empty page.
    Page { param: String, start: u64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    #[allow(dead_code)]
    kind: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    query: BTreeMap<String, toml::Value>,
    interval: Option<Dur>,
    idle_interval: Option<Dur>,
    timeout: Option<Dur>,
    rate_limit: Option<RateField>,
    items: Pointer,
    id: Pointer,
    event_type: Option<Pointer>,
    event_type_literal: Option<String>,
    version: Option<Pointer>,
    occurred_at: Option<Pointer>,
    cursor: Option<RawCursor>,
    pagination: Option<RawPagination>,
    max_pages: Option<u32>,
    dedupe_group: Option<String>,
    hydrate: Option<RawHydrate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCursor {
    param: String,
    field: Pointer,
    initial: Option<toml::Value>,
    lookback: Option<Dur>,
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPagination {
    kind: String,
    param: Option<String>,
    field: Option<Pointer>,
    has_more: Option<Pointer>,
    start: Option<u64>,
}

pub fn parse(name: &str, value: toml::Value) -> Result<PollSource, ConfigError> {
    let at = |key: &str| format!("sources.{name}.{key}");
    let raw: RawPoll = typed(value, &format!("sources.{name}"))?;
    let mut url = url::Url::parse(&raw.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| super::not_http(&raw.url, &at("url")))?;
    let mut query: Vec<(String, Secret)> = url
        .query_pairs()
        .filter(|(k, _)| !raw.query.contains_key(k.as_ref()))
        .map(|(k, v)| (k.into_owned(), Secret::new(v.into_owned())))
        .collect();
    for (k, v) in raw.query {
        let text = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(ConfigError::at(
                    at(&format!("query.{k}")),
                    "must be a string or a number",
                ));
            }
        };
        query.push((k, Secret::new(text)));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut headers = Vec::new();
    for (k, v) in raw.headers {
        if http::HeaderName::try_from(k.as_str()).is_err() {
            return Err(ConfigError::at(at("headers"), format!("{k:?} is not a header name")));
        }
        if http::HeaderValue::try_from(v.as_str()).is_err() {
            return Err(ConfigError::at(
                at(&format!("headers.{k}")),
                "is not a valid header value",
            ));
        }
        headers.push((k, Secret::new(v)));
    }

    let interval = raw.interval.map_or(Duration::from_secs(30), |d| d.0);
    if interval < Duration::from_secs(1) {
        return Err(ConfigError::at(at("interval"), "must be at least 1s"));
    }
    let idle_interval = match raw.idle_interval {
        Some(d) if d.0 < interval => {
            return Err(ConfigError::at(
                at("idle_interval"),
                "must not be shorter than interval",
            ));
        }
        Some(d) => d.0,
        None => interval.max(Duration::from_secs(300)),
    };
    let timeout = raw.timeout.map_or(Duration::from_secs(10), |d| d.0);
    if timeout.is_zero() {
        return Err(ConfigError::at(at("timeout"), "must be more than 0s"));
    }
    let max_pages = raw.max_pages.unwrap_or(1000);
    if max_pages == 0 {
        return Err(ConfigError::at(at("max_pages"), "must be at least 1"));
    }
    let event_type = match (raw.event_type, raw.event_type_literal) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::at(
                at("event_type_literal"),
                "give either event_type (a pointer) or event_type_literal, not both",
            ));
        }
        (Some(p), None) => EventTypeSpec::Pointer(p.0),
        (None, Some(l)) => EventTypeSpec::Literal(l),
        (None, None) => EventTypeSpec::None,
    };
    Ok(PollSource {
        name: name.to_string(),
        url,
        headers,
        query,
        interval,
        idle_interval,
        timeout,
        rate_limit: raw.rate_limit.map(|r| r.0),
        items: raw.items.0,
        id: raw.id.0,
        event_type,
        // `version = ""` (the whole item) would make every change of any field a new key
        // and is how the documented template says "none".
        version: raw.version.map(|p| p.0).filter(|p| !p.is_empty()),
        occurred_at: raw.occurred_at.map(|p| p.0),
        cursor: raw.cursor.map(|c| cursor(c, &at)).transpose()?,
        pagination: pagination(raw.pagination, &at)?,
        max_pages,
        dedupe_group: raw.dedupe_group.unwrap_or_else(|| name.to_string()),
        hydrate: raw
            .hydrate
            .map(|h| super::hydrate::parse(h, &format!("sources.{name}")))
            .transpose()?,
    })
}

fn cursor(raw: RawCursor, at: &dyn Fn(&str) -> String) -> Result<CursorSettings, ConfigError> {
    if raw.param.trim().is_empty() {
        return Err(ConfigError::at(at("cursor.param"), "must not be empty"));
    }
    let unit = match raw.unit.as_deref() {
        None | Some("s") => CursorUnit::Seconds,
        Some("ms") => CursorUnit::Millis,
        Some(u) => {
            return Err(ConfigError::at(
                at("cursor.unit"),
                format!("{u:?}: use \"s\" or \"ms\""),
            ));
        }
    };
    let initial = match raw.initial {
        None => None,
        Some(toml::Value::String(s)) => Some(Value::String(s)),
        Some(toml::Value::Integer(i)) => Some(Value::from(i)),
        Some(_) => return Err(ConfigError::at(at("cursor.initial"), "must be a string or an integer")),
    };
    let lookback = raw.lookback.map_or(Duration::ZERO, |d| d.0);
    if !lookback.is_zero()
        && let Some(v) = &initial
        && crate::domain::CursorValue::new(v.clone())
            .moved_back(lookback, unit)
            .is_none()
    {
        return Err(ConfigError::at(
            at("cursor.lookback"),
            "needs a numeric (unix time) or RFC 3339 cursor; the initial value is neither",
        ));
    }
    Ok(CursorSettings {
        param: raw.param,
        field: raw.field.0,
        initial,
        lookback,
        unit,
    })
}

fn pagination(raw: Option<RawPagination>, at: &dyn Fn(&str) -> String) -> Result<Pagination, ConfigError> {
    let Some(raw) = raw else { return Ok(Pagination::None) };
    let kind = raw.kind.clone();
    let no_effect = |key: &str, present: bool| -> Result<(), ConfigError> {
        if present {
            Err(ConfigError::at(
                at(&format!("pagination.{key}")),
                format!("has no effect with pagination kind {kind:?}"),
            ))
        } else {
            Ok(())
        }
    };
    let need = |key: &str, v: Option<String>| {
        v.filter(|s| !s.is_empty() || key == "field").ok_or_else(|| {
            ConfigError::at(
                at(&format!("pagination.{key}")),
                format!("is required with pagination kind {kind:?}"),
            )
        })
    };
    let (param, field, has_more, start) = (raw.param, raw.field.map(|p| p.0), raw.has_more.map(|p| p.0), raw.start);
    match raw.kind.as_str() {
        "none" => {
            no_effect("param", param.is_some())?;
            no_effect("field", field.is_some())?;
            no_effect("has_more", has_more.is_some())?;
            no_effect("start", start.is_some())?;
            Ok(Pagination::None)
        }
        "cursor" => {
            no_effect("start", start.is_some())?;
            Ok(Pagination::Cursor {
                param: need("param", param)?,
                field: need("field", field)?,
                has_more,
            })
        }
        "next_url" => {
            no_effect("param", param.is_some())?;
            no_effect("has_more", has_more.is_some())?;
            no_effect("start", start.is_some())?;
            Ok(Pagination::NextUrl {
                field: need("field", field)?,
            })
        }
        "link_header" => {
            no_effect("param", param.is_some())?;
            no_effect("field", field.is_some())?;
            no_effect("has_more", has_more.is_some())?;
            no_effect("start", start.is_some())?;
            Ok(Pagination::LinkHeader)
        }
        "page" => {
            no_effect("field", field.is_some())?;
            no_effect("has_more", has_more.is_some())?;
            Ok(Pagination::Page {
                param: need("param", param)?,
                start: start.unwrap_or(1),
            })
        }
        other => Err(ConfigError::at(
            at("pagination.kind"),
            format!("unknown kind {other:?}: use none, cursor, next_url, link_header or page"),
        )),
    }
}
