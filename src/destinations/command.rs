//! The command destination: run argv (no shell) in the config file's folder with the
//! envelope on stdin. The environment is clean: `PATH`, `HOME` and `LANG` (inlet's own, when
//! set), the destination's `env` table, and `INLET_EVENT_ID`, `INLET_SOURCE`, `INLET_TYPE`;
//! nothing else of inlet's (its `${…}` secrets, the admin token) reaches the program.
//! Exit 0 is delivered; any other exit is a failed attempt. The program runs in its own
//! process group, and on `timeout` the whole group is killed.

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{AttemptResult, Delivery, Destination, envelope_bytes};
use crate::domain::settings::{ConfigError, typed};
use crate::domain::{Outcome, Via};
use crate::signature::Secret;

const EXCERPT: usize = 1024;

/// Inlet's own variables a program gets (when inlet has them).
const INHERITED: [&str; 3] = ["PATH", "HOME", "LANG"];

/// A program run once per attempt, argv without a shell, in the config file's folder.
#[derive(Debug, Clone)]
pub struct Settings {
    pub argv: Vec<String>,
    pub dir: std::path::PathBuf,
    /// `env = { NAME = "value" }`: added to the program's otherwise clean environment.
    /// The values may be secrets (`${…}`): never printed.
    pub env: Vec<(String, Secret)>,
}

/// What inlet sets itself for each event: an `env` entry may not replace them.
const EVENT_VARS: [&str; 3] = ["INLET_EVENT_ID", "INLET_SOURCE", "INLET_TYPE"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    command: Vec<String>,
    env: Option<std::collections::BTreeMap<String, String>>,
}

impl Settings {
    pub fn parse(table: toml::Value, prefix: &str, base_dir: &std::path::Path) -> Result<Settings, ConfigError> {
        let at = |key: &str| format!("{prefix}.{key}");
        let raw: Raw = typed(table, prefix)?;
        if raw.command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(ConfigError::at(
                at("command"),
                "needs the program and its arguments, e.g. [\"./handle-event.sh\"]",
            ));
        }
        let mut env = Vec::new();
        for (name, value) in raw.env.unwrap_or_default() {
            let key = at(&format!("env.{name}"));
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(ConfigError::at(key, "is not a variable name (no '=' or NUL)"));
            }
            if EVENT_VARS.contains(&name.as_str()) {
                return Err(ConfigError::at(key, "is set by inlet for each event"));
            }
            if value.contains('\0') {
                return Err(ConfigError::at(key, "must not contain a NUL byte"));
            }
            env.push((name, Secret::new(value)));
        }
        Ok(Settings {
            argv: raw.command,
            dir: base_dir.to_path_buf(),
            env,
        })
    }
}

impl Settings {
    /// One line for `inlet check`: the program, how many arguments (they may carry a
    /// credential) and the names of the `env` entries (their values do).
    pub fn describe(&self) -> String {
        let program = self.argv.first().map_or("", String::as_str);
        let mut shown = format!("{program} ({} argument(s))", self.argv.len().saturating_sub(1));
        if !self.env.is_empty() {
            let names: Vec<&str> = self.env.iter().map(|(n, _)| n.as_str()).collect();
            shown.push_str(&format!("  env: {}", names.join(", ")));
        }
        shown
    }
}

pub struct CommandDestination {
    settings: Settings,
    timeout: Duration,
}

impl CommandDestination {
    pub fn new(settings: Settings, timeout: Duration) -> Self {
        CommandDestination { settings, timeout }
    }
}

fn failed(error: String, excerpt: Option<String>) -> AttemptResult {
    AttemptResult {
        response_excerpt: excerpt,
        ..AttemptResult::failed(error)
    }
}

/// Reads all of `pipe` (so the program never blocks on a full pipe), keeping the start.
async fn first_kib(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else { return kept };
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = EXCERPT.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

#[async_trait]
impl Destination for CommandDestination {
    async fn deliver(&self, delivery: &Delivery<'_>, _now: i64) -> AttemptResult {
        let event = delivery.event;
        let argv = &self.settings.argv;
        // A relative program path with a slash ("./handle.sh") is the config folder's.
        let program = if argv[0].contains('/') {
            self.settings.dir.join(&argv[0])
        } else {
            std::path::PathBuf::from(&argv[0])
        };
        let mut command = tokio::process::Command::new(program);
        command.env_clear();
        for name in INHERITED {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        for (name, value) in &self.settings.env {
            command.env(name, value.expose());
        }
        command
            .args(&argv[1..])
            .current_dir(&self.settings.dir)
            .env("INLET_EVENT_ID", &event.id)
            .env("INLET_SOURCE", &event.source)
            .env("INLET_TYPE", event.event_type.as_deref().unwrap_or(""))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) => return failed(format!("cannot start {:?}: {e}", argv[0]), None),
        };
        let pid = child.id();
        // An alert's notification is its JSON as it is.
        let envelope = match event.via {
            Via::Alert => event.body.clone(),
            Via::Webhook | Via::Poll => envelope_bytes(event, delivery.state),
        };
        let stdin = child.stdin.take();
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A program that does not read its stdin is not an error.
                let _ = stdin.write_all(&envelope).await;
            }
        };
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let run = async {
            let (out, err, ()) = tokio::join!(first_kib(stdout), first_kib(stderr), feed);
            (child.wait().await, out, err)
        };
        let (status, out, err) = match tokio::time::timeout(self.timeout, run).await {
            Ok(done) => done,
            Err(_) => {
                if let Some(pid) = pid {
                    kill_group(pid).await;
                }
                return failed(
                    format!("timeout after {}s: process group killed", self.timeout.as_secs_f64()),
                    None,
                );
            }
        };
        let mut excerpt = out;
        excerpt.extend_from_slice(&err);
        excerpt.truncate(EXCERPT);
        let excerpt = Some(String::from_utf8_lossy(&excerpt).into_owned());
        match status {
            Ok(s) if s.success() => AttemptResult {
                outcome: Outcome::Delivered { status: None },
                response_excerpt: excerpt,
            },
            Ok(s) => failed(
                match s.code() {
                    Some(code) => format!("exit status {code}"),
                    None => "killed by a signal".to_string(),
                },
                excerpt,
            ),
            Err(e) => failed(format!("cannot wait for the program: {e}"), excerpt),
        }
    }
}

/// SIGKILL to the whole process group (the program and anything it started).
async fn kill_group(pgid: u32) {
    let killed = tokio::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if !killed.is_ok_and(|s| s.success()) {
        tracing::warn!(pgid, "could not kill the command's process group");
    }
}
