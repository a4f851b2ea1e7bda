//! `inlet providers` (list, `--json`, `show NAME` with a sample config) and `inlet
//! trigger` (a provider's sample event, fresh ids and times, signed as the provider signs,
//! sent to this config's source or `--to URL`). Both read the provider files built into
//! the binary; `trigger` also reads the config for the target and the secret.

use std::path::Path;
use std::process::ExitCode;

use super::tools::{post, usage};
use super::{ProvidersAction, ProvidersArgs, TriggerArgs};
use crate::config::{Settings, SourceSettings, WebhookSource};
use crate::providers::{Locator, Provider, SchemeSpec, registry, render};
use crate::signature::{Family, Secret, SignInput};

fn places(ls: &[Locator]) -> String {
    if ls.is_empty() {
        return "-".into();
    }
    ls.iter().map(Locator::to_string).collect::<Vec<_>>().join(", ")
}

/// One provider as `providers --json` prints it.
fn summary(p: &Provider) -> serde_json::Value {
    serde_json::json!({
        "name": p.name,
        "title": p.title,
        "family": p.verify.name(),
        "signature_headers": p.verify.signature_headers(),
        "tolerance_seconds": p.verify.default_tolerance().map(|d| d.as_secs()),
        "signs_url": p.verify.needs_url(),
        "id": p.event.id.iter().map(Locator::to_string).collect::<Vec<_>>(),
        "type": p.event.event_type.iter().map(Locator::to_string).collect::<Vec<_>>(),
        "handshakes": p.handshakes.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
        "events": p.samples.iter().map(|s| s.event.as_str()).collect::<Vec<_>>(),
        "docs": p.docs,
    })
}

/// The config a source of this provider needs, as `providers show` prints it.
pub fn sample_config(p: &Provider) -> String {
    let upper = p.name.to_ascii_uppercase();
    let mut out = format!("[sources.{}]\nscheme = \"{}\"\n", p.name, p.name);
    match &p.verify {
        Family::None => out.push_str("allow_unsigned = true\n"),
        Family::Ed25519(_) | Family::Ecdsa => {
            out.push_str(&format!("secrets = [\"${{{upper}_PUBLIC_KEY}}\"]\n"));
        }
        Family::Basic => out.push_str(&format!("secrets = [\"${{{upper}_USER}}:${{{upper}_PASSWORD}}\"]\n")),
        Family::Hmac(_) | Family::Standard(_) | Family::UrlForm(_) | Family::BodyFields | Family::Token(_) => {
            out.push_str(&format!("secrets = [\"${{{upper}_SECRET}}\"]\n"));
        }
    }
    if p.configurable {
        out.push_str("header = \"X-Signature\"\nalgorithm = \"sha256\"\nencoding = \"hex\"\n");
    }
    if p.verify.needs_url() {
        out.push_str(&format!(
            "public_url = \"https://hooks.example.com/webhooks/{}\"  # exactly as registered\n",
            p.name
        ));
    }
    if p.handshakes.contains(&crate::providers::Handshake::MetaVerifyToken) {
        out.push_str(&format!("verify_token = \"${{{upper}_VERIFY_TOKEN}}\"\n"));
    }
    out
}

pub fn providers(args: ProvidersArgs) -> ExitCode {
    let all = &registry().providers;
    match args.action {
        Some(ProvidersAction::Show { name }) => {
            let Some(p) = all.iter().find(|p| p.name == name) else {
                return usage(format!("unknown provider {name:?}; `inlet providers` lists them"));
            };
            if args.json {
                println!("{}", summary(p));
                return ExitCode::SUCCESS;
            }
            println!("{} ({})", p.title, p.name);
            println!("verifies:   {}", crate::providers::verifies(p));
            if let Some(t) = p.verify.default_tolerance() {
                println!("window:     {} s", t.as_secs());
            }
            println!("id:         {}", places(&p.event.id));
            println!("type:       {}", places(&p.event.event_type));
            let hs: Vec<_> = p.handshakes.iter().map(|h| h.as_str()).collect();
            println!("handshakes: {}", if hs.is_empty() { "-".into() } else { hs.join(", ") });
            let evs: Vec<_> = p.samples.iter().map(|s| s.event.as_str()).collect();
            println!(
                "trigger:    {}",
                if evs.is_empty() { "-".into() } else { evs.join(", ") }
            );
            println!("docs:       {}", p.docs);
            if let Some(n) = &p.notes {
                println!("notes:      {n}");
            }
            println!("\n{}", sample_config(p));
            ExitCode::SUCCESS
        }
        None if args.markdown => {
            print!("{}", crate::providers::markdown());
            ExitCode::SUCCESS
        }
        None if args.json => {
            println!("{}", serde_json::Value::Array(all.iter().map(summary).collect()));
            ExitCode::SUCCESS
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) ends the listing quietly.
            let _ = writeln!(
                out,
                "{:<14} {:<11} {:<36} {:<34} {:<34} HANDSHAKES",
                "NAME", "FAMILY", "SIGNATURE HEADER", "ID", "TYPE"
            );
            for p in all {
                let hs: Vec<_> = p.handshakes.iter().map(|h| h.as_str()).collect();
                let header = p
                    .verify
                    .signature_headers()
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "-".into());
                let first = |ls: &[Locator]| ls.first().map_or_else(|| "-".to_string(), Locator::to_string);
                let _ = writeln!(
                    out,
                    "{:<14} {:<11} {:<36} {:<34} {:<34} {}",
                    p.name,
                    p.verify.name(),
                    header,
                    first(&p.event.id),
                    first(&p.event.event_type),
                    if hs.is_empty() { "-".into() } else { hs.join(",") }
                );
            }
            ExitCode::SUCCESS
        }
    }
}

/// This config's first webhook source of `provider`.
fn source_of(config: &Path, provider: &str) -> Result<(Settings, WebhookSource), String> {
    let settings =
        Settings::load(config).map_err(|e| format!("{}: {e} (or give --to and --secret)", config.display()))?;
    let source = settings
        .sources
        .values()
        .find_map(|s| match s {
            SourceSettings::Webhook(w) if w.spec.name() == provider => Some(w.clone()),
            SourceSettings::Webhook(_) | SourceSettings::Poll(_) => None,
        })
        .ok_or_else(|| {
            format!(
                "{} has no webhook source with scheme {provider:?}: give --to",
                config.display()
            )
        })?;
    Ok((settings, source))
}

pub fn trigger(config: &Path, args: TriggerArgs) -> ExitCode {
    if args.list {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for p in &registry().providers {
            for s in &p.samples {
                let _ = writeln!(out, "{} {}", p.name, s.event);
            }
        }
        return ExitCode::SUCCESS;
    }
    let prepared = (|| {
        let name = args.provider.as_deref().ok_or("give PROVIDER EVENT, or --list")?;
        let spec =
            SchemeSpec::find(name).ok_or_else(|| format!("unknown provider {name:?}; `inlet trigger --list`"))?;
        let events: Vec<&str> = spec.provider.samples.iter().map(|s| s.event.as_str()).collect();
        let event = args
            .event
            .as_deref()
            .ok_or_else(|| format!("give the event: one of {}", events.join(", ")))?;
        let sample = spec
            .provider
            .samples
            .iter()
            .find(|s| s.event == event)
            .ok_or_else(|| format!("{name} has no sample {event:?}: one of {}", events.join(", ")))?;
        let (target, secret, signed_url) = match (&args.to, &args.secret) {
            (Some(to), Some(secret)) => (to.clone(), secret.clone(), to.clone()),
            _ => {
                let (settings, source) = source_of(config, name)?;
                let host = match settings.server.listen.ip() {
                    ip if ip.is_unspecified() => "127.0.0.1".to_string(),
                    ip => ip.to_string(),
                };
                let local = format!(
                    "http://{host}:{}/webhooks/{}",
                    settings.server.listen.port(),
                    source.name
                );
                let target = args.to.clone().unwrap_or(local);
                let signed_url = source
                    .public_url
                    .clone()
                    .or_else(|| {
                        settings
                            .server
                            .public_url
                            .map(|b| format!("{b}/webhooks/{}", source.name))
                    })
                    .unwrap_or_else(|| target.clone());
                let secret = match (&args.secret, source.secrets.first()) {
                    (Some(s), _) => s.clone(),
                    (None, Some(s)) => s.expose().to_string(),
                    (None, None) => String::new(),
                };
                (target, secret, signed_url)
            }
        };
        let now = chrono::Utc::now().timestamp();
        let rendered = render(sample, now, &args.set).map_err(|e| e.to_string())?;
        let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
        let input = SignInput {
            body: &rendered.body,
            at: now,
            id: &id,
            url: Some(&signed_url),
            headers: &rendered.headers,
        };
        let secret = Secret::new(secret);
        let mut headers = spec.sign(&secret, &input).map_err(|e| match &spec.family {
            Family::Ed25519(_) => format!("{e}: {name} signs with a private key; give its seed with --secret"),
            _ => e.to_string(),
        })?;
        let body = spec.sign_body(&secret, &input).unwrap_or_else(|| rendered.body.clone());
        headers.extend(rendered.headers.iter().cloned());
        headers.push(("Content-Type".into(), sample.content_type.clone()));
        Ok::<_, String>((target, headers, body))
    })();
    match prepared {
        Ok((target, headers, body)) => post(&target, headers, ::http::HeaderMap::new(), body),
        Err(e) => usage(e),
    }
}
