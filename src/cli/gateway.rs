//! `inlet serve`, `inlet check`, `inlet init` and `inlet backup`. `check` shows every URL through
//! `domain::mask_url` and never a secret, an argument or an `env` value.

use std::path::Path;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::{Settings, SourceSettings};
use crate::domain::mask_url;
use crate::{App, telemetry};

const STARTER: &str = include_str!("starter.toml");

pub fn serve(config: &Path) -> ExitCode {
    let settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", config.display());
            return ExitCode::FAILURE;
        }
    };
    let traces = telemetry::init(settings.telemetry.otlp.as_deref(), settings.telemetry.service());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let app = App::build(settings).await?;
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        app.run(shutdown).await
    });
    if let Some(traces) = traces {
        traces.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "inlet failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            let _ = ctrl_c.await;
            shutdown.cancel();
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping: finishing in-flight requests and commits");
    shutdown.cancel();
}

pub fn check(config: &Path) -> ExitCode {
    let settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", config.display());
            return ExitCode::FAILURE;
        }
    };
    println!("{}: ok", config.display());
    let store = match &settings.storage.postgres_url {
        Some(url) => format!("PostgreSQL {}", mask_url(url.expose())),
        None => settings.storage.sqlite_path.display().to_string(),
    };
    println!(
        "ingest: {}   admin: {}   store: {store}",
        settings.server.listen, settings.admin.listen
    );
    println!("sources:");
    for (name, source) in &settings.sources {
        let hydrate = match source {
            SourceSettings::Webhook(w) => {
                println!(
                    "  {name:<20} webhook  scheme={:<9} secrets={}  group={}  POST /webhooks/{name}",
                    w.spec.name(),
                    w.secrets.len(),
                    w.dedupe_group
                );
                &w.hydrate
            }
            SourceSettings::Poll(p) => {
                println!(
                    "  {name:<20} poll     every {}s (idle {}s)  group={}  GET {}",
                    p.interval.as_secs(),
                    p.idle_interval.as_secs(),
                    p.dedupe_group,
                    p.shown_url()
                );
                &p.hydrate
            }
        };
        if let Some(h) = hydrate {
            println!("  {:<20} hydrate  GET {}", "", h.shown_url);
        }
    }
    println!("destinations:");
    for (name, d) in &settings.destinations {
        let target = d.kind.describe();
        println!("  {name:<20} {target}");
    }
    if let Some(otlp) = &settings.telemetry.otlp {
        println!(
            "traces: OTLP/HTTP to {}/v1/traces as {}",
            mask_url(otlp).trim_end_matches("/v1/traces"),
            settings.telemetry.service()
        );
    }
    let alerts = &settings.alerts;
    if !alerts.notify.is_empty() {
        println!(
            "alerts: notify {}   backlog {}s   rejected > {} in 5 min   repeat {}",
            alerts.notify.join(", "),
            alerts.backlog.as_secs(),
            alerts.rejected,
            alerts
                .repeat
                .map_or("never".to_string(), |d| format!("every {}s", d.as_secs()))
        );
        for name in alerts.self_notified() {
            println!(
                "  warning: alerts about destination {name} can only go through {name} itself; add a second notify destination"
            );
        }
    }
    println!("routes:");
    for r in &settings.routes {
        let mut extra = String::new();
        if !r.filter.is_empty() {
            extra.push_str(&format!("  filter: {} condition(s)", r.filter.len()));
        }
        if let Some(o) = &r.ordering {
            extra.push_str(&format!("  ordered by {}", o.key));
            if let Some(v) = &o.version {
                extra.push_str(&format!(" (version {v})"));
            }
        }
        println!(
            "  {} [{}] -> {}{extra}",
            r.from.join(", "),
            r.events.join(", "),
            r.to.join(", ")
        );
    }
    ExitCode::SUCCESS
}

/// `inlet backup FILE`: a consistent copy of the SQLite store, made while the gateway runs.
pub fn backup(config: &Path, file: &Path) -> ExitCode {
    let settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", config.display());
            return ExitCode::FAILURE;
        }
    };
    if let Some(url) = &settings.storage.postgres_url {
        eprintln!(
            "error: the store is PostgreSQL ({}): back it up with its own tools (pg_dump, or a base backup)",
            mask_url(url.expose())
        );
        return ExitCode::FAILURE;
    }
    let db = &settings.storage.sqlite_path;
    match crate::store::sqlite::backup::copy(db, file) {
        Ok(size) => {
            println!(
                "backed up {} to {} ({:.1} MiB)",
                db.display(),
                file.display(),
                size as f64 / f64::from(1 << 20)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn init(config: &Path) -> ExitCode {
    if config.exists() {
        eprintln!("error: {} exists; inlet init does not overwrite", config.display());
        return ExitCode::FAILURE;
    }
    // The admin token is random and the file holds it: only its owner may read it.
    let token = hex::encode(rand::random::<[u8; 24]>());
    let text = STARTER.replace("{RANDOM_TOKEN}", &token);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(config)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    match written {
        Ok(()) => {
            println!(
                "wrote {}; set the variables it names, then run: inlet serve -c {}",
                config.display(),
                config.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", config.display());
            ExitCode::FAILURE
        }
    }
}
