//! The serve loop shared by the ingest and admin listeners: hyper's HTTP/1 with a
//! header-read timeout (a slow-header client cannot hold a connection), at most
//! `max_connections` open connections (the next ones wait in the kernel's accept queue),
//! and a graceful stop that lets in-flight requests finish within a deadline.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub struct ServeOptions {
    pub header_read_timeout: Duration,
    /// How long in-flight requests may take to finish once `shutdown` fires.
    pub grace: Duration,
    /// Open connections at most; the loop accepts the next one only when one closes.
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown`, then drains connections.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken, options: ServeOptions) {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .keep_alive(true);
    let open = Arc::new(Semaphore::new(options.max_connections.min(Semaphore::MAX_PERMITS)));
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit,
            () = shutdown.cancelled() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(options.grace) => {
            tracing::warn!(grace_ms = options.grace.as_millis() as u64, "connections still open after the shutdown deadline");
        }
    }
}
