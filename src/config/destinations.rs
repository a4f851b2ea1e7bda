//! `[destinations.NAME]`: where events go (http, file, slack, command, nats). Parsed and
//! checked here; delivering to them is the delivery workers' job.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::values::{Dur, Rate, RateField};
use super::{ConfigError, check_url, typed};
use crate::domain::template::Template;
use crate::signature::Secret;

#[derive(Debug, Clone)]
pub struct DestinationSettings {
    pub name: String,
    pub kind: DestinationKind,
    pub timeout: Duration,
    pub concurrency: u32,
    pub rate_limit: Option<Rate>,
    pub retry: Vec<Duration>,
    pub circuit: CircuitSettings,
}

#[derive(Debug, Clone)]
pub enum DestinationKind {
    Http(HttpDestination),
    /// JSON Lines of envelopes; `None` is stdout (`path = "-"`).
    File(Option<PathBuf>),
    Slack(SlackDestination),
    Command(CommandDestination),
    Nats(NatsDestination),
}

impl DestinationKind {
    pub fn name(&self) -> &'static str {
        match self {
            DestinationKind::Http(_) => "http",
            DestinationKind::File(_) => "file",
            DestinationKind::Slack(_) => "slack",
            DestinationKind::Command(_) => "command",
            DestinationKind::Nats(_) => "nats",
        }
    }
}

/// NATS JetStream: publish the envelope to `subject` (`{source}`, `{type}`; `none` when there
/// is no type) and wait for the stream's ack.
#[derive(Debug, Clone)]
pub struct NatsDestination {
    /// `nats://host:port`; may carry credentials, so never printed.
    pub url: Secret,
    pub subject: String,
}

/// A Slack incoming webhook: `{"text": …}` rendered from the event.
#[derive(Debug, Clone)]
pub struct SlackDestination {
    /// The webhook URL holds its credential: never printed.
    pub url: Secret,
    pub text: Template,
}

/// A program run once per attempt, argv without a shell, in the config file's folder.
#[derive(Debug, Clone)]
pub struct CommandDestination {
    pub argv: Vec<String>,
    pub dir: PathBuf,
    /// `env = { NAME = "value" }`: added to the program's otherwise clean environment.
    /// The values may be secrets (`${…}`): never printed.
    pub env: Vec<(String, Secret)>,
}

/// What inlet sets itself for each event: an `env` entry may not replace them.
const COMMAND_EVENT_VARS: [&str; 3] = ["INLET_EVENT_ID", "INLET_SOURCE", "INLET_TYPE"];

#[derive(Debug, Clone)]
pub struct HttpDestination {
    pub url: String,
    pub format: Format,
    pub secret: Option<Secret>,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Envelope,
    Raw,
}

#[derive(Debug, Clone, Copy)]
pub struct CircuitSettings {
    pub failures: u32,
    pub probe: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCircuit {
    failures: Option<u32>,
    probe: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    kind: String,
    url: Option<String>,
    format: Option<String>,
    secret: Option<String>,
    headers: Option<std::collections::BTreeMap<String, String>>,
    path: Option<String>,
    timeout: Option<Dur>,
    concurrency: Option<u32>,
    rate_limit: Option<RateField>,
    retry: Option<Vec<Dur>>,
    circuit: Option<RawCircuit>,
    text: Option<String>,
    command: Option<Vec<String>>,
    env: Option<std::collections::BTreeMap<String, String>>,
    subject: Option<String>,
}

const DEFAULT_RETRY: [u64; 12] = [0, 5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 57600, 86400];

pub fn parse(name: &str, value: toml::Value, base_dir: &Path) -> Result<DestinationSettings, ConfigError> {
    let at = |key: &str| format!("destinations.{name}.{key}");
    let raw: RawDestination = typed(value, &format!("destinations.{name}"))?;
    let only = |key: &str, present: bool, kind: &str| -> Result<(), ConfigError> {
        if present {
            Err(ConfigError::at(
                at(key),
                format!("has no effect on a {kind:?} destination"),
            ))
        } else {
            Ok(())
        }
    };
    let kind = match raw.kind.as_str() {
        "http" => {
            only("path", raw.path.is_some(), "http")?;
            only("text", raw.text.is_some(), "http")?;
            only("subject", raw.subject.is_some(), "http")?;
            only("command", raw.command.is_some(), "http")?;
            only("env", raw.env.is_some(), "http")?;
            let url = raw
                .url
                .as_deref()
                .ok_or_else(|| ConfigError::at(at("url"), "an http destination needs a url"))?;
            let format = match raw.format.as_deref() {
                None | Some("envelope") => Format::Envelope,
                Some("raw") => Format::Raw,
                Some(f) => {
                    return Err(ConfigError::at(
                        at("format"),
                        format!("{f:?}: use \"envelope\" or \"raw\""),
                    ));
                }
            };
            let secret = match raw.secret {
                None => None,
                Some(s) if s.trim().is_empty() => {
                    return Err(ConfigError::at(at("secret"), "must not be empty"));
                }
                Some(s) => {
                    let secret = Secret::new(s);
                    crate::signature::check_signing_secret(&secret)
                        .map_err(|e| ConfigError::at(at("secret"), e.to_string()))?;
                    Some(secret)
                }
            };
            DestinationKind::Http(HttpDestination {
                url: check_url(url, &at("url"))?,
                format,
                secret,
                headers: raw.headers.unwrap_or_default().into_iter().collect(),
            })
        }
        "file" => {
            for (key, present) in [
                ("url", raw.url.is_some()),
                ("format", raw.format.is_some()),
                ("secret", raw.secret.is_some()),
                ("headers", raw.headers.is_some()),
                ("timeout", raw.timeout.is_some()),
                ("text", raw.text.is_some()),
                ("command", raw.command.is_some()),
                ("subject", raw.subject.is_some()),
                ("env", raw.env.is_some()),
            ] {
                only(key, present, "file")?;
            }
            let path = raw
                .path
                .ok_or_else(|| ConfigError::at(at("path"), "a file destination needs a path (\"-\" is stdout)"))?;
            DestinationKind::File(if path == "-" {
                None
            } else if Path::new(&path).is_absolute() {
                Some(PathBuf::from(path))
            } else {
                Some(base_dir.join(path))
            })
        }
        "slack" => {
            for (key, present) in [
                ("path", raw.path.is_some()),
                ("format", raw.format.is_some()),
                ("secret", raw.secret.is_some()),
                ("headers", raw.headers.is_some()),
                ("command", raw.command.is_some()),
                ("subject", raw.subject.is_some()),
                ("env", raw.env.is_some()),
            ] {
                only(key, present, "slack")?;
            }
            let url = raw
                .url
                .as_deref()
                .ok_or_else(|| ConfigError::at(at("url"), "a slack destination needs its incoming-webhook url"))?;
            let text = raw.text.as_deref().unwrap_or("{source}: {type} {id}");
            DestinationKind::Slack(SlackDestination {
                url: Secret::new(check_url(url, &at("url"))?),
                text: Template::parse(text).map_err(|e| ConfigError::at(at("text"), e))?,
            })
        }
        "command" => {
            for (key, present) in [
                ("url", raw.url.is_some()),
                ("path", raw.path.is_some()),
                ("format", raw.format.is_some()),
                ("secret", raw.secret.is_some()),
                ("headers", raw.headers.is_some()),
                ("text", raw.text.is_some()),
                ("subject", raw.subject.is_some()),
            ] {
                only(key, present, "command")?;
            }
            let argv = raw.command.unwrap_or_default();
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(ConfigError::at(
                    at("command"),
                    "needs the program and its arguments, e.g. [\"./handle-event.sh\"]",
                ));
            }
            DestinationKind::Command(CommandDestination {
                argv,
                dir: base_dir.to_path_buf(),
                env: command_env(raw.env.unwrap_or_default(), &at)?,
            })
        }
        "nats" => {
            for (key, present) in [
                ("path", raw.path.is_some()),
                ("format", raw.format.is_some()),
                ("secret", raw.secret.is_some()),
                ("headers", raw.headers.is_some()),
                ("text", raw.text.is_some()),
                ("command", raw.command.is_some()),
                ("env", raw.env.is_some()),
            ] {
                only(key, present, "nats")?;
            }
            let url = raw.url.ok_or_else(|| {
                ConfigError::at(at("url"), "a nats destination needs a url like nats://127.0.0.1:4222")
            })?;
            if !url.starts_with("nats://") && !url.starts_with("tls://") {
                return Err(ConfigError::at(at("url"), "must be a nats:// or tls:// URL"));
            }
            let subject = raw.subject.ok_or_else(|| {
                ConfigError::at(
                    at("subject"),
                    "a nats destination needs a subject like \"inlet.{source}.{type}\"",
                )
            })?;
            let rest = subject.replace("{source}", "s").replace("{type}", "t");
            if rest.contains(['{', '}', ' ', '*', '>']) || rest.is_empty() || rest.split('.').any(str::is_empty) {
                return Err(ConfigError::at(
                    at("subject"),
                    "a subject of dot-separated tokens; placeholders {source} and {type} only, no wildcards",
                ));
            }
            DestinationKind::Nats(NatsDestination {
                url: Secret::new(url),
                subject,
            })
        }
        other => {
            return Err(ConfigError::at(
                at("kind"),
                format!("unknown kind {other:?}: use http, file, slack, command or nats"),
            ));
        }
    };
    let default_timeout = match kind {
        DestinationKind::Command(_) => Duration::from_secs(30),
        _ => Duration::from_secs(10),
    };
    let retry: Vec<Duration> = match raw.retry {
        Some(r) if r.is_empty() => {
            return Err(ConfigError::at(
                at("retry"),
                "needs at least one step (\"0s\" = at once)",
            ));
        }
        Some(r) => r.into_iter().map(|d| d.0).collect(),
        None => DEFAULT_RETRY.iter().map(|s| Duration::from_secs(*s)).collect(),
    };
    let concurrency = raw.concurrency.unwrap_or(16);
    if concurrency == 0 {
        return Err(ConfigError::at(at("concurrency"), "must be at least 1"));
    }
    let circuit = raw.circuit.map_or(
        CircuitSettings {
            failures: 5,
            probe: Duration::from_secs(30),
        },
        |c| CircuitSettings {
            failures: c.failures.unwrap_or(5).max(1),
            probe: c.probe.map_or(Duration::from_secs(30), |d| d.0),
        },
    );
    Ok(DestinationSettings {
        name: name.to_string(),
        kind,
        timeout: raw.timeout.map_or(default_timeout, |d| d.0),
        concurrency,
        rate_limit: raw.rate_limit.map(|r| r.0),
        retry,
        circuit,
    })
}

/// The `env` table of a command destination: names a program can be given, values without
/// a NUL. The values are never part of an error.
fn command_env(
    table: std::collections::BTreeMap<String, String>,
    at: &dyn Fn(&str) -> String,
) -> Result<Vec<(String, Secret)>, ConfigError> {
    let mut env = Vec::with_capacity(table.len());
    for (name, value) in table {
        let key = at(&format!("env.{name}"));
        if name.is_empty() || name.contains(['=', '\0']) {
            return Err(ConfigError::at(key, "is not a variable name (no '=' or NUL)"));
        }
        if COMMAND_EVENT_VARS.contains(&name.as_str()) {
            return Err(ConfigError::at(key, "is set by inlet for each event"));
        }
        if value.contains('\0') {
            return Err(ConfigError::at(key, "must not contain a NUL byte"));
        }
        env.push((name, Secret::new(value)));
    }
    Ok(env)
}
