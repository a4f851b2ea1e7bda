//! The PostgreSQL destination: one row per event in a table of the user's database (not
//! inlet's own store), `INSERT … ON CONFLICT (id) DO NOTHING`, so a repeated attempt or a
//! replay adds no row; with `mirror`, the same transaction keeps one row per object holding
//! its newest version (versions compared as ordered routes compare them). The attempts
//! running at once share a transaction (`batch.rs`). Both tables are created when missing;
//! an existing one that lacks a column refuses start-up, naming it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::{OnceCell, mpsc, oneshot};

mod batch;
mod mirror;
mod tables;

use super::{AttemptResult, Delivery, Destination};
use crate::domain::mask::mask_url;
use crate::domain::settings::{ConfigError, typed};
use crate::domain::values::Pointer;
use crate::domain::{EventRecord, Hydrated};
use crate::signature::Secret;
use batch::{Object, Row};
use tables::{EVENT_COLUMNS, MIRROR_COLUMNS, NotReady, Table};

/// Writers: transactions in flight at once.
const WRITERS: usize = 2;

/// `mirror = { table, key = "/pointer", version = "/pointer" }`.
#[derive(Debug, Clone)]
pub struct Mirror {
    pub table: Table,
    pub key: Pointer,
    pub version: Option<Pointer>,
}

/// A `postgres` destination's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `postgres://user:pass@host/db`: holds a credential, never printed as is.
    pub url: Secret,
    pub table: Table,
    pub mirror: Option<Mirror>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    table: Option<String>,
    mirror: Option<RawMirror>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMirror {
    table: String,
    key: Pointer,
    version: Option<Pointer>,
}

impl Settings {
    pub fn parse(table: toml::Value, prefix: &str) -> Result<Settings, ConfigError> {
        let at = |key: &str| format!("{prefix}.{key}");
        let raw: Raw = typed(table, prefix)?;
        if !(raw.url.starts_with("postgres://") || raw.url.starts_with("postgresql://"))
            || raw.url.parse::<PgConnectOptions>().is_err()
        {
            return Err(ConfigError::at(
                at("url"),
                "must be a postgres://user@host/database URL",
            ));
        }
        let events = Table::parse(raw.table.as_deref().unwrap_or("inlet_events"), &at("table"))?;
        let mirror = match raw.mirror {
            None => None,
            Some(m) => Some(Mirror {
                table: Table::parse(&m.table, &at("mirror.table"))?,
                key: m.key,
                version: m.version,
            }),
        };
        if mirror.as_ref().is_some_and(|m| m.table.shown() == events.shown()) {
            return Err(ConfigError::at(at("mirror.table"), "must not be the events table"));
        }
        Ok(Settings {
            url: Secret::new(raw.url),
            table: events,
            mirror,
        })
    }

    /// One line for `inlet check`: the URL with its credentials masked, and the tables.
    pub fn describe(&self) -> String {
        let mut shown = format!("{} table {}", mask_url(self.url.expose()), self.table.shown());
        if let Some(m) = &self.mirror {
            shown.push_str(&format!(" mirror {} by {}", m.table.shown(), m.key.0));
            if let Some(v) = &m.version {
                shown.push_str(&format!(" (version {})", v.0));
            }
        }
        shown
    }
}

pub struct PostgresDestination {
    settings: Settings,
    timeout: Duration,
    pool: PgPool,
    ready: OnceCell<()>,
    /// Started on the first attempt (it needs the runtime).
    writers: OnceCell<mpsc::Sender<batch::Job>>,
}

impl PostgresDestination {
    pub fn new(settings: Settings, timeout: Duration, concurrency: u32) -> anyhow::Result<Self> {
        let options: PgConnectOptions = settings.url.expose().parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(concurrency.clamp(1, 32))
            .acquire_timeout(timeout)
            .connect_lazy_with(options.application_name("inlet"));
        Ok(PostgresDestination {
            settings,
            timeout,
            pool,
            ready: OnceCell::new(),
            writers: OnceCell::new(),
        })
    }

    /// Creates the tables that are missing and checks the columns of those that exist.
    async fn ensure(&self) -> Result<(), NotReady> {
        self.ready
            .get_or_try_init(|| async {
                tables::ensure_table(&self.pool, &self.settings.table, &EVENT_COLUMNS).await?;
                if let Some(m) = &self.settings.mirror {
                    tables::ensure_table(&self.pool, &m.table, &MIRROR_COLUMNS).await?;
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// The event's row, built here so the writer only binds.
    fn row(&self, delivery: &Delivery<'_>) -> Row {
        let event = delivery.event;
        let (payload, payload_base64) = payload_columns(event);
        let state = match delivery.state {
            None => None,
            Some(Hydrated::State(bytes)) => json_text(bytes),
            Some(Hydrated::Gone { .. }) => Some("null"),
        };
        let object = self.settings.mirror.as_ref().and_then(|m| {
            let body: Option<Value> = serde_json::from_slice(&event.body).ok();
            Some(Object {
                key: mirror::text_at(body.as_ref(), &m.key)?,
                version: m.version.as_ref().and_then(|v| mirror::text_at(body.as_ref(), v)),
                doc: state.or(payload).unwrap_or("null").to_string(),
            })
        });
        Row {
            id: event.id.clone(),
            source: event.source.clone(),
            event_type: event.event_type.clone(),
            dedupe_key: event.dedupe_key.clone(),
            via: event.via.as_str(),
            received_at: event.received_at,
            occurred_at: event.occurred_at,
            payload: payload.map(str::to_string),
            payload_base64,
            state: state.map(str::to_string),
            object,
        }
    }

    /// Hands the row to a writer and waits for its transaction.
    async fn write(&self, row: Row) -> Result<String, String> {
        let writers = self.writers.get_or_init(|| async {
            let tables = Arc::new(batch::Tables {
                pool: self.pool.clone(),
                events: self.settings.table.clone(),
                mirror: self.settings.mirror.clone(),
            });
            batch::spawn(tables, WRITERS)
        });
        let (reply, answer) = oneshot::channel();
        let job = batch::Job { row, reply };
        writers
            .await
            .send(job)
            .await
            .map_err(|_| "the writers stopped".to_string())?;
        answer.await.map_err(|_| "the writer stopped".to_string())?
    }
}

/// The body as JSON text when it is JSON that `jsonb` takes (no `\u0000`).
fn json_text(bytes: &[u8]) -> Option<&str> {
    let raw: &RawValue = serde_json::from_slice(bytes).ok()?;
    Some(raw.get()).filter(|text| !text.contains("\\u0000"))
}

/// `payload` (JSON) or `payload_base64` (anything else), as the envelope has them.
fn payload_columns(event: &EventRecord) -> (Option<&str>, Option<String>) {
    use base64::Engine;
    match json_text(&event.body) {
        Some(text) => (Some(text), None),
        None => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(&event.body)),
        ),
    }
}

#[async_trait]
impl Destination for PostgresDestination {
    async fn check(&self, _sources: &[String]) -> anyhow::Result<()> {
        match tokio::time::timeout(self.timeout, self.ensure()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(NotReady::Unfit(why))) => Err(anyhow::anyhow!(why)),
            Ok(Err(NotReady::Unreachable(error))) => {
                tracing::warn!(%error, "cannot check the tables now; deliveries wait for the database");
                Ok(())
            }
            Err(_) => {
                tracing::warn!("cannot check the tables now (no answer); deliveries wait for the database");
                Ok(())
            }
        }
    }

    async fn deliver(&self, delivery: &Delivery<'_>, _now: i64) -> AttemptResult {
        let attempt = async {
            self.ensure().await.map_err(|e| match e {
                NotReady::Unreachable(why) | NotReady::Unfit(why) => why,
            })?;
            self.write(self.row(delivery)).await
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(answer)) => AttemptResult::delivered(answer),
            Ok(Err(error)) => AttemptResult::failed(error),
            Err(_) => AttemptResult::failed(format!("no answer within {}s", self.timeout.as_secs_f64())),
        }
    }
}
