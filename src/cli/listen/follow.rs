//! Which stored events come next, in arrival order, each once per run. The admin API lists
//! events oldest first `after` a cursor; this keeps the cursors handled so far and asks
//! again from a little before the newest of them, so an event that committed late on
//! another node (its cursor below one already seen) is still found, and none is handled
//! twice.
//!
//! Not here: what happens to an event (`forward.rs`), when to ask (`mod.rs`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::api::{Api, Failure};

/// How far back, in arrival time, each question reaches below the newest event handled:
/// longer than any commit takes.
const OVERLAP_MS: i64 = 5_000;
const PAGE: usize = 200;

/// One listed event.
pub struct Listed {
    pub cursor: i64,
    pub received_at: i64,
    pub summary: Value,
}

pub struct Follow {
    /// Every cursor at or below this one is handled.
    floor: i64,
    /// Handled cursors above the floor, with their arrival times (unix ms).
    handled: BTreeMap<i64, i64>,
    newest: i64,
    /// `since`, for a run that starts with a past window.
    since: Option<String>,
}

impl Follow {
    /// Events after `cursor` (and received within `since`, when given).
    pub fn after(cursor: i64, since: Option<String>) -> Follow {
        Follow {
            floor: cursor,
            handled: BTreeMap::new(),
            newest: i64::MIN,
            since,
        }
    }

    /// The events not handled yet, oldest first (one page at a time); empty when none.
    pub async fn next(&mut self, api: &Api) -> Result<Vec<Listed>, Failure> {
        let mut after = self.floor;
        loop {
            let mut path = format!("/api/v1/events?after={after}&limit={PAGE}");
            if let Some(since) = &self.since {
                path.push_str(&format!("&since={since}"));
            }
            let page = api.json(&path).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            let fresh: Vec<Listed> = items
                .into_iter()
                .filter_map(|summary| {
                    let cursor = summary["cursor"].as_str()?.parse::<i64>().ok()?;
                    let received_at = summary["received_at"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map_or(0, |t| t.timestamp_millis());
                    Some(Listed {
                        cursor,
                        received_at,
                        summary,
                    })
                })
                .filter(|l| l.cursor > self.floor && !self.handled.contains_key(&l.cursor))
                .collect();
            if !fresh.is_empty() {
                return Ok(fresh);
            }
            match page["next_cursor"].as_str().and_then(|c| c.parse::<i64>().ok()) {
                Some(next) if next > after => after = next,
                _ => return Ok(Vec::new()),
            }
        }
    }

    /// `listed` was forwarded (or is not one to forward): never again in this run.
    pub fn handled(&mut self, listed: &Listed) {
        self.handled.insert(listed.cursor, listed.received_at);
        self.newest = self.newest.max(listed.received_at);
        // The floor rises through the handled cursors that arrived well before the newest.
        let horizon = self.newest - OVERLAP_MS;
        while let Some((&cursor, &at)) = self.handled.first_key_value() {
            if at >= horizon {
                break;
            }
            self.floor = cursor;
            self.handled.remove(&cursor);
        }
    }
}
