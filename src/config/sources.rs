//! `[sources.NAME]`: dispatch on `kind`, and webhook sources, validated per scheme so that a
//! setting with no effect is an error rather than silently ignored (poll sources: `poll.rs`).

use std::time::Duration;

use serde::Deserialize;

use super::hydrate::{HydrateSettings, RawHydrate};
use super::poll::PollSource;
use super::values::{Dur, Pointer};
use super::{ConfigError, ServerSettings, check_url, typed};
use crate::providers::{self, Handshake, SchemeSpec};
use crate::signature::{Family, HmacSpec, Secret};

/// A configured source: one that is called (webhook) or one that calls (poll).
// A handful per config, built once: their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SourceSettings {
    Webhook(WebhookSource),
    Poll(PollSource),
}

impl SourceSettings {
    pub fn dedupe_group(&self) -> &str {
        match self {
            SourceSettings::Webhook(w) => &w.dedupe_group,
            SourceSettings::Poll(p) => &p.dedupe_group,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SourceSettings::Webhook(_) => "webhook",
            SourceSettings::Poll(_) => "poll",
        }
    }
}

/// A webhook source: how to verify it and where its id, type and times are.
#[derive(Debug, Clone)]
pub struct WebhookSource {
    pub name: String,
    pub spec: SchemeSpec,
    pub secrets: Vec<Secret>,
    pub tolerance: Option<Duration>,
    pub dedupe_group: String,
    pub id: Option<String>,
    pub event_type: Option<String>,
    pub version: Option<String>,
    pub occurred_at: Option<String>,
    pub id_header: Option<String>,
    pub type_header: Option<String>,
    /// The exact URL the provider signs (twilio, square): the source's own, else
    /// `server.public_url` + the request path and query.
    pub public_url: Option<String>,
    /// Meta's `hub.verify_token`, for its GET handshake.
    pub verify_token: Option<Secret>,
    pub hydrate: Option<HydrateSettings>,
    /// No event for this long opens a `silent` alert (and runs the group's poll sources).
    pub silence: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    #[allow(dead_code)]
    kind: String,
    scheme: String,
    secrets: Option<Vec<String>>,
    tolerance: Option<Dur>,
    dedupe_group: Option<String>,
    id: Option<Pointer>,
    event_type: Option<Pointer>,
    version: Option<Pointer>,
    occurred_at: Option<Pointer>,
    allow_unsigned: Option<bool>,
    allow_sha1: Option<bool>,
    public_url: Option<String>,
    header: Option<String>,
    algorithm: Option<String>,
    encoding: Option<String>,
    prefix: Option<String>,
    id_header: Option<String>,
    type_header: Option<String>,
    verify_token: Option<String>,
    hydrate: Option<RawHydrate>,
    silence: Option<Dur>,
}

pub fn parse(name: &str, value: toml::Value, server: &ServerSettings) -> Result<SourceSettings, ConfigError> {
    let at = |key: &str| format!("sources.{name}.{key}");
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("webhook")
        .to_string();
    match kind.as_str() {
        "webhook" => {}
        "poll" => return super::poll::parse(name, value).map(SourceSettings::Poll),
        other => {
            return Err(ConfigError::at(
                at("kind"),
                format!("unknown kind {other:?}: use \"webhook\" or \"poll\""),
            ));
        }
    }
    let mut value = value;
    if let toml::Value::Table(t) = &mut value {
        t.entry("kind").or_insert_with(|| toml::Value::String("webhook".into()));
    }
    let raw: RawWebhook = typed(value, &format!("sources.{name}"))?;
    let registry = providers::registry();
    let provider = providers::find(&raw.scheme).ok_or_else(|| {
        let names: Vec<_> = registry.providers.iter().map(|p| p.name.as_str()).collect();
        let broken = match registry.errors.iter().find(|(n, _)| *n == raw.scheme) {
            Some((_, why)) => format!(" (its built-in file does not load: {why})"),
            None => String::new(),
        };
        ConfigError::at(
            at("scheme"),
            format!("unknown scheme {:?}{broken}; one of {}", raw.scheme, names.join(", ")),
        )
    })?;
    let scheme = provider.name.as_str();
    let no_effect = |key: &str, present: bool| -> Result<(), ConfigError> {
        if present {
            Err(ConfigError::at(
                at(key),
                format!("has no effect with scheme {scheme:?}"),
            ))
        } else {
            Ok(())
        }
    };
    let unsigned = matches!(provider.verify, Family::None);
    no_effect(
        "tolerance",
        raw.tolerance.is_some() && provider.verify.default_tolerance().is_none(),
    )?;
    no_effect("allow_sha1", raw.allow_sha1.is_some() && !provider.verify.has_legacy())?;
    no_effect("allow_unsigned", raw.allow_unsigned.is_some() && !unsigned)?;
    no_effect("public_url", raw.public_url.is_some() && !provider.verify.needs_url())?;
    no_effect(
        "verify_token",
        raw.verify_token.is_some() && !provider.handshakes.contains(&Handshake::MetaVerifyToken),
    )?;
    for (key, present) in [
        ("header", raw.header.is_some()),
        ("algorithm", raw.algorithm.is_some()),
        ("encoding", raw.encoding.is_some()),
        ("prefix", raw.prefix.is_some()),
        ("id_header", raw.id_header.is_some()),
        ("type_header", raw.type_header.is_some()),
    ] {
        no_effect(key, present && !provider.configurable)?;
    }
    if raw.id.is_some() && raw.id_header.is_some() {
        return Err(ConfigError::at(
            at("id_header"),
            "give either id (a body pointer) or id_header, not both",
        ));
    }
    if raw.event_type.is_some() && raw.type_header.is_some() {
        return Err(ConfigError::at(
            at("type_header"),
            "give either event_type (a body pointer) or type_header, not both",
        ));
    }
    if raw.version.is_some() && raw.id.is_none() {
        return Err(ConfigError::at(
            at("version"),
            "needs an id pointer: the dedupe key is id@version",
        ));
    }

    if unsigned && raw.allow_unsigned != Some(true) {
        return Err(ConfigError::at(
            at("allow_unsigned"),
            "scheme \"none\" accepts unsigned requests only with allow_unsigned = true",
        ));
    }
    let spec = SchemeSpec::of_provider(provider);
    let spec = if provider.configurable {
        let settings = HmacSpec::parse(
            raw.header.as_deref(),
            raw.algorithm.as_deref(),
            raw.encoding.as_deref(),
            raw.prefix.as_deref(),
        )
        .map_err(|(field, message)| ConfigError::at(at(field.key()), message))?;
        spec.with_hmac(settings)
    } else {
        spec.allowing_legacy(raw.allow_sha1.unwrap_or(false))
    };

    let secrets = raw.secrets.unwrap_or_default();
    if unsigned {
        no_effect("secrets", !secrets.is_empty())?;
    } else if secrets.is_empty() {
        return Err(ConfigError::at(at("secrets"), "at least one secret is required"));
    }
    let secrets: Vec<Secret> = secrets
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if s.trim().is_empty() {
                Err(ConfigError::at(
                    format!("sources.{name}.secrets[{i}]"),
                    "must not be empty",
                ))
            } else {
                Ok(Secret::new(s))
            }
        })
        .collect::<Result<_, _>>()?;
    // Build once here so that unusable keys (a bad whsec_) are config errors, not 500s.
    if let Err(e) = spec.verifier(&secrets, None) {
        return Err(ConfigError::at(at("secrets"), e.to_string()));
    }

    let public_url = raw.public_url.map(|u| check_url(&u, &at("public_url"))).transpose()?;
    if spec.needs_url() && public_url.is_none() && server.public_url.is_none() {
        return Err(ConfigError::at(
            at("public_url"),
            format!("scheme {scheme:?} signs the URL it calls: set server.public_url or this source's public_url"),
        ));
    }
    let silence = raw.silence.map(|d| d.0);
    if silence.is_some_and(|d| d < std::time::Duration::from_secs(1)) {
        return Err(ConfigError::at(at("silence"), "must be at least 1s"));
    }
    Ok(SourceSettings::Webhook(WebhookSource {
        name: name.to_string(),
        spec,
        secrets,
        tolerance: raw.tolerance.map(|d| d.0),
        dedupe_group: raw.dedupe_group.unwrap_or_else(|| name.to_string()),
        id: raw.id.map(|p| p.0),
        event_type: raw.event_type.map(|p| p.0),
        version: raw.version.map(|p| p.0),
        occurred_at: raw.occurred_at.map(|p| p.0),
        id_header: raw.id_header.map(|h| h.to_ascii_lowercase()),
        type_header: raw.type_header.map(|h| h.to_ascii_lowercase()),
        public_url,
        verify_token: raw.verify_token.map(Secret::new),
        hydrate: raw
            .hydrate
            .map(|h| super::hydrate::parse(h, &format!("sources.{name}")))
            .transpose()?,
        silence,
    }))
}
