//! What the operating features ask of the store (a supertrait of [`super::Store`], so both
//! stores answer it): destinations paused by an operator, alerts (at most one open per kind
//! and subject, also with several nodes: the database enforces it), when each source last
//! brought an event, rejected requests counted per source and read back whole for a retry.
//! When an alert opens, who is notified and how a retry verifies are not the store's.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Alert, AlertFilter, AlertKind, AlertState, KeptRequest, RejectedFilter};

#[async_trait]
pub trait Operating: Send + Sync {
    /// Pauses (or resumes) `destination`: while paused, no claim of any node takes its
    /// deliveries. Stored, so it survives restarts.
    async fn set_paused(&self, destination: &str, paused: bool, now: i64) -> Result<(), StoreError>;

    /// The paused destinations.
    async fn paused(&self) -> Result<Vec<String>, StoreError>;

    /// Stores `alert` (open) unless an alert of its kind and subject is open already;
    /// true when this call stored it, so exactly one caller of all nodes notifies.
    async fn open_alert(&self, alert: &Alert) -> Result<bool, StoreError>;

    /// Resolves the open alert of `kind` and `subject` at `now`; the alert, when this call
    /// resolved it.
    async fn resolve_alert(&self, kind: AlertKind, subject: &str, now: i64) -> Result<Option<Alert>, StoreError>;

    /// Alerts newest first (by opening), as `filter` asks.
    async fn alerts(&self, filter: AlertFilter) -> Result<Vec<Alert>, StoreError>;

    /// Alerts whose current state's notification is not queued yet, and open ones last
    /// notified (or reminded) before `remind_before`.
    async fn alerts_to_notify(&self, remind_before: Option<i64>) -> Result<Vec<Alert>, StoreError>;

    /// Records that the notification of `state` (or a reminder) was queued at `at`.
    async fn mark_notified(&self, id: &str, state: AlertState, at: i64) -> Result<(), StoreError>;

    /// Raises each source's last event time to the one given (never lowers it).
    async fn touch_sources(&self, seen: Vec<(String, i64)>) -> Result<(), StoreError>;

    /// Every source's last event time (unix ms), as the nodes wrote it.
    async fn source_activity(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Rejected requests per source received at or after `since` (unix ms).
    async fn rejected_counts(&self, since: i64) -> Result<Vec<(String, u64)>, StoreError>;

    /// Per destination with pending deliveries: the oldest one's received time (unix ms).
    async fn oldest_pending(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// How many rejected requests were kept whole and match `filter`.
    async fn count_kept(&self, filter: RejectedFilter) -> Result<u64, StoreError>;

    /// Rejected requests that were kept whole and match `filter`, oldest first, with ids
    /// above `after`, at most `limit`.
    async fn kept_requests(
        &self,
        filter: RejectedFilter,
        after: i64,
        limit: usize,
    ) -> Result<Vec<KeptRequest>, StoreError>;
}
