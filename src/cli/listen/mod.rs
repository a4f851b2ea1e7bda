//! `inlet listen`: a running inlet's events on a developer's machine. It connects out to the
//! admin API (nothing listens on the laptop), lists the events oldest first after the last
//! one it handled, wakes on the live stream (and every second, which also finds events
//! that came in on another node), and POSTs each to `--forward-to`, re-signed so the app
//! verifies it with its provider's own SDK. A lost connection is said, retried with
//! backoff, and followed by every event that arrived meanwhile, once, in order.
//!
//! Files: `api.rs` (the admin API and its failures), `follow.rs` (what is next),
//! `forward.rs` (one event to the app), `screen.rs` (what is printed), `secret.rs` (the
//! kept secret).

mod api;
mod follow;
mod forward;
mod screen;
mod secret;

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::ListenArgs;
use api::{Api, Failure};
use follow::Follow;
use forward::{Forwarder, Signer};
use screen::{Header, Screen};

pub use forward::Format;

pub fn listen(config: &Path, args: ListenArgs) -> ExitCode {
    let client = match super::admin::client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    super::admin::block_on(async move {
        tokio::select! {
            result = run(client, args) => result,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// The sources followed: how each is signed in `raw` format, what the header says of them.
struct Chosen {
    signers: HashMap<String, Signer>,
    shown: Vec<(String, String)>,
    warnings: Vec<String>,
}

/// The webhook and poll sources to follow; an unknown name is an error naming the ones
/// there are.
fn choose(listed: &Value, wanted: &[String]) -> Result<Chosen, String> {
    let all: Vec<&Value> = listed["items"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let names: Vec<&str> = all.iter().filter_map(|s| s["name"].as_str()).collect();
    if let Some(unknown) = wanted.iter().find(|w| !names.contains(&w.as_str())) {
        return Err(format!(
            "inlet has no source {unknown:?}; it has: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    let (mut signers, mut shown, mut warnings) = (HashMap::new(), Vec::new(), Vec::new());
    for source in all {
        let Some(name) = source["name"].as_str() else { continue };
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let scheme = source["scheme"].as_str();
        let signer = match scheme.and_then(crate::providers::SchemeSpec::find) {
            Some(spec) => {
                shown.push((name.to_string(), spec.name().to_string()));
                Signer::Scheme(Box::new(spec))
            }
            None => {
                if let Some(scheme) = scheme {
                    warnings.push(format!(
                        "{name}: scheme {scheme:?} is not one this inlet knows; signed as Standard Webhooks"
                    ));
                }
                shown.push((name.to_string(), "standard webhooks".to_string()));
                Signer::Standard
            }
        };
        signers.insert(name.to_string(), signer);
    }
    Ok(Chosen {
        signers,
        shown,
        warnings,
    })
}

async fn run(client: super::admin::AdminClient, args: ListenArgs) -> Result<(), String> {
    let to = reqwest::Url::parse(&args.forward_to)
        .map_err(|e| format!("--forward-to {:?} is not a URL: {e}", args.forward_to))?
        .to_string();
    let (secret, origin) = secret::load(args.secret.as_deref())?;
    let api = Arc::new(Api { client });
    let gateway = crate::domain::mask_url(api.client.base());
    let sources = api.json("/api/v1/sources").await.map_err(|e| e.to_string())?;
    let Chosen {
        signers,
        shown,
        mut warnings,
    } = choose(&sources, &args.sources)?;
    let format = match args.format {
        super::ListenFormat::Raw => Format::Raw,
        super::ListenFormat::Envelope => Format::Envelope,
    };
    if format == Format::Envelope && !secret.starts_with("whsec_") {
        warnings.push("envelope: Standard Webhooks SDKs expect a secret that starts with whsec_".into());
    }
    let screen = Screen::new();
    // Where to start: after the newest event now, or from the `--since` window.
    let mut follow = match &args.since {
        Some(since) => {
            crate::config::values::parse_duration(since).map_err(|e| format!("--since {since:?}: {e}"))?;
            Follow::after(0, Some(since.clone()))
        }
        None => {
            let newest = api.json("/api/v1/events?limit=1").await.map_err(|e| e.to_string())?;
            let head = newest["items"][0]["cursor"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            Follow::after(head, None)
        }
    };
    screen.header(&Header {
        gateway: &gateway,
        sources: shown,
        events: &args.events,
        format,
        to: &to,
        secret: &secret,
        origin: &origin,
        since: args.since.as_deref(),
        warnings,
    });
    let forwarder = Forwarder {
        http: reqwest::Client::new(),
        to,
        format,
        secret: crate::signature::Secret::new(secret),
        signers,
    };
    let wake = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(stream_wakes(api.clone(), wake.clone()));
    let wanted = |summary: &Value| {
        let source = summary["source"].as_str().unwrap_or_default();
        let event_type = summary["type"].as_str().unwrap_or_default();
        forwarder.signers.contains_key(source)
            && (args.events.is_empty()
                || args
                    .events
                    .iter()
                    .any(|g| crate::domain::values::glob_matches(g, event_type)))
    };
    let mut lost: Option<Duration> = None;
    loop {
        let outcome = async {
            let listed = follow.next(&api).await?;
            if lost.take().is_some() {
                screen.note(&format!(
                    "reconnected to inlet at {gateway}; forwarding what arrived meanwhile"
                ));
            }
            let any = !listed.is_empty();
            for item in listed {
                if wanted(&item.summary) {
                    forwarder.forward(&api, &item.summary, &screen).await?;
                }
                follow.handled(&item);
            }
            Ok::<bool, Failure>(any)
        }
        .await;
        match outcome {
            Ok(true) => continue,
            Ok(false) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
            }
            Err(failure) if failure.passes() => {
                let wait = match lost {
                    None => {
                        screen.note(&format!("lost the connection to inlet: {failure}; reconnecting"));
                        Duration::from_secs(1)
                    }
                    Some(w) => (w * 2).min(Duration::from_secs(10)),
                };
                lost = Some(wait);
                tokio::time::sleep(wait).await;
            }
            Err(failure) => return Err(failure.to_string()),
        }
    }
}

/// Rings `wake` at each new event on the live stream, reconnecting when it drops (the
/// list is what is forwarded; this only makes it prompt).
async fn stream_wakes(api: Arc<Api>, wake: Arc<tokio::sync::Notify>) {
    loop {
        let _ = api
            .client
            .stream("/api/v1/stream", |line| {
                if line == "event: event" {
                    wake.notify_one();
                }
            })
            .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
