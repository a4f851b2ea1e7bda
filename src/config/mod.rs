//! `inlet.toml`: reading, `${NAME}` interpolation, and validation into typed [`Settings`].
//!
//! Every error names the key path it is about (`sources.stripe.tolerance: …`). Unknown keys
//! and settings that would have no effect are errors. This module owns the file format; the
//! subsystems receive the typed settings and never see TOML.

pub use crate::routing::filter;
mod alerts;
mod hydrate;
mod poll;
mod sources;
pub use crate::domain::values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::signature::Secret;

pub use crate::destinations::{CircuitSettings, DestinationKind, DestinationSettings, Format};
pub use crate::domain::settings::{ConfigError, check_url, not_http, typed};
pub use crate::routing::{Ordering, RouteSettings};
pub use alerts::AlertSettings;
pub use hydrate::HydrateSettings;
pub use poll::{CursorSettings, CursorUnit, EventTypeSpec, Pagination, PollSource};
pub use sources::{SourceSettings, WebhookSource};
use values::{Dur, Size};

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub admin: AdminSettings,
    pub storage: StorageSettings,
    pub sources: BTreeMap<String, SourceSettings>,
    pub destinations: BTreeMap<String, DestinationSettings>,
    pub routes: Vec<RouteSettings>,
    pub alerts: AlertSettings,
    pub telemetry: TelemetrySettings,
}

/// `[telemetry]`: where traces go (OTLP over HTTP); without an endpoint nothing is built.
#[derive(Debug, Clone, Default)]
pub struct TelemetrySettings {
    /// The collector's base URL (`http://127.0.0.1:4318`); spans go to `/v1/traces` under it.
    pub otlp: Option<String>,
    /// `None`: `OTEL_SERVICE_NAME`, else `inlet`.
    pub service_name: Option<String>,
}

impl TelemetrySettings {
    /// What the file leaves out, from the OpenTelemetry variables of `env`
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`).
    pub fn with_env(mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        if self.otlp.is_none()
            && let Some(url) = env("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|u| !u.is_empty())
        {
            self.otlp = Some(check_url(&url, "OTEL_EXPORTER_OTLP_ENDPOINT")?);
        }
        if self.service_name.is_none() {
            self.service_name = env("OTEL_SERVICE_NAME").filter(|n| !n.is_empty());
        }
        Ok(self)
    }

    pub fn service(&self) -> &str {
        self.service_name.as_deref().unwrap_or("inlet")
    }
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub max_body: u64,
    pub public_url: Option<String>,
    pub shutdown_timeout: Duration,
    /// How long a client may take to send its headers, and separately its body.
    pub read_timeout: Duration,
    /// Open connections on the ingest listener at most; more wait in the accept queue.
    pub max_connections: usize,
    /// Bytes of request bodies being read at once, over every ingest request; a body that
    /// would go over it is answered 503 with `Retry-After`.
    pub max_inflight_body: u64,
    /// Bytes all rejected-request records together keep at most (oldest pruned first).
    pub rejected_keep: u64,
}

#[derive(Debug, Clone)]
pub struct AdminSettings {
    pub listen: SocketAddr,
    pub token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct StorageSettings {
    /// The SQLite file (the default backend); unused when `postgres_url` is set.
    pub sqlite_path: PathBuf,
    /// `postgres://…`: several nodes share this database. Holds a password: never printed.
    pub postgres_url: Option<Secret>,
    pub retention: Duration,
    /// A node not heard from for this long is dead and its leases are free (PostgreSQL).
    pub node_timeout: Duration,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    admin: RawAdmin,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    sources: BTreeMap<String, toml::Value>,
    #[serde(default)]
    destinations: BTreeMap<String, toml::Value>,
    #[serde(default)]
    routes: Vec<toml::Value>,
    #[serde(default)]
    alerts: alerts::RawAlerts,
    #[serde(default)]
    telemetry: RawTelemetry,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    otlp: Option<String>,
    service_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    max_body: Option<Size>,
    public_url: Option<String>,
    shutdown_timeout: Option<Dur>,
    read_timeout: Option<Dur>,
    max_connections: Option<u64>,
    max_inflight_body: Option<Size>,
    rejected_keep: Option<Size>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    listen: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    url: Option<String>,
    retention: Option<Dur>,
    node_timeout: Option<Dur>,
}

impl Settings {
    /// Reads and validates the file at `path`, with `${NAME}` taken from the environment.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::at("", format!("cannot read {}: {e}", path.display())))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let env = |name: &str| std::env::var(name).ok();
        let mut settings = Settings::parse(&text, dir, &env)?;
        settings.telemetry = settings.telemetry.with_env(&env)?;
        Ok(settings)
    }

    /// Parses config text; relative paths resolve against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut doc: toml::Value = toml::from_str::<toml::Table>(text)
            .map(toml::Value::Table)
            .map_err(|e| ConfigError::at("", format!("not valid TOML: {}", e.message())))?;
        interpolate(&mut doc, &mut String::new(), env)?;
        let root: RawRoot = typed(doc, "")?;

        let server = ServerSettings {
            listen: socket(root.server.listen.as_deref().unwrap_or("0.0.0.0:8080"), "server.listen")?,
            max_body: root.server.max_body.map_or(1 << 20, |s| s.0),
            public_url: root
                .server
                .public_url
                .map(|u| check_url(&u, "server.public_url"))
                .transpose()?,
            shutdown_timeout: root.server.shutdown_timeout.map_or(Duration::from_secs(30), |d| d.0),
            read_timeout: root.server.read_timeout.map_or(Duration::from_secs(10), |d| d.0),
            max_connections: usize::try_from(root.server.max_connections.unwrap_or(10_000)).unwrap_or(usize::MAX),
            max_inflight_body: root.server.max_inflight_body.map_or(256 << 20, |s| s.0),
            rejected_keep: root.server.rejected_keep.map_or(64 << 20, |s| s.0),
        };
        if server.max_body == 0 {
            return Err(ConfigError::at("server.max_body", "must be more than 0 bytes"));
        }
        if server.max_connections == 0 {
            return Err(ConfigError::at("server.max_connections", "must be at least 1"));
        }
        if server.max_inflight_body < server.max_body {
            return Err(ConfigError::at(
                "server.max_inflight_body",
                "must be at least server.max_body (else no body of the largest size could be read)",
            ));
        }
        let admin = AdminSettings {
            listen: socket(root.admin.listen.as_deref().unwrap_or("127.0.0.1:8081"), "admin.listen")?,
            token: root
                .admin
                .token
                .map(|t| non_empty_secret(t, "admin.token"))
                .transpose()?,
        };
        if admin.token.is_none() && !admin.listen.ip().is_loopback() {
            return Err(ConfigError::at(
                "admin.token",
                "required when admin.listen is not a loopback address",
            ));
        }
        let url = root.storage.url.as_deref().unwrap_or("sqlite://inlet-data/inlet.db");
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let storage = StorageSettings {
            sqlite_path: if postgres {
                base_dir.join("inlet-data/inlet.db")
            } else {
                storage_path(url, base_dir)?
            },
            postgres_url: postgres.then(|| Secret::new(url)),
            retention: root.storage.retention.map_or(Duration::from_secs(14 * 86400), |d| d.0),
            node_timeout: root.storage.node_timeout.map_or(Duration::from_secs(10), |d| d.0),
        };
        if root.storage.node_timeout.is_some() && !postgres {
            return Err(ConfigError::at(
                "storage.node_timeout",
                "has no effect on SQLite (one node); it applies to postgres:// storage",
            ));
        }
        if storage.node_timeout < Duration::from_secs(3) {
            return Err(ConfigError::at(
                "storage.node_timeout",
                "must be at least 3s (nodes beat every 2 s)",
            ));
        }

        let mut sources = BTreeMap::new();
        for (name, value) in root.sources {
            check_name(&name, "sources")?;
            sources.insert(name.clone(), sources::parse(&name, value, &server)?);
        }
        let mut destinations = BTreeMap::new();
        for (name, value) in root.destinations {
            check_name(&name, "destinations")?;
            destinations.insert(name.clone(), crate::destinations::parse(&name, value, base_dir)?);
        }
        let routes = root
            .routes
            .into_iter()
            .enumerate()
            .map(|(i, v)| crate::routing::parse(i, v, &|s| sources.contains_key(s), &destinations))
            .collect::<Result<Vec<_>, _>>()?;
        let alerts = alerts::parse(root.alerts, &destinations)?;
        let telemetry = TelemetrySettings {
            otlp: root
                .telemetry
                .otlp
                .map(|u| check_url(&u, "telemetry.otlp"))
                .transpose()?,
            service_name: root.telemetry.service_name,
        };
        Ok(Settings {
            server,
            admin,
            storage,
            sources,
            destinations,
            routes,
            alerts,
            telemetry,
        })
    }

    /// [`crate::routing::pending_deliveries`] with this config's routes and destinations.
    pub fn pending_deliveries(
        &self,
        source: &str,
        event_type: Option<&str>,
        body: &[u8],
        received_at: i64,
        occurred_at: Option<i64>,
    ) -> Vec<crate::domain::PendingDelivery> {
        crate::routing::pending_deliveries(
            &self.routes,
            &self.destinations,
            source,
            event_type,
            body,
            received_at,
            occurred_at,
        )
    }
}

/// Replaces `${NAME}` in every string of the document with the variable's value.
fn interpolate(
    v: &mut toml::Value,
    path: &mut String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match v {
        toml::Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = after
                    .find('}')
                    .ok_or_else(|| ConfigError::at(path.clone(), "unclosed ${ in value"))?;
                let name = &after[..end];
                let value = env(name)
                    .ok_or_else(|| ConfigError::at(path.clone(), format!("environment variable {name} is not set")))?;
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                interpolate(item, path, env)?;
                path.truncate(len);
            }
        }
        toml::Value::Table(t) => {
            for (k, item) in t.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                interpolate(item, path, env)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

fn socket(text: &str, path: &str) -> Result<SocketAddr, ConfigError> {
    text.parse()
        .map_err(|_| ConfigError::at(path, format!("{text:?} is not an address like \"127.0.0.1:8080\"")))
}

fn non_empty_secret(value: String, path: &str) -> Result<Secret, ConfigError> {
    if value.trim().is_empty() {
        Err(ConfigError::at(path, "must not be empty"))
    } else {
        Ok(Secret::new(value))
    }
}

fn check_name(name: &str, table: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::at(
            format!("{table}.{name}"),
            "names use letters, digits, '_' and '-' only",
        ))
    }
}

fn storage_path(url: &str, base_dir: &Path) -> Result<PathBuf, ConfigError> {
    let rest = url.strip_prefix("sqlite://").ok_or_else(|| {
        // Only the scheme: the rest of a mistyped PostgreSQL URL may hold a password.
        let scheme = url.split_once("://").map_or("none", |(scheme, _)| scheme);
        ConfigError::at(
            "storage.url",
            format!("scheme {scheme:?}: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"),
        )
    })?;
    if rest.is_empty() {
        return Err(ConfigError::at("storage.url", "no database file after sqlite://"));
    }
    let path = Path::new(rest);
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    })
}

#[cfg(test)]
mod tests;
