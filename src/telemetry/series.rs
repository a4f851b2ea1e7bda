//! Per-minute counts over the last hour, for the dashboard's charts: webhooks and polled
//! events per source, delivery attempts per destination and outcome. Kept in memory by
//! the same hooks that feed the metrics; a restart starts them empty.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// Minutes kept.
pub const MINUTES: usize = 60;

#[derive(Default)]
struct Series {
    /// Per family, per label: counts per minute.
    counts: BTreeMap<&'static str, BTreeMap<String, BTreeMap<i64, u64>>>,
}

fn series() -> &'static Mutex<Series> {
    static SERIES: OnceLock<Mutex<Series>> = OnceLock::new();
    SERIES.get_or_init(|| Mutex::new(Series::default()))
}

fn minute(now_ms: i64) -> i64 {
    now_ms.div_euclid(60_000)
}

/// Counts one occurrence of `label` in `family` (`ingest`, `delivered`, `failed`) now.
pub fn record(family: &'static str, label: &str, now_ms: i64) {
    let m = minute(now_ms);
    let mut s = series().lock().unwrap_or_else(|p| p.into_inner());
    let labels = s.counts.entry(family).or_default();
    if !labels.contains_key(label) {
        labels.insert(label.to_string(), BTreeMap::new());
    }
    let Some(buckets) = labels.get_mut(label) else { return };
    *buckets.entry(m).or_default() += 1;
    // Forget what fell out of the hour.
    while buckets.first_key_value().is_some_and(|(k, _)| *k <= m - MINUTES as i64) {
        buckets.pop_first();
    }
}

/// The last hour of `family` per label: 60 counts, oldest minute first.
pub fn last_hour(family: &str, now_ms: i64) -> Vec<(String, Vec<u64>)> {
    let m = minute(now_ms);
    let s = series().lock().unwrap_or_else(|p| p.into_inner());
    s.counts
        .get(family)
        .into_iter()
        .flatten()
        .map(|(label, buckets)| {
            let counts = (0..MINUTES as i64)
                .map(|i| buckets.get(&(m - (MINUTES as i64 - 1) + i)).copied().unwrap_or(0))
                .collect();
            (label.clone(), counts)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_minute_and_fall_out_after_an_hour() {
        let t = 1_800_000_000_000;
        record("test_family", "a", t);
        record("test_family", "a", t + 60_000);
        record("test_family", "a", t + 60_500);
        let now = t + 60_000;
        let got = last_hour("test_family", now);
        assert_eq!(got.len(), 1);
        let counts = &got[0].1;
        assert_eq!(counts.len(), MINUTES);
        assert_eq!(counts[MINUTES - 1], 2);
        assert_eq!(counts[MINUTES - 2], 1);
        let later = last_hour("test_family", now + 3_600_000);
        assert!(later[0].1.iter().all(|c| *c == 0));
    }
}
