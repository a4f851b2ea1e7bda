//! The postgres destination's writers: the attempts running at once are gathered into one
//! transaction (up to [`MAX_BATCH`] rows, one `INSERT … SELECT FROM UNNEST … ON CONFLICT
//! (id) DO NOTHING` for the events and the mirror's upserts in key order, so two writers
//! never wait on each other's rows in opposite orders). A batch that fails is written again
//! row by row, so one row the database refuses fails its own attempt only.

use std::sync::Arc;

use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Row as _};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{Mirror, Table, mirror};

/// The most rows one transaction writes.
pub(super) const MAX_BATCH: usize = 128;

/// One event's row, built on the attempt's own task so the writer only binds.
pub(super) struct Row {
    pub id: String,
    pub source: String,
    pub event_type: Option<String>,
    pub dedupe_key: String,
    pub via: &'static str,
    /// Unix ms.
    pub received_at: i64,
    pub occurred_at: Option<i64>,
    pub payload: Option<String>,
    pub payload_base64: Option<String>,
    pub state: Option<String>,
    /// With a mirror: the object's row, `None` when the payload has no key.
    pub object: Option<Object>,
}

/// The mirror's row for an event's object.
pub(super) struct Object {
    pub key: String,
    pub version: Option<String>,
    pub doc: String,
}

pub(super) struct Job {
    pub row: Row,
    pub reply: oneshot::Sender<Result<String, String>>,
}

/// What a writer writes to.
pub(super) struct Tables {
    pub pool: PgPool,
    pub events: Table,
    pub mirror: Option<Mirror>,
}

/// Starts `writers` writers sharing one queue; the sender is how attempts reach them.
pub(super) fn spawn(tables: Arc<Tables>, writers: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * writers);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..writers {
        tokio::spawn(run(tables.clone(), rx.clone()));
    }
    tx
}

async fn run(tables: Arc<Tables>, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            jobs.push(first);
            while jobs.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        jobs.sort_by(|a, b| a.row.id.cmp(&b.row.id));
        let rows: Vec<&Row> = jobs.iter().map(|j| &j.row).collect();
        let answers = match write(&tables, &rows).await {
            Ok(answers) => answers.into_iter().map(Ok).collect(),
            Err(error) if rows.len() == 1 => vec![Err(error)],
            Err(_) => {
                let mut one_by_one = Vec::with_capacity(rows.len());
                for row in &rows {
                    one_by_one.push(write(&tables, &[*row]).await.map(|mut a| a.remove(0)));
                }
                one_by_one
            }
        };
        for (job, answer) in jobs.into_iter().zip(answers) {
            // An attempt that timed out has stopped listening; its row stands.
            let _ = job.reply.send(answer);
        }
    }
}

/// Writes `rows` (in id order) in one transaction; one answer per row.
async fn write(tables: &Tables, rows: &[&Row]) -> Result<Vec<String>, String> {
    let mut tx = tables
        .pool
        .begin()
        .await
        .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
    let insert = format!(
        "INSERT INTO {} (id, source, type, dedupe_key, via, received_at, occurred_at, payload, payload_base64, state) \
         SELECT id, source, type, dedupe_key, via, to_timestamp(r), to_timestamp(o), p::jsonb, b, s::jsonb \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], \
                     $8::text[], $9::text[], $10::text[]) AS u(id, source, type, dedupe_key, via, r, o, p, b, s) \
         ON CONFLICT (id) DO NOTHING RETURNING id",
        tables.events.sql()
    );
    let column = |f: fn(&Row) -> Option<String>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let inserted: Vec<String> = sqlx::query(AssertSqlSafe(insert))
        .bind(rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.source.clone()).collect::<Vec<_>>())
        .bind(column(|r| r.event_type.clone()))
        .bind(rows.iter().map(|r| r.dedupe_key.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.via.to_string()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| seconds(r.received_at)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.occurred_at.map(seconds)).collect::<Vec<_>>())
        .bind(column(|r| r.payload.clone()))
        .bind(column(|r| r.payload_base64.clone()))
        .bind(column(|r| r.state.clone()))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| format!("insert into {}: {e}", tables.events.shown()))?
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect();
    let mut answers: Vec<String> = rows
        .iter()
        .map(|r| {
            if inserted.contains(&r.id) {
                "row inserted".to_string()
            } else {
                "row already there".to_string()
            }
        })
        .collect();
    if let Some(m) = &tables.mirror {
        let mut by_key: Vec<usize> = (0..rows.len()).collect();
        by_key.sort_by(|a, b| {
            rows[*a]
                .object
                .as_ref()
                .map(|o| &o.key)
                .cmp(&rows[*b].object.as_ref().map(|o| &o.key))
        });
        for i in by_key {
            let outcome = match &rows[i].object {
                Some(object) => mirror::upsert(&mut tx, m, rows[i], object).await?,
                None => format!("no {} in the payload: no mirror row", m.key.0),
            };
            answers[i].push_str("; ");
            answers[i].push_str(&outcome);
        }
    }
    tx.commit().await.map_err(|e| format!("commit: {e}"))?;
    Ok(answers)
}

/// Unix ms as the seconds `to_timestamp` takes.
pub(super) fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}
