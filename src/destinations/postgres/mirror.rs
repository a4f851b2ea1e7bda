//! The postgres destination's mirror: one row per object, replaced only by a newer
//! version of it (versions compared as ordered routes compare them; without a `version`
//! pointer, the latest received wins), in the transaction that writes the event's row.

use serde_json::Value;
use sqlx::postgres::Postgres;
use sqlx::{AssertSqlSafe, Row as _, Transaction};

/// The transaction a batch writes its rows in.
type Tx<'a> = Transaction<'a, Postgres>;

use super::Mirror;
use super::batch::{Object, Row, seconds};
use crate::domain::compare::{compare_values, text};
use crate::domain::values::Pointer;

/// The mirror's row for the event's object: inserted, or replaced when the event is newer
/// than the row (by `version`; without one, by when it was received), else kept.
pub(super) async fn upsert(tx: &mut Tx<'_>, mirror: &Mirror, event: &Row, object: &Object) -> Result<String, String> {
    let (key, version) = (&object.key, &object.version);
    let table = mirror.table.sql();
    let failed = |e: sqlx::Error| format!("mirror {}: {e}", mirror.table.shown());
    let insert = format!(
        "INSERT INTO {table} (key, version, source, event_id, updated_at, doc) \
         VALUES ($1, $2, $3, $4, to_timestamp($5), $6::jsonb) ON CONFLICT (key) DO NOTHING"
    );
    let bind = |sql: String| {
        sqlx::query(AssertSqlSafe(sql))
            .bind(key)
            .bind(version)
            .bind(&event.source)
            .bind(&event.id)
            .bind(seconds(event.received_at))
            .bind(&object.doc)
    };
    if bind(insert).execute(&mut **tx).await.map_err(failed)?.rows_affected() == 1 {
        return Ok(format!("mirror {key} inserted"));
    }
    let stored = sqlx::query(AssertSqlSafe(format!(
        "SELECT version, (extract(epoch FROM updated_at) * 1000)::int8, event_id FROM {table} WHERE key = $1 FOR UPDATE"
    )))
    .bind(key)
    .fetch_one(&mut **tx)
    .await
    .map_err(failed)?;
    let (old_version, old_at, old_id): (Option<String>, i64, String) = (stored.get(0), stored.get(1), stored.get(2));
    let replaces = match (&mirror.version, version, &old_version) {
        (Some(_), Some(new), Some(old)) => newer(new, old),
        (Some(_), Some(_), None) => true,
        (Some(_), None, _) => false,
        (None, _, _) => (event.received_at, event.id.as_str()) > (old_at, old_id.as_str()),
    };
    if !replaces {
        return Ok(format!("mirror {key} kept (not newer)"));
    }
    let update = format!(
        "UPDATE {table} SET version = $2, source = $3, event_id = $4, updated_at = to_timestamp($5), doc = $6::jsonb \
         WHERE key = $1"
    );
    bind(update).execute(&mut **tx).await.map_err(failed)?;
    Ok(format!("mirror {key} updated"))
}

/// The text form of a payload value (strings as they are, else JSON); `None` for none.
pub(super) fn text_at(payload: Option<&Value>, pointer: &Pointer) -> Option<String> {
    match payload?.pointer(&pointer.0)? {
        Value::Null => None,
        other => Some(text(other)),
    }
}

/// Whether the version `new` is newer than the stored `old` (as ordered routes compare).
fn newer(new: &str, old: &str) -> bool {
    compare_values(&Value::String(new.into()), &Value::String(old.into())).is_gt()
}
