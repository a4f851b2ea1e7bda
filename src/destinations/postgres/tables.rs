//! The postgres destination's tables: names (`[schema.]name`, quoted in SQL), the columns
//! of the events and mirror tables, and making sure a table is fit: created when missing,
//! refused, naming the column, when it lacks one.

use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Row};

use crate::domain::settings::ConfigError;

/// The events table's columns, as created.
pub(super) const EVENT_COLUMNS: [(&str, &str); 10] = [
    ("id", "text PRIMARY KEY"),
    ("source", "text"),
    ("type", "text"),
    ("dedupe_key", "text"),
    ("via", "text"),
    ("received_at", "timestamptz"),
    ("occurred_at", "timestamptz"),
    ("payload", "jsonb"),
    ("payload_base64", "text"),
    ("state", "jsonb"),
];

/// The mirror table's columns, as created.
pub(super) const MIRROR_COLUMNS: [(&str, &str); 6] = [
    ("key", "text PRIMARY KEY"),
    ("version", "text"),
    ("source", "text"),
    ("event_id", "text"),
    ("updated_at", "timestamptz"),
    ("doc", "jsonb"),
];

/// A `[schema.]name`, each part a plain identifier, quoted in SQL.
#[derive(Debug, Clone)]
pub struct Table {
    schema: Option<String>,
    name: String,
}

impl Table {
    pub(super) fn parse(text: &str, at: &str) -> Result<Table, ConfigError> {
        let plain = |part: &str| {
            part.len() <= 63
                && part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let (schema, name) = match text.split_once('.') {
            Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
            None => (None, text.to_string()),
        };
        if !plain(&name) || schema.as_deref().is_some_and(|s| !plain(s)) {
            return Err(ConfigError::at(
                at,
                "a table name like \"inlet_events\" or \"app.inlet_events\": letters, digits and _",
            ));
        }
        Ok(Table { schema, name })
    }

    pub(super) fn sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }

    pub(super) fn shown(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Why the tables are not ready: the database cannot be reached now, or a table is unfit.
pub(super) enum NotReady {
    Unreachable(String),
    Unfit(String),
}

/// Creates `table` with `columns` when it does not exist; else checks it has them all.
pub(super) async fn ensure_table(pool: &PgPool, table: &Table, columns: &[(&str, &str)]) -> Result<(), NotReady> {
    let unreachable = |e: sqlx::Error| NotReady::Unreachable(format!("cannot reach PostgreSQL: {e}"));
    let existing: Vec<String> = sqlx::query(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2",
    )
    .bind(table.schema.as_deref())
    .bind(&table.name)
    .fetch_all(pool)
    .await
    .map_err(unreachable)?
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    if existing.is_empty() {
        let definition: Vec<String> = columns.iter().map(|(name, ty)| format!("\"{name}\" {ty}")).collect();
        let create = format!("CREATE TABLE IF NOT EXISTS {} ({})", table.sql(), definition.join(", "));
        sqlx::query(AssertSqlSafe(create))
            .execute(pool)
            .await
            .map_err(|e| NotReady::Unfit(format!("cannot create table {}: {e}", table.shown())))?;
        return Ok(());
    }
    match columns.iter().find(|(name, _)| !existing.iter().any(|e| e == name)) {
        Some((name, ty)) => Err(NotReady::Unfit(format!(
            "table {} has no column {name:?} ({ty}): add it, or name another table",
            table.shown()
        ))),
        None => Ok(()),
    }
}
