//! `App::build(settings)` / `app.run(shutdown)`: opens the store, binds both listeners
//! (port 0 works, so tests start the real thing), and runs until the shutdown token fires,
//! then drains in order: stop accepting, finish in-flight requests, flush the writer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Settings, SourceSettings};
use crate::http::serve::{ServeOptions, serve};
use crate::http::{AppState, admin_router, ingest_router};
use crate::sources::WebhookIntake;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

pub struct App {
    state: AppState,
    ingest: TcpListener,
    admin: TcpListener,
}

impl App {
    /// Opens the configured store and binds `server.listen` and `admin.listen`.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let path = settings.storage.sqlite_path.clone();
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path)).await??;
        App::build_with_store(settings, Arc::new(store)).await
    }

    /// As [`App::build`], with a store the caller made (tests inject faults this way).
    pub async fn build_with_store(
        settings: Settings,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<App> {
        let mut intakes = HashMap::new();
        for (name, source) in &settings.sources {
            let SourceSettings::Webhook(w) = source;
            let intake = WebhookIntake::new(w.clone()).with_context(|| format!("source {name}"))?;
            intakes.insert(name.clone(), intake);
        }
        let ingest = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (server.listen)",
                    settings.server.listen
                )
            })?;
        let admin = TcpListener::bind(settings.admin.listen)
            .await
            .with_context(|| {
                format!("cannot listen on {} (admin.listen)", settings.admin.listen)
            })?;
        let state = AppState {
            settings: Arc::new(settings),
            store,
            intakes: Arc::new(intakes),
            wakeup: Arc::new(Notify::new()),
        };
        Ok(App {
            state,
            ingest,
            admin,
        })
    }

    pub fn ingest_addr(&self) -> SocketAddr {
        self.ingest
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.server.listen)
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.admin.listen)
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Serves until `shutdown` is cancelled, then stops gracefully within
    /// `server.shutdown_timeout`, committing everything that was already accepted.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let server = &self.state.settings.server;
        let options = || ServeOptions {
            header_read_timeout: server.read_timeout,
            grace: server.shutdown_timeout,
        };
        tracing::info!(ingest = %self.ingest_addr(), admin = %self.admin_addr(), "inlet is listening");
        let ingest = serve(
            self.ingest,
            ingest_router(self.state.clone()),
            shutdown.clone(),
            options(),
        );
        let admin = serve(
            self.admin,
            admin_router(self.state.clone()),
            shutdown.clone(),
            options(),
        );
        tokio::join!(ingest, admin);
        self.state.store.close().await;
        let stats = self.state.store.write_stats();
        let per_commit = stats.ops as f64 / stats.commits.max(1) as f64;
        tracing::info!(
            commits = stats.commits,
            ops = stats.ops,
            ops_per_commit = format!("{per_commit:.1}"),
            "inlet stopped"
        );
        Ok(())
    }
}
