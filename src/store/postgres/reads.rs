//! Reads on PostgreSQL: events (one with its deliveries and attempts, pages by filter),
//! rejected requests, destination counts, and the filter conditions shared with replay.

use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use crate::domain::PageStart;
use crate::domain::{
    AttemptRecord, DeliveryView, DestinationStats, EventFilter, EventPage, EventRecord, EventStatus, EventSummary,
    RejectedPage, RejectedRequest, StoredEvent, Via, page_of,
};

const STATUS: &str =
    "(CASE WHEN EXISTS (SELECT 1 FROM deliveries x WHERE x.event_seq = e.seq AND x.state = 'pending') THEN 'pending'
      WHEN EXISTS (SELECT 1 FROM deliveries x WHERE x.event_seq = e.seq AND x.state = 'dead') THEN 'dead'
      ELSE 'delivered' END)";

/// ` AND …` for each field of `f`, over `events e`.
pub fn conditions(q: &mut QueryBuilder<Postgres>, f: &EventFilter) {
    if let Some(v) = &f.source {
        q.push(" AND e.source = ").push_bind(v.clone());
    }
    if let Some(v) = &f.event_type {
        q.push(" AND e.type = ").push_bind(v.clone());
    }
    if let Some(v) = &f.dedupe_key {
        q.push(" AND e.dedupe_key = ").push_bind(v.clone());
        if !f.dedupe_groups.is_empty() {
            q.push(" AND e.dedupe_group = ANY(")
                .push_bind(f.dedupe_groups.clone())
                .push(")");
        }
    }
    if let Some(v) = f.since {
        q.push(" AND e.received_at >= ").push_bind(v);
    }
    if let Some(v) = f.until {
        q.push(" AND e.received_at < ").push_bind(v);
    }
    if let Some(v) = &f.destination {
        q.push(" AND EXISTS (SELECT 1 FROM deliveries y WHERE y.event_seq = e.seq AND y.destination = ")
            .push_bind(v.clone())
            .push(")");
    }
    if let Some(v) = f.status {
        q.push(format!(" AND {STATUS} = ")).push_bind(v.as_str());
    }
}

/// An event's fields from a row that has [`RECORD_COLUMNS`].
pub fn record(row: &sqlx::postgres::PgRow) -> sqlx::Result<EventRecord> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        event_type: row.try_get("type")?,
        dedupe_key: row.try_get("dedupe_key")?,
        via: Via::parse(&row.try_get::<String, _>("via")?),
        received_at: row.try_get("received_at")?,
        occurred_at: row.try_get("occurred_at")?,
        content_type: row.try_get("content_type")?,
        headers: serde_json::from_str(&row.try_get::<String, _>("headers")?).unwrap_or_default(),
        body: row.try_get("body")?,
        traceparent: row.try_get("traceparent")?,
    })
}

/// The columns [`record`] reads, of `events e`.
pub const RECORD_COLUMNS: &str = "e.seq, e.id, e.source, e.type, e.dedupe_key, e.via, e.received_at, e.occurred_at, e.content_type, e.headers, e.body, e.traceparent";

const RECORD: &str = "SELECT seq, id, source, type, dedupe_key, via, received_at, occurred_at, content_type, headers, body, traceparent FROM events";

pub async fn event(pool: &PgPool, id: &str) -> sqlx::Result<Option<StoredEvent>> {
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!("{RECORD} WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let seq: i64 = row.try_get("seq")?;
    let event = record(&row)?;
    let mut deliveries: Vec<DeliveryView> = sqlx::query(
        "SELECT destination, state, attempts, next_attempt_at, last_error FROM deliveries WHERE event_seq = $1 ORDER BY destination",
    )
    .bind(seq)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(DeliveryView {
            destination: r.try_get(0)?,
            state: r.try_get(1)?,
            steps_used: r.try_get::<i32, _>(2)?.max(0) as u32,
            next_attempt_at: r.try_get(3)?,
            last_error: r.try_get(4)?,
            attempts: Vec::new(),
        })
    })
    .collect::<sqlx::Result<_>>()?;
    for d in &mut deliveries {
        d.attempts = sqlx::query(
            "SELECT at, status_code, latency_ms, error, response_excerpt FROM attempts
             WHERE event_seq = $1 AND destination = $2 ORDER BY id",
        )
        .bind(seq)
        .bind(&d.destination)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AttemptRecord {
                at: r.try_get(0)?,
                status_code: r.try_get::<Option<i32>, _>(1)?.and_then(|s| u16::try_from(s).ok()),
                latency_ms: r.try_get(2)?,
                error: r.try_get(3)?,
                response_excerpt: r.try_get(4)?,
            })
        })
        .collect::<sqlx::Result<_>>()?;
    }
    Ok(Some(StoredEvent { event, deliveries }))
}

pub async fn list_events(pool: &PgPool, f: &EventFilter, start: PageStart, limit: usize) -> sqlx::Result<EventPage> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT e.seq, e.id, e.source, e.type, e.dedupe_key, {STATUS} AS status, e.via, e.received_at, e.occurred_at
         FROM events e WHERE TRUE"
    ));
    conditions(&mut q, f);
    let order = match start {
        PageStart::Newest => " ORDER BY e.seq DESC LIMIT ",
        PageStart::Before(b) => {
            q.push(" AND e.seq < ").push_bind(b);
            " ORDER BY e.seq DESC LIMIT "
        }
        PageStart::After(a) => {
            q.push(" AND e.seq > ").push_bind(a);
            " ORDER BY e.seq ASC LIMIT "
        }
    };
    q.push(order).push_bind(limit as i64 + 1);
    let rows = q.build().fetch_all(pool).await?;
    let items: Vec<(i64, EventSummary)> = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                EventSummary {
                    id: r.try_get(1)?,
                    source: r.try_get(2)?,
                    event_type: r.try_get(3)?,
                    dedupe_key: r.try_get(4)?,
                    status: EventStatus::parse(&r.try_get::<String, _>(5)?).unwrap_or(EventStatus::Delivered),
                    via: Via::parse(&r.try_get::<String, _>(6)?),
                    received_at: r.try_get(7)?,
                    occurred_at: r.try_get(8)?,
                },
            ))
        })
        .collect::<sqlx::Result<_>>()?;
    let (items, next) = page_of(items, limit);
    Ok(EventPage { items, next })
}

pub async fn count_replay(pool: &PgPool, f: &EventFilter, state: &str, destination: Option<&str>) -> sqlx::Result<u64> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT COUNT(*) FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.state = ");
    q.push_bind(state.to_string());
    if let Some(d) = destination {
        q.push(" AND d.destination = ").push_bind(d.to_string());
    }
    conditions(&mut q, f);
    let n: i64 = q.build_query_scalar().fetch_one(pool).await?;
    Ok(n.max(0) as u64)
}

pub async fn rejected_page(pool: &PgPool, before: Option<i64>, limit: usize) -> sqlx::Result<RejectedPage> {
    let rows = sqlx::query(
        "SELECT id, source, error, at, headers, body_size FROM rejected
         WHERE ($1::BIGINT IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(before)
    .bind(limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let items: Vec<(i64, RejectedRequest)> = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                RejectedRequest {
                    source: r.try_get(1)?,
                    error: r.try_get(2)?,
                    at: r.try_get(3)?,
                    headers: serde_json::from_str(&r.try_get::<String, _>(4)?).unwrap_or_default(),
                    body_size: r.try_get::<i64, _>(5)?.max(0) as u64,
                    kept: None,
                },
            ))
        })
        .collect::<sqlx::Result<_>>()?;
    let (items, next) = page_of(items, limit);
    Ok(RejectedPage { items, next })
}

pub async fn destination_stats(pool: &PgPool) -> sqlx::Result<Vec<DestinationStats>> {
    let counts = sqlx::query("SELECT destination, state, COUNT(*) FROM deliveries GROUP BY destination, state")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)?.max(0) as u64)))
        .collect::<sqlx::Result<_>>()?;
    let oldest = sqlx::query(
        "SELECT d.destination, MIN(e.received_at) FROM deliveries d JOIN events e ON e.seq = d.event_seq
         WHERE d.state = 'pending' GROUP BY d.destination",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<sqlx::Result<_>>()?;
    Ok(DestinationStats::tally(counts, oldest))
}
