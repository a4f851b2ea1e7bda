//! When each source last brought a new event, on this node, since the alert loop last
//! took them: a map the ingest and poll paths raise (one lock per event, as the charts'
//! series) and the alert loop drains once a second into the store, where every node's
//! `silent` check reads them.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn seen() -> &'static Mutex<HashMap<String, i64>> {
    static SEEN: OnceLock<Mutex<HashMap<String, i64>>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

/// `source` brought an event received at `at` (unix ms).
pub fn record(source: &str, at: i64) {
    let mut map = seen().lock().unwrap_or_else(|p| p.into_inner());
    match map.get_mut(source) {
        Some(last) => *last = (*last).max(at),
        None => {
            map.insert(source.to_string(), at);
        }
    }
}

/// Everything recorded since the last call.
pub fn take() -> Vec<(String, i64)> {
    let mut map = seen().lock().unwrap_or_else(|p| p.into_inner());
    map.drain().collect()
}

/// Puts back what could not be stored, so the next flush tries again.
pub fn restore(items: Vec<(String, i64)>) {
    for (source, at) in items {
        record(&source, at);
    }
}
