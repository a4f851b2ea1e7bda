//! The admin surface's SQL: filtered pages of events (newest first, by sequence), replays
//! that put finished deliveries back in the queue, and pages of rejected requests.

use rusqlite::types::ToSql;
use rusqlite::{Connection, Transaction, params_from_iter};

use crate::domain::PageStart;
use crate::domain::{
    EventFilter, EventPage, EventStatus, EventSummary, RejectedPage, RejectedRequest, ReplaySelection, Via, page_of,
};

/// An event's status, from its deliveries (CONTRACT §5).
const STATUS: &str =
    "CASE WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending') THEN 'pending'
      WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.state = 'dead') THEN 'dead'
      ELSE 'delivered' END";

/// The WHERE conditions of `f` over `events e`, with their parameters appended.
fn conditions(f: &EventFilter, params: &mut Vec<Box<dyn ToSql>>) -> String {
    let mut conds: Vec<String> = vec!["1".into()];
    let mut push = |cond: String, value: Box<dyn ToSql>| {
        conds.push(cond);
        params.push(value);
    };
    if let Some(v) = &f.source {
        push("e.source = ?".into(), Box::new(v.clone()));
    }
    if let Some(v) = &f.event_type {
        push("e.type = ?".into(), Box::new(v.clone()));
    }
    if let Some(v) = &f.dedupe_key {
        push("e.dedupe_key = ?".into(), Box::new(v.clone()));
    }
    if let Some(v) = f.since {
        push("e.received_at >= ?".into(), Box::new(v));
    }
    if let Some(v) = f.until {
        push("e.received_at < ?".into(), Box::new(v));
    }
    if let Some(v) = &f.destination {
        push(
            "EXISTS (SELECT 1 FROM deliveries x WHERE x.event_seq = e.seq AND x.destination = ?)".into(),
            Box::new(v.clone()),
        );
    }
    if let Some(v) = f.status {
        push(format!("({STATUS}) = ?"), Box::new(v.as_str()));
    }
    if let Some(key) = &f.dedupe_key {
        // The merged keys through their index, and the events past the watermark (the
        // keys the writer holds in memory) by a scan of the newest rows.
        let groups = if f.dedupe_groups.is_empty() {
            String::new()
        } else {
            format!("dedupe_group IN ({}) AND ", vec!["?"; f.dedupe_groups.len()].join(", "))
        };
        conds.push(format!(
            "e.seq IN (SELECT seq FROM dedupe_keys WHERE {groups}dedupe_key = ? \
             UNION ALL SELECT seq FROM events WHERE seq > (SELECT seq FROM dedupe_merged) AND dedupe_key = ?)"
        ));
        for g in &f.dedupe_groups {
            params.push(Box::new(g.clone()));
        }
        params.push(Box::new(key.clone()));
        params.push(Box::new(key.clone()));
    }
    conds.join(" AND ")
}

pub fn list_events(c: &Connection, f: &EventFilter, start: PageStart, limit: usize) -> rusqlite::Result<EventPage> {
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    let mut sql = format!(
        "SELECT e.seq, e.id, e.source, e.type, e.dedupe_key, {STATUS}, e.via, e.received_at, e.occurred_at
         FROM events e WHERE {}",
        conditions(f, &mut params)
    );
    let order = match start {
        PageStart::Newest => "DESC",
        PageStart::Before(b) => {
            sql.push_str(" AND e.seq < ?");
            params.push(Box::new(b));
            "DESC"
        }
        PageStart::After(a) => {
            sql.push_str(" AND e.seq > ?");
            params.push(Box::new(a));
            "ASC"
        }
    };
    sql.push_str(&format!(" ORDER BY e.seq {order} LIMIT ?"));
    params.push(Box::new(limit as i64 + 1));
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter().map(|p| p.as_ref())), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            EventSummary {
                id: r.get(1)?,
                source: r.get(2)?,
                event_type: r.get(3)?,
                dedupe_key: r.get(4)?,
                status: EventStatus::parse(&r.get::<_, String>(5)?).unwrap_or(EventStatus::Delivered),
                via: Via::parse(&r.get::<_, String>(6)?),
                received_at: r.get(7)?,
                occurred_at: r.get(8)?,
            },
        ))
    })?;
    let rows: Vec<(i64, EventSummary)> = rows.collect::<rusqlite::Result<_>>()?;
    let (items, next) = page_of(rows, limit);
    Ok(EventPage { items, next })
}

const REQUEUE: &str = "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?1,
       lease_until = NULL, last_error = NULL, updated_at = ?1";

/// Re-queues the selected deliveries: pending again, schedule from its start, due now.
/// Attempts already made stay recorded; the event (its id, its envelope) is unchanged.
pub fn replay(tx: &Transaction<'_>, selection: &ReplaySelection, now: i64) -> rusqlite::Result<u64> {
    let n = match selection {
        ReplaySelection::Event { id, destination } => {
            let sql = format!(
                "{REQUEUE} WHERE event_seq = (SELECT seq FROM events WHERE id = ?2) AND state != 'pending'
                   AND (?3 IS NULL OR destination = ?3)"
            );
            tx.prepare_cached(&sql)?
                .execute(rusqlite::params![now, id, destination])?
        }
        ReplaySelection::Matching {
            filter,
            state,
            destination,
            limit,
        } => {
            let mut params: Vec<Box<dyn ToSql>> = vec![Box::new(now), Box::new(state.clone())];
            let mut sql = format!(
                "{REQUEUE} WHERE (event_seq, destination) IN (
                    SELECT d.event_seq, d.destination FROM deliveries d JOIN events e ON e.seq = d.event_seq
                    WHERE d.state = ?2"
            );
            if let Some(dest) = destination {
                sql.push_str(" AND d.destination = ?");
                params.push(Box::new(dest.clone()));
            }
            sql.push_str(&format!(" AND {}", conditions(filter, &mut params)));
            if let Some(l) = limit {
                sql.push_str(" LIMIT ?");
                params.push(Box::new(*l as i64));
            }
            sql.push(')');
            tx.prepare(&sql)?
                .execute(params_from_iter(params.iter().map(|p| p.as_ref())))?
        }
    };
    Ok(n as u64)
}

/// How many deliveries a `Matching` replay would re-queue.
pub fn count_replay(
    c: &Connection,
    filter: &EventFilter,
    state: &str,
    destination: Option<&str>,
) -> rusqlite::Result<u64> {
    let mut params: Vec<Box<dyn ToSql>> = vec![Box::new(state.to_string())];
    let mut sql =
        "SELECT COUNT(*) FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.state = ?".to_string();
    if let Some(dest) = destination {
        sql.push_str(" AND d.destination = ?");
        params.push(Box::new(dest.to_string()));
    }
    sql.push_str(&format!(" AND {}", conditions(filter, &mut params)));
    let n: i64 = c
        .prepare(&sql)?
        .query_row(params_from_iter(params.iter().map(|p| p.as_ref())), |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

pub fn rejected_page(c: &Connection, before: Option<i64>, limit: usize) -> rusqlite::Result<RejectedPage> {
    let mut stmt = c.prepare_cached(
        "SELECT id, source, error, at, headers, body_size FROM rejected
         WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(rusqlite::params![before, limit as i64 + 1], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            RejectedRequest {
                source: r.get(1)?,
                error: r.get(2)?,
                at: r.get(3)?,
                headers: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                body_size: r.get::<_, i64>(5)?.max(0) as u64,
                kept: None,
            },
        ))
    })?;
    let items: Vec<(i64, RejectedRequest)> = rows.collect::<rusqlite::Result<_>>()?;
    let (items, next) = page_of(items, limit);
    Ok(RejectedPage { items, next })
}
