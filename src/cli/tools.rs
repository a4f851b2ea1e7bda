//! `inlet verify`, `inlet sign`, `inlet send`: the same verifiers and signers the gateway
//! uses, offline. Exit codes: 0 valid/sent, 1 invalid/failed, 2 usage error.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use ::http::{HeaderMap, HeaderName, HeaderValue};

use super::{SchemeArgs, SendArgs, SignArgs, VerifyArgs};
use crate::config::values::parse_duration;
use crate::config::{Settings, SourceSettings, WebhookSource};
use crate::providers::SchemeSpec;
use crate::signature::{Family, HmacSpec, Secret, SignInput};
use crate::sources::{Accepted, Refusal, WebhookIntake};

pub(super) fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn read_body(arg: &str) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    if arg == "-" {
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
    } else {
        body = std::fs::read(arg).map_err(|e| format!("cannot read {arg}: {e}"))?;
    }
    Ok(body)
}

/// Parses `'Name: value'` lines into a header map; a name given twice keeps both values.
fn parse_headers(lines: &[String]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad --header {line:?}: write it as 'Name: value'"))?;
        let name =
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| format!("bad header name in {line:?}"))?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| format!("bad header value in {line:?}"))?;
        map.append(name, value);
    }
    Ok(map)
}

fn spec_from(args: &SchemeArgs) -> Result<SchemeSpec, String> {
    let name = args.scheme.as_deref().ok_or("--scheme is required")?;
    let spec = SchemeSpec::find(name).ok_or_else(|| format!("unknown scheme {name:?}"))?;
    if spec.provider.configurable {
        let settings = HmacSpec::parse(
            args.hmac_header.as_deref(),
            args.hmac_algorithm.as_deref(),
            args.hmac_encoding.as_deref(),
            args.hmac_prefix.as_deref(),
        )
        .map_err(|(field, message)| format!("--hmac-{}: {message}", field.key()))?;
        return Ok(spec.with_hmac(settings));
    }
    Ok(spec.allowing_legacy(args.allow_sha1))
}

/// The source `verify` checks against: from the config (`--source`) or from the flags.
fn source_for(config: &Path, args: &VerifyArgs) -> Result<WebhookSource, String> {
    if let Some(name) = &args.source {
        let settings = Settings::load(config).map_err(|e| format!("{}: {e}", config.display()))?;
        let source = settings
            .sources
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no source named {name:?} in {}", config.display()))?;
        let SourceSettings::Webhook(mut w) = source else {
            return Err(format!(
                "source {name:?} is a poll source: it has no signatures to verify"
            ));
        };
        if w.public_url.is_none() {
            w.public_url = settings.server.public_url.map(|base| format!("{base}/webhooks/{name}"));
        }
        return Ok(w);
    }
    let spec = spec_from(&args.scheme)?;
    if !matches!(spec.family, Family::None) && args.scheme.secrets.is_empty() {
        return Err("--secret is required".into());
    }
    Ok(WebhookSource {
        name: "cli".into(),
        spec,
        secrets: args.scheme.secrets.iter().map(Secret::new).collect(),
        tolerance: args
            .tolerance
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| format!("--tolerance: {e}"))?,
        dedupe_group: "cli".into(),
        id: None,
        event_type: None,
        version: None,
        occurred_at: None,
        id_header: args.scheme.id_header.as_ref().map(|h| h.to_ascii_lowercase()),
        type_header: None,
        public_url: None,
        verify_token: None,
        hydrate: None,
        silence: None,
    })
}

pub fn verify(config: &Path, args: VerifyArgs) -> ExitCode {
    let prepared = (|| {
        let source = source_for(config, &args)?;
        let url = args.scheme.url.clone().or_else(|| source.public_url.clone());
        if source.spec.needs_url() && url.is_none() {
            return Err(format!("--url is required with scheme {}", source.spec.name()));
        }
        let headers = parse_headers(&args.headers)?;
        let body = read_body(&args.body)?;
        let intake = WebhookIntake::new(source).map_err(|e| e.to_string())?;
        Ok((intake, url, headers, body))
    })();
    let (intake, url, headers, body) = match prepared {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let now = args.at.unwrap_or_else(|| chrono::Utc::now().timestamp());
    match intake.accept(&headers, &body, url.as_deref(), now) {
        Ok(Accepted::Event(draft)) => {
            println!(
                "valid\nid: {}\ntype: {}",
                draft.dedupe_key,
                draft.event_type.as_deref().unwrap_or("-")
            );
            ExitCode::SUCCESS
        }
        Ok(Accepted::Handshake(_)) => {
            println!("valid\nid: -\ntype: handshake");
            ExitCode::SUCCESS
        }
        Err(Refusal::MalformedBody(_)) => {
            println!("valid\nid: -\ntype: -");
            ExitCode::SUCCESS
        }
        Err(Refusal::Unverified(e)) => {
            println!("invalid: {}\n{}", e.kind, e.detail);
            ExitCode::FAILURE
        }
    }
}

type Headers = Vec<(String, String)>;

/// Signs `body` as the scheme's provider would: the headers, and the body to send (changed
/// only by schemes that sign inside it, mailgun); `Err` is a usage error.
fn signed_request(
    args: &SchemeArgs,
    id: Option<&str>,
    at: Option<i64>,
    url: Option<&str>,
    body: Vec<u8>,
) -> Result<(Headers, Vec<u8>), String> {
    let spec = spec_from(args)?;
    let secret = match (&spec.family, args.secrets.as_slice()) {
        (Family::None, _) => Secret::new(""),
        (_, [one]) => Secret::new(one.clone()),
        (_, []) => return Err("--secret is required".into()),
        (_, _) => return Err("give one --secret to sign with".into()),
    };
    let default_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let input = SignInput {
        body: &body,
        at: at.unwrap_or_else(|| chrono::Utc::now().timestamp()),
        id: id.unwrap_or(&default_id),
        url,
        headers: &[],
    };
    let headers = spec.sign(&secret, &input).map_err(|e| e.to_string())?;
    let signed_body = spec.sign_body(&secret, &input);
    Ok((headers, signed_body.unwrap_or(body)))
}

pub fn sign(args: SignArgs) -> ExitCode {
    let original = read_body(&args.body);
    let result = original.clone().and_then(|body| {
        signed_request(
            &args.scheme,
            args.id.as_deref(),
            args.at,
            args.scheme.url.as_deref(),
            body,
        )
    });
    match (result, original) {
        (Ok((headers, body)), Ok(original)) => {
            for (name, value) in headers {
                println!("{name}: {value}");
            }
            if body != original {
                // The scheme signs inside the body: print the body to send.
                println!();
                println!("{}", String::from_utf8_lossy(&body));
            }
            ExitCode::SUCCESS
        }
        (Err(e), _) | (_, Err(e)) => usage(e),
    }
}

pub fn send(args: SendArgs) -> ExitCode {
    let prepared = (|| {
        let body = read_body(&args.body)?;
        let url = args.scheme.url.clone().unwrap_or_else(|| args.target.clone());
        let (mut headers, body) = signed_request(&args.scheme, args.id.as_deref(), None, Some(&url), body)?;
        let extra = parse_headers(&args.headers)?;
        if !extra.contains_key(::http::header::CONTENT_TYPE) {
            let form = matches!(args.scheme.scheme.as_deref(), Some("twilio" | "mailgun"))
                && serde_json::from_slice::<serde_json::Value>(&body).is_err();
            let kind = if form {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            headers.push(("Content-Type".into(), kind.into()));
        }
        Ok::<_, String>((body, headers, extra))
    })();
    let (body, headers, extra) = match prepared {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    post(&args.target, headers, extra, body)
}

/// POSTs `body` with `headers` (and `extra`) to `target` and prints the answer like
/// `inlet send`: status line, then the body. Exit 0 on a 2xx.
pub(super) fn post(target: &str, headers: Vec<(String, String)>, extra: HeaderMap, body: Vec<u8>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    runtime.block_on(async {
        let client = match reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
        {
            Ok(c) => c,
            Err(e) => return usage(e),
        };
        let mut request = client.post(target).body(body).headers(extra);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                println!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
                println!("{text}");
                if status.is_success() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("error: cannot reach {}: {e}", target);
                ExitCode::FAILURE
            }
        }
    })
}
