//! Which (dedupe group, dedupe key) pairs already have an event, for the writer. A unique
//! index on the events table would take one random page of the index per event (providers'
//! ids come in no order), written to the WAL, flushed and checkpointed again: ~40 % of the
//! store's page writes. Instead the writer keeps the keys of its newest events in memory and
//! merges them into `dedupe_keys` in key order, a slice per commit, in sweeps over all of
//! them once 16,384 are waiting: a page of the index is then written once per sweep
//! for all the keys that land on it.
//!
//! The invariant: every event up to the watermark (`dedupe_merged.seq`) has its key in
//! `dedupe_keys`; the keys of every event past it are in memory (read back at start). A key
//! in memory may be stale (its commit failed, or its event was pruned), and so may a merged
//! one, so a hit counts only when the event with that sequence carries the same key.
//! Sequences are the writer's: never reused while it runs, never at or below the watermark.
//!
//! Not here: the event's row and deliveries (`writer::insert_event`), pruning (`queue`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Keys waiting in memory that start a sweep (~2 MiB of them).
#[cfg(not(test))]
const SWEEP_AT: usize = 16_384;
#[cfg(test)]
const SWEEP_AT: usize = 64;
/// Keys a commit merges during a sweep, at least (twice the events it inserted, if more).
#[cfg(not(test))]
const SLICE: usize = 256;
#[cfg(test)]
const SLICE: usize = 16;
/// Between a group and a key in memory: a byte no UTF-8 text holds, so the pair is
/// unambiguous and sorts by group, then by key as SQLite does.
const SEPARATOR: u8 = 0xFF;

pub struct DedupeIndex {
    /// Group, separator, key → the event's sequence: the keys not merged yet.
    recent: BTreeMap<Vec<u8>, i64>,
    next_seq: i64,
    sweep: Option<Sweep>,
    probe: Vec<u8>,
}

struct Sweep {
    /// The last key merged; the sweep goes on after it.
    after: Option<Vec<u8>>,
    /// The newest event when the sweep began: merged, with all before it, once it ends.
    upto: i64,
}

/// What a commit's merge slice wrote, applied to memory once the commit holds.
#[derive(Default)]
pub struct Slice {
    keys: Vec<Vec<u8>>,
    /// The sweep ended with this slice: the new watermark.
    ended: Option<i64>,
}

impl DedupeIndex {
    /// Reads the watermark and the keys of every event past it.
    pub fn load(conn: &Connection) -> rusqlite::Result<DedupeIndex> {
        let watermark: i64 = conn
            .query_row("SELECT seq FROM dedupe_merged WHERE id = 1", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let newest: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        let mut index = DedupeIndex {
            recent: BTreeMap::new(),
            next_seq: newest.max(watermark) + 1,
            sweep: None,
            probe: Vec::new(),
        };
        let mut rows = conn.prepare("SELECT dedupe_group, dedupe_key, seq FROM events WHERE seq > ?1")?;
        let mut rows = rows.query([watermark])?;
        while let Some(r) = rows.next()? {
            let (group, key): (String, String) = (r.get(0)?, r.get(1)?);
            index.remember(&group, &key, r.get(2)?);
        }
        Ok(index)
    }

    /// The id of the stored event of `group` and `key`, if there is one.
    pub fn find(&mut self, tx: &Transaction<'_>, group: &str, key: &str) -> rusqlite::Result<Option<String>> {
        self.set_probe(group, key);
        if let Some(&seq) = self.recent.get(self.probe.as_slice())
            && let Some(id) = event_id(tx, seq, group, key)?
        {
            return Ok(Some(id));
        }
        let merged: Option<i64> = tx
            .prepare_cached("SELECT seq FROM dedupe_keys WHERE dedupe_group = ?1 AND dedupe_key = ?2")?
            .query_row(params![group, key], |r| r.get(0))
            .optional()?;
        match merged {
            Some(seq) => event_id(tx, seq, group, key),
            None => Ok(None),
        }
    }

    /// The sequence for a new event (one the writer never gave before).
    pub fn next_seq(&mut self) -> i64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The event `seq` holds `group` and `key` (its transaction may still fail).
    pub fn remember(&mut self, group: &str, key: &str, seq: i64) {
        self.set_probe(group, key);
        match self.recent.get_mut(self.probe.as_slice()) {
            Some(s) => *s = seq,
            None => {
                self.recent.insert(self.probe.clone(), seq);
            }
        }
    }

    /// Merges the next slice of a sweep, starting one when enough keys wait; `inserted`
    /// events were added in this transaction. Memory changes only in [`DedupeIndex::merged`].
    pub fn merge_slice(&mut self, tx: &Transaction<'_>, inserted: usize) -> rusqlite::Result<Slice> {
        if self.sweep.is_none() && self.recent.len() >= SWEEP_AT {
            self.sweep = Some(Sweep {
                after: None,
                upto: self.next_seq - 1,
            });
        }
        let Some(sweep) = &self.sweep else {
            return Ok(Slice::default());
        };
        let take = SLICE.max(2 * inserted);
        let from = sweep.after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        // A key whose event is gone (pruned, or its commit failed) is not merged.
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO dedupe_keys (dedupe_group, dedupe_key, seq)
             SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM events WHERE seq = ?3)",
        )?;
        let mut keys = Vec::with_capacity(take);
        for (pair, seq) in self.recent.range::<[u8], _>((from, Bound::Unbounded)).take(take) {
            let (group, key) = split(pair);
            insert.execute(params![group, key, seq])?;
            keys.push(pair.clone());
        }
        let ended = (keys.len() < take).then_some(sweep.upto);
        if let Some(upto) = ended {
            tx.prepare_cached("INSERT OR REPLACE INTO dedupe_merged (id, seq) VALUES (1, ?1)")?
                .execute([upto])?;
        }
        Ok(Slice { keys, ended })
    }

    /// The commit that carried `slice` holds: its keys leave memory.
    pub fn merged(&mut self, slice: Slice) {
        let Some(sweep) = &mut self.sweep else { return };
        if let Some(last) = slice.keys.last() {
            sweep.after = Some(last.clone());
        }
        for pair in &slice.keys {
            self.recent.remove(pair);
        }
        if slice.ended.is_some() {
            self.sweep = None;
        }
    }

    fn set_probe(&mut self, group: &str, key: &str) {
        self.probe.clear();
        self.probe.extend_from_slice(group.as_bytes());
        self.probe.push(SEPARATOR);
        self.probe.extend_from_slice(key.as_bytes());
    }

    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.recent.len()
    }
}

/// The id of event `seq` if it is still stored and carries `group` and `key`.
fn event_id(tx: &Transaction<'_>, seq: i64, group: &str, key: &str) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached("SELECT id FROM events WHERE seq = ?1 AND dedupe_group = ?2 AND dedupe_key = ?3")?
        .query_row(params![seq, group, key], |r| r.get(0))
        .optional()
}

/// A memory key's group and key (both were UTF-8 text when they went in).
fn split(pair: &[u8]) -> (Cow<'_, str>, Cow<'_, str>) {
    let at = pair.iter().position(|b| *b == SEPARATOR).unwrap_or(pair.len());
    let key = pair.get(at + 1..).unwrap_or_default();
    (String::from_utf8_lossy(&pair[..at]), String::from_utf8_lossy(key))
}

#[cfg(test)]
mod tests;
