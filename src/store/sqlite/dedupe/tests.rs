//! The dedupe index on a real SQLite file, driven as the writer drives it: transactions of
//! inserts, each ending with a merge slice (tests sweep at 64 keys, 16 a slice).

use rusqlite::{Connection, TransactionBehavior};

use super::DedupeIndex;
use crate::domain::{EventFilter, NewEvent, PageStart};
use crate::store::sqlite::writer::insert_event;
use crate::store::sqlite::{admin, schema};

fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = Connection::open(dir.path().join("d.db")).expect("opens");
    schema::configure_writer(&conn).expect("configures");
    schema::migrate(&mut conn).expect("migrates");
    (dir, conn)
}

fn event(key: &str) -> NewEvent {
    NewEvent::sample("g", key, 1)
}

/// Every event up to here has its key in `dedupe_keys`.
fn watermark(conn: &Connection) -> i64 {
    conn.query_row("SELECT seq FROM dedupe_merged", [], |r| r.get(0))
        .expect("reads")
}

/// The dedupe keys of the events the admin search finds for `key` in `groups`.
fn search(conn: &Connection, key: &str, groups: &[&str]) -> Vec<String> {
    let filter = EventFilter {
        dedupe_key: Some(key.to_string()),
        dedupe_groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    };
    let page = admin::list_events(conn, &filter, PageStart::Newest, 10).expect("lists");
    page.items.into_iter().map(|(_, e)| e.dedupe_key).collect()
}

/// Commits `keys` in one transaction as the writer does; the ids answered, and whether each
/// was a duplicate.
fn commit(conn: &mut Connection, index: &mut DedupeIndex, keys: &[String]) -> Vec<(String, bool)> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("begins");
    let mut out = Vec::new();
    for k in keys {
        let got = insert_event(&tx, index, &event(k)).expect("inserts");
        out.push((got.id, got.duplicate));
    }
    let inserted = out.iter().filter(|(_, dup)| !dup).count();
    let slice = index.merge_slice(&tx, inserted).expect("merges");
    tx.commit().expect("commits");
    index.merged(slice);
    out
}

/// Keys in no order, as providers' ids come.
fn keys(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("evt_{:08x}", (i as u32).wrapping_mul(2_654_435_761)))
        .collect()
}

fn merged_rows(conn: &Connection) -> i64 {
    conn.query_row("SELECT COUNT(*) FROM dedupe_keys", [], |r| r.get(0))
        .expect("counts")
}

#[test]
fn keys_merge_in_sweeps_and_every_duplicate_is_found_before_and_after() {
    let (_dir, mut conn) = store();
    let mut index = DedupeIndex::load(&conn).expect("loads");
    let all = keys(300);
    let mut first = Vec::new();
    for chunk in all.chunks(10) {
        let got = commit(&mut conn, &mut index, chunk);
        assert!(got.iter().all(|(_, dup)| !dup), "new keys are new");
        first.extend(got.into_iter().map(|(id, _)| id));
    }
    assert!(watermark(&conn) > 0, "a sweep ended");
    assert!(merged_rows(&conn) >= 64, "keys were merged: {}", merged_rows(&conn));
    assert!(index.waiting() < 300, "merged keys left memory: {}", index.waiting());
    for (chunk, ids) in all.chunks(7).zip(first.chunks(7)) {
        let got = commit(&mut conn, &mut index, chunk);
        for ((id, dup), want) in got.iter().zip(ids) {
            assert!(dup, "a known key is a duplicate");
            assert_eq!(id, want, "a duplicate answers with the first event's id");
        }
    }
}

#[test]
fn a_restart_reads_back_the_keys_past_the_watermark() {
    let (_dir, mut conn) = store();
    let mut index = DedupeIndex::load(&conn).expect("loads");
    let all = keys(150);
    for chunk in all.chunks(10) {
        commit(&mut conn, &mut index, chunk);
    }
    let watermark = watermark(&conn);
    drop(index);
    let mut again = DedupeIndex::load(&conn).expect("loads again");
    let past: i64 = conn
        .query_row("SELECT COUNT(*) FROM events WHERE seq > ?1", [watermark], |r| r.get(0))
        .expect("counts");
    assert_eq!(
        again.waiting() as i64,
        past,
        "every event past the watermark is in memory"
    );
    let got = commit(&mut conn, &mut again, &all);
    assert!(got.iter().all(|(_, dup)| *dup), "no key was forgotten by the restart");
    let events: i64 = conn
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .expect("counts");
    assert_eq!(events, 150);
}

#[test]
fn a_key_whose_commit_failed_is_new_again_and_never_merged() {
    let (_dir, mut conn) = store();
    let mut index = DedupeIndex::load(&conn).expect("loads");
    {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begins");
        let got = insert_event(&tx, &mut index, &event("lost")).expect("inserts");
        assert!(!got.duplicate);
        // Dropped: rolled back, as a failed commit is.
    }
    let got = commit(&mut conn, &mut index, &["lost".to_string()]);
    assert!(!got[0].1, "a key whose event never committed is not a duplicate");
    // Fill memory past a sweep; the stale entry must not reach dedupe_keys with a dead seq.
    for chunk in keys(200).chunks(20) {
        commit(&mut conn, &mut index, chunk);
    }
    let dangling: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM dedupe_keys k WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = k.seq)",
            [],
            |r| r.get(0),
        )
        .expect("counts");
    assert_eq!(dangling, 0, "only keys of stored events are merged");
    let got = commit(&mut conn, &mut index, &["lost".to_string()]);
    assert!(got[0].1, "the committed one is a duplicate");
}

#[test]
fn a_pruned_event_frees_its_key_whether_merged_or_in_memory() {
    let (_dir, mut conn) = store();
    let mut index = DedupeIndex::load(&conn).expect("loads");
    let all = keys(200);
    for chunk in all.chunks(20) {
        commit(&mut conn, &mut index, chunk);
    }
    let tx = conn.transaction().expect("begins");
    let pruned = crate::store::sqlite::queue::prune(&tx, 2, 1_000).expect("prunes");
    tx.commit().expect("commits");
    assert_eq!(pruned, 200);
    assert_eq!(merged_rows(&conn), 0, "pruning deletes merged keys");
    let got = commit(&mut conn, &mut index, &all);
    assert!(got.iter().all(|(_, dup)| !dup), "a pruned event's key is new again");
}

#[test]
fn the_migration_moves_existing_keys_into_the_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = Connection::open(dir.path().join("old.db")).expect("opens");
    schema::migrate_to(&mut conn, 7).expect("migrates to 7");
    for (seq, key) in [(1, "a"), (2, "b"), (5, "c")] {
        conn.execute(
            "INSERT INTO events (seq, id, source, dedupe_group, dedupe_key, via, received_at, headers, body, traceparent)
             VALUES (?1, ?2, 's', 'g', ?3, 'webhook', 1, '[]', x'7b7d', 'tp')",
            rusqlite::params![seq, format!("evt_{key}"), key],
        )
        .expect("inserts");
    }
    schema::migrate(&mut conn).expect("migrates the rest");
    assert_eq!(merged_rows(&conn), 3);
    let mut index = DedupeIndex::load(&conn).expect("loads");
    assert_eq!((index.waiting(), watermark(&conn)), (0, 5));
    let got = commit(&mut conn, &mut index, &["b".to_string(), "d".to_string()]);
    assert_eq!(got[0], ("evt_b".to_string(), true));
    assert!(!got[1].1);
    let (seq, tp): (i64, String) = conn
        .query_row("SELECT seq, traceparent FROM events WHERE dedupe_key = 'c'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("kept");
    assert_eq!((seq, tp.as_str()), (5, "tp"), "rows keep their sequence and columns");
    let d: i64 = conn
        .query_row("SELECT seq FROM events WHERE dedupe_key = 'd'", [], |r| r.get(0))
        .expect("new");
    assert!(d > 5, "new events come after the old ones");
}

#[test]
fn a_dedupe_key_search_finds_merged_keys_and_keys_still_in_memory() {
    let (_dir, mut conn) = store();
    let mut index = DedupeIndex::load(&conn).expect("loads");
    let all = keys(150);
    for chunk in all.chunks(10) {
        commit(&mut conn, &mut index, chunk);
    }
    let watermark = watermark(&conn);
    let seq_of = |key: &str| -> i64 {
        conn.query_row("SELECT seq FROM events WHERE dedupe_key = ?1", [key], |r| r.get(0))
            .expect("stored")
    };
    let merged = all.iter().find(|k| seq_of(k) <= watermark).expect("a merged key");
    let waiting = all.iter().find(|k| seq_of(k) > watermark).expect("a key in memory");
    assert_eq!(search(&conn, merged, &["g"]), vec![merged.clone()], "a merged key");
    assert_eq!(search(&conn, waiting, &["g"]), vec![waiting.clone()], "a key in memory");
    assert_eq!(
        search(&conn, merged, &[]),
        vec![merged.clone()],
        "a merged key, no groups given"
    );
    assert!(search(&conn, "evt_absent", &["g"]).is_empty());
}

#[test]
fn a_merge_whose_commit_fails_keeps_its_keys_in_memory() {
    let (_dir, mut conn) = store();
    let mut index = DedupeIndex::load(&conn).expect("loads");
    let all = keys(64);
    commit(&mut conn, &mut index, &all[..63]);
    let waiting = index.waiting();
    {
        // The 64th key starts a sweep whose first slice merges 16 keys; the transaction is
        // dropped, not committed, so `merged` is never told.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begins");
        insert_event(&tx, &mut index, &event(&all[63])).expect("inserts");
        let slice = index.merge_slice(&tx, 1).expect("merges");
        assert!(!slice.keys.is_empty(), "the slice merged keys");
    }
    assert_eq!(merged_rows(&conn), 0, "the merge rolled back");
    assert_eq!(index.waiting(), waiting + 1, "no key left memory");
    let got = commit(&mut conn, &mut index, &all[..63]);
    assert!(got.iter().all(|(_, dup)| *dup), "every committed key is still found");
    let got = commit(&mut conn, &mut index, &all[63..]);
    assert!(!got[0].1, "the rolled-back one is new");
}
