//! `App::build(settings)` / `app.run(shutdown)`: opens the store, builds the destinations
//! and their delivery workers and the poll sources' pollers, binds both listeners (port 0 works, so tests start the real
//! thing), and runs until the shutdown token fires. Then it drains in order: stop
//! accepting and finish in-flight requests, let in-flight deliveries finish (or release
//! them), flush the writer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Settings, SourceSettings};
use crate::http::serve::{ServeOptions, serve};
use crate::http::{AppState, Shared, admin_router, ingest_router};
use crate::sources::WebhookIntake;
use crate::sources::hydrate::Hydrator;
use crate::sources::poll::Poller;
use crate::store::Store;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::telemetry::feed::Feed;
use crate::workers::alerts::{AlertLoop, Signals};
use crate::workers::{Clock, DeliveryWorker, SystemClock, poll, retention};

/// Open connections the admin listener takes at most (operators and their scripts, not
/// the internet; the ingest listener has `server.max_connections`).
const ADMIN_CONNECTIONS: usize = 256;

pub struct App {
    state: AppState,
    ingest: TcpListener,
    admin: TcpListener,
    workers: Vec<Arc<DeliveryWorker>>,
    pollers: Vec<Arc<Poller>>,
    clock: Arc<dyn Clock>,
    manual_delivery: bool,
}

impl App {
    /// Opens the configured store (SQLite, or PostgreSQL for `postgres://` URLs) and binds
    /// `server.listen` and `admin.listen`.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let keep = crate::domain::RejectedKeep {
            keep: settings.server.rejected_keep,
        };
        let store: Arc<dyn Store> = match &settings.storage.postgres_url {
            Some(url) => Arc::new(PgStore::open(url.expose(), keep, settings.storage.node_timeout).await?),
            None => {
                let path = settings.storage.sqlite_path.clone();
                Arc::new(tokio::task::spawn_blocking(move || SqliteStore::open_with(&path, keep)).await??)
            }
        };
        App::build_with(settings, store, Arc::new(SystemClock)).await
    }

    /// As [`App::build`], with a store and a clock the caller made (tests inject faults and
    /// move time this way).
    pub async fn build_with(settings: Settings, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let mut intakes = HashMap::new();
        for (name, source) in &settings.sources {
            if let SourceSettings::Webhook(w) = source {
                let intake = WebhookIntake::new(w.clone()).with_context(|| format!("source {name}"))?;
                intakes.insert(name.clone(), intake);
            }
        }
        let client = crate::sources::poll::client();
        let hydrators: HashMap<String, Arc<Hydrator>> = settings
            .sources
            .iter()
            .filter_map(|(name, s)| {
                let h = match s {
                    SourceSettings::Webhook(w) => w.hydrate.clone(),
                    SourceSettings::Poll(p) => p.hydrate.clone(),
                }?;
                Some((name.clone(), Arc::new(Hydrator::new(h, client.clone()))))
            })
            .collect();
        let hydrators = Arc::new(hydrators);
        let feed = Arc::new(Feed::default());
        let mut workers = Vec::new();
        for (name, d) in &settings.destinations {
            let destination = crate::destinations::build(d).with_context(|| format!("destination {name}"))?;
            let routed: Vec<String> = settings
                .routes
                .iter()
                .filter(|r| r.to.contains(name))
                .flat_map(|r| r.from.iter().cloned())
                .collect();
            destination
                .check(&routed)
                .await
                .with_context(|| format!("destination {name}"))?;
            workers.push(Arc::new(
                DeliveryWorker::new(d.clone(), destination, store.clone(), clock.clone())
                    .with_hydrators(hydrators.clone())
                    .with_feed(feed.clone()),
            ));
        }
        let wakeup = Arc::new(Notify::new());
        // A pause survives restarts: no claim before the workers know theirs.
        crate::workers::pauses::apply(store.as_ref(), &workers, &wakeup)
            .await
            .context("cannot read the paused destinations")?;
        let ingest = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| format!("cannot listen on {} (server.listen)", settings.server.listen))?;
        let admin = TcpListener::bind(settings.admin.listen)
            .await
            .with_context(|| format!("cannot listen on {} (admin.listen)", settings.admin.listen))?;
        let settings = Arc::new(settings);
        let pollers = settings
            .sources
            .values()
            .filter_map(|s| match s {
                SourceSettings::Poll(p) => Some(Arc::new(
                    Poller::new(
                        p.clone(),
                        settings.clone(),
                        store.clone(),
                        client.clone(),
                        clock.clone(),
                        wakeup.clone(),
                    )
                    .with_feed(feed.clone()),
                )),
                SourceSettings::Webhook(_) => None,
            })
            .collect();
        let state = AppState::new(Shared {
            bodies: crate::http::budget::BodyBudget::new(settings.server.max_inflight_body),
            sessions: Arc::default(),
            settings,
            store,
            intakes: Arc::new(intakes),
            wakeup,
            workers: Arc::new(workers.clone()),
            feed,
            closing: CancellationToken::new(),
        });
        Ok(App {
            state,
            ingest,
            admin,
            workers,
            pollers,
            clock,
            manual_delivery: false,
        })
    }

    /// Don't run the delivery, poll and retention loops: the caller drives
    /// [`DeliveryWorker::run_once`] and [`Poller::run_once`].
    pub fn with_manual_delivery(mut self) -> Self {
        self.manual_delivery = true;
        self
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

    /// The delivery worker of destination `name`.
    pub fn worker(&self, name: &str) -> Option<Arc<DeliveryWorker>> {
        self.workers.iter().find(|w| w.name() == name).cloned()
    }

    /// The pollers of the poll sources.
    pub fn pollers(&self) -> Vec<Arc<Poller>> {
        self.pollers.clone()
    }

    /// Serves until `shutdown` is cancelled, then stops gracefully within
    /// `server.shutdown_timeout`, committing everything that was already accepted.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let settings = self.state.settings.clone();
        let grace = settings.server.shutdown_timeout;
        let options = |max_connections| ServeOptions {
            header_read_timeout: settings.server.read_timeout,
            grace,
            max_connections,
        };
        tracing::info!(ingest = %self.ingest_addr(), admin = %self.admin_addr(), "inlet is listening");

        let (store, wake, stop) = (self.state.store.clone(), self.state.wakeup.clone(), shutdown.clone());
        tokio::spawn(async move { store.listen(wake, stop).await });
        let closing = self.state.closing.clone();
        let stopping = shutdown.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            closing.cancel();
        });
        let mut background = tokio::task::JoinSet::new();
        if !self.manual_delivery {
            for w in &self.workers {
                background.spawn(w.clone().run(self.state.wakeup.clone(), shutdown.clone(), grace));
            }
            // Spread the first runs of many sources over up to 10 ms each (within an interval).
            let spread = Duration::from_millis(10 * self.pollers.len() as u64);
            let (signals, signalled) = Signals::channel();
            for p in &self.pollers {
                let stagger = spread.min(p.source.interval).mul_f64(rand::random::<f64>());
                let (store, clock) = (self.state.store.clone(), self.clock.clone());
                background.spawn(poll::run(
                    p.clone(),
                    store,
                    clock,
                    shutdown.clone(),
                    stagger,
                    signals.clone(),
                ));
            }
            let alerts = AlertLoop::new(
                self.state.settings.clone(),
                self.state.store.clone(),
                self.state.workers.clone(),
                self.pollers.clone(),
                self.state.wakeup.clone(),
                self.clock.clone(),
            );
            background.spawn(alerts.run(signalled, shutdown.clone()));
            background.spawn(crate::workers::pauses::run(
                self.state.store.clone(),
                self.state.workers.clone(),
                self.state.wakeup.clone(),
                shutdown.clone(),
            ));
            let (store, clock) = (self.state.store.clone(), self.clock.clone());
            background.spawn(retention::run(
                store,
                clock,
                settings.storage.retention,
                shutdown.clone(),
            ));
        }
        let ingest = serve(
            self.ingest,
            ingest_router(self.state.clone()),
            shutdown.clone(),
            options(settings.server.max_connections),
        );
        let admin = serve(
            self.admin,
            admin_router(self.state.clone()),
            shutdown.clone(),
            options(ADMIN_CONNECTIONS),
        );
        tokio::join!(ingest, admin);
        while background.join_next().await.is_some() {}

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
