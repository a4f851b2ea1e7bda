//! The HTTP surfaces: the public ingest listener (`POST /webhooks/{source}`, health) and
//! the admin listener (`admin/`: the admin API; `dashboard/`: the pages; health). Only axum lives here;
//! handlers call `sources` and `store` and map their answers to statuses.

pub mod admin;
pub mod budget;
pub(crate) mod dashboard;
mod health;
mod ingest;
pub mod serve;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::sources::WebhookIntake;
use crate::store::Store;

/// What the handlers share, behind one `Arc`: each request clones one pointer, not ten.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The handlers' shared parts.
pub struct Shared {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub intakes: Arc<HashMap<String, WebhookIntake>>,
    /// Woken after each new event is committed, so delivery starts at once.
    pub wakeup: Arc<Notify>,
    /// The delivery workers, for their circuit states.
    pub workers: Arc<Vec<Arc<crate::workers::DeliveryWorker>>>,
    /// New events and delivery outcomes, for `/api/v1/stream`.
    pub feed: Arc<crate::telemetry::feed::Feed>,
    /// The dashboard's signed-in sessions.
    pub sessions: Arc<dashboard::session::Sessions>,
    /// Bytes of ingest bodies being read at once (`server.max_inflight_body`).
    pub bodies: Arc<budget::BodyBudget>,
    /// Cancelled when the app stops: ends long-lived responses (the stream) so the
    /// listeners can drain.
    pub closing: tokio_util::sync::CancellationToken,
}

/// `POST /webhooks/{source}`, `GET /healthz`, `GET /readyz`; nothing else.
pub fn ingest_router(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/{source}", post(ingest::receive).get(ingest::probe))
        .merge(health::routes())
        .with_state(state)
}

/// The admin listener: the admin API behind its token, and health checks.
pub fn admin_router(state: AppState) -> Router {
    admin::router(state)
}

/// `POST /webhooks/{source}` answering 200 with no work: the ceiling the ingest benchmark compares against.
pub fn bare_router() -> Router {
    Router::new().route("/webhooks/{source}", post(|| async { "ok" }))
}
