//! Routing: which destinations an event goes to. `[[routes]]` (`routes.rs`: sources, type
//! globs, payload filters in `filter.rs`, the ordering key and version) and
//! [`pending_deliveries`], which turns one event into its pending deliveries, parsing the
//! payload only when a matching route needs its fields. Both the webhook and the poll path
//! call it (through `Settings::pending_deliveries`); it decides nothing about delivery
//! itself.

pub mod filter;
mod routes;

use std::collections::BTreeMap;

use crate::destinations::DestinationSettings;

pub use routes::{Ordering, RouteSettings, parse};

/// The deliveries of one event of `source` with `event_type` and raw `body`, received at
/// `received_at` (unix ms): one per routed destination whose route's filter passes, due
/// after its destination's first delay, with its ordering slot where the route orders.
pub fn pending_deliveries(
    routes: &[RouteSettings],
    destinations: &BTreeMap<String, DestinationSettings>,
    source: &str,
    event_type: Option<&str>,
    body: &[u8],
    received_at: i64,
    occurred_at: Option<i64>,
) -> Vec<crate::domain::PendingDelivery> {
    let mut payload: Option<Option<serde_json::Value>> = None;
    let mut out: Vec<crate::domain::PendingDelivery> = Vec::new();
    for (index, route) in routes.iter().enumerate() {
        if !route.matches(source, event_type) {
            continue;
        }
        let parsed = if route.reads_payload() {
            payload
                .get_or_insert_with(|| serde_json::from_slice(body).ok())
                .as_ref()
        } else {
            None
        };
        if !route.passes(parsed) {
            continue;
        }
        let order = route.ordering.as_ref().and_then(|o| {
            let key = parsed?.pointer(&o.key)?;
            let key = crate::domain::compare::text(key);
            Some(crate::domain::OrderSlot {
                key: format!("{index}:{key}"),
                version: o
                    .version
                    .as_ref()
                    .and_then(|v| parsed?.pointer(v))
                    .map(|v| v.to_string()),
                at: occurred_at.unwrap_or(received_at),
            })
        });
        for name in &route.to {
            if out.iter().any(|d| &d.destination == name) {
                continue;
            }
            let Some(d) = destinations.get(name) else { continue };
            let first = d.retry.first().copied().unwrap_or_default();
            out.push(crate::domain::PendingDelivery {
                destination: name.clone(),
                due_at: received_at + first.as_millis() as i64,
                order: order.clone(),
            });
        }
    }
    out
}
