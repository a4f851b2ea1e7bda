//! Many events in one transaction with one statement per table: the events through
//! `UNNEST` arrays with `ON CONFLICT (dedupe_group, dedupe_key) DO NOTHING`, one read for
//! the ids of the keys that were already stored, then every new event's deliveries.
//! Rows go in sorted by (group, key), so two nodes' batches that share keys lock them in
//! the same order and wait for each other instead of deadlocking. A key that appears twice
//! in one batch is stored once; both callers get its id. Used by the group-commit writer
//! (`writer.rs`) and by poll pages (`poll.rs`).

use std::collections::HashMap;

use sqlx::{Postgres, Row, Transaction};

use crate::domain::{Ingested, NewEvent};

/// Stores `events` (deduped in their groups) with their pending deliveries; one answer per
/// event, in order.
pub async fn insert_events(tx: &mut Transaction<'_, Postgres>, events: &[&NewEvent]) -> sqlx::Result<Vec<Ingested>> {
    // The first event of each (group, key) in the batch is the one that may be stored.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| {
        (&events[a].dedupe_group, &events[a].dedupe_key)
            .cmp(&(&events[b].dedupe_group, &events[b].dedupe_key))
            .then(a.cmp(&b))
    });
    order.dedup_by(|b, a| {
        events[*a].dedupe_group == events[*b].dedupe_group && events[*a].dedupe_key == events[*b].dedupe_key
    });
    let firsts: Vec<&NewEvent> = order.iter().map(|&i| events[i]).collect();

    let text = |f: fn(&NewEvent) -> String| firsts.iter().map(|e| f(e)).collect::<Vec<_>>();
    let inserted = sqlx::query(
        "INSERT INTO events (id, source, dedupe_group, dedupe_key, type, via, received_at, occurred_at, content_type, headers, body, traceparent)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                              $8::bigint[], $9::text[], $10::text[], $11::bytea[], $12::text[])
         ON CONFLICT (dedupe_group, dedupe_key) DO NOTHING RETURNING seq, dedupe_group, dedupe_key",
    )
    .bind(text(|e| e.id.clone()))
    .bind(text(|e| e.source.clone()))
    .bind(text(|e| e.dedupe_group.clone()))
    .bind(text(|e| e.dedupe_key.clone()))
    .bind(firsts.iter().map(|e| e.event_type.clone()).collect::<Vec<Option<String>>>())
    .bind(text(|e| e.via.as_str().to_string()))
    .bind(firsts.iter().map(|e| e.received_at).collect::<Vec<i64>>())
    .bind(firsts.iter().map(|e| e.occurred_at).collect::<Vec<Option<i64>>>())
    .bind(firsts.iter().map(|e| e.content_type.clone()).collect::<Vec<Option<String>>>())
    .bind(text(|e| crate::domain::headers_json(&e.headers)))
    .bind(firsts.iter().map(|e| e.body.to_vec()).collect::<Vec<Vec<u8>>>())
    .bind(firsts.iter().map(|e| e.traceparent.clone()).collect::<Vec<Option<String>>>())
    .fetch_all(&mut **tx)
    .await?;
    let mut stored: HashMap<(String, String), i64> = HashMap::with_capacity(inserted.len());
    for row in inserted {
        stored.insert((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?);
    }

    // Keys already stored (by an earlier batch, or another node's that committed first).
    let taken: Vec<&NewEvent> = firsts
        .iter()
        .copied()
        .filter(|e| !stored.contains_key(&(e.dedupe_group.clone(), e.dedupe_key.clone())))
        .collect();
    let mut existing: HashMap<(String, String), String> = HashMap::with_capacity(taken.len());
    if !taken.is_empty() {
        super::custom_plans(tx).await?;
        let rows = sqlx::query(
            "SELECT e.id, e.dedupe_group, e.dedupe_key FROM events e
               JOIN UNNEST($1::text[], $2::text[]) AS k(g, k) ON e.dedupe_group = k.g AND e.dedupe_key = k.k",
        )
        .bind(taken.iter().map(|e| e.dedupe_group.clone()).collect::<Vec<_>>())
        .bind(taken.iter().map(|e| e.dedupe_key.clone()).collect::<Vec<_>>())
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            existing.insert((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?);
        }
    }

    insert_deliveries(tx, &firsts, &stored).await?;

    // The id each key ended with: this batch's first event's, or the one stored before.
    let mut first_ids: HashMap<(&str, &str), &str> = HashMap::with_capacity(firsts.len());
    for e in &firsts {
        first_ids.insert((&e.dedupe_group, &e.dedupe_key), &e.id);
    }
    events
        .iter()
        .map(|e| {
            let key = (e.dedupe_group.clone(), e.dedupe_key.clone());
            if stored.contains_key(&key) {
                let first = first_ids
                    .get(&(e.dedupe_group.as_str(), e.dedupe_key.as_str()))
                    .copied();
                Ok(Ingested {
                    id: first.unwrap_or(&e.id).to_string(),
                    duplicate: first != Some(e.id.as_str()),
                })
            } else {
                let id = existing.get(&key).cloned().ok_or_else(|| {
                    sqlx::Error::Protocol(format!("dedupe key {:?} neither stored nor found", e.dedupe_key))
                })?;
                Ok(Ingested { id, duplicate: true })
            }
        })
        .collect()
}

/// One INSERT for the pending deliveries of every event this batch stored.
async fn insert_deliveries(
    tx: &mut Transaction<'_, Postgres>,
    firsts: &[&NewEvent],
    stored: &HashMap<(String, String), i64>,
) -> sqlx::Result<()> {
    let mut seqs = Vec::new();
    let mut destinations = Vec::new();
    let mut dues = Vec::new();
    let mut updated = Vec::new();
    let mut keys: Vec<Option<String>> = Vec::new();
    let mut ats: Vec<Option<i64>> = Vec::new();
    let mut versions: Vec<Option<String>> = Vec::new();
    for e in firsts {
        let Some(&seq) = stored.get(&(e.dedupe_group.clone(), e.dedupe_key.clone())) else {
            continue;
        };
        for d in &e.destinations {
            seqs.push(seq);
            destinations.push(d.destination.clone());
            dues.push(d.due_at);
            updated.push(e.received_at);
            keys.push(d.order.as_ref().map(|o| o.key.clone()));
            ats.push(d.order.as_ref().map(|o| o.at));
            versions.push(d.order.as_ref().and_then(|o| o.version.clone()));
        }
    }
    if seqs.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO deliveries (event_seq, destination, state, attempts, next_attempt_at, updated_at, order_key, order_at, order_version)
         SELECT s, d, 'pending', 0, n, u, k, a, v
           FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::text[])
             AS t(s, d, n, u, k, a, v)
         ON CONFLICT DO NOTHING",
    )
    .bind(seqs)
    .bind(destinations)
    .bind(dues)
    .bind(updated)
    .bind(keys)
    .bind(ats)
    .bind(versions)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
