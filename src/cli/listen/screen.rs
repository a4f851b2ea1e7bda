//! What `inlet listen` prints: a header (which inlet, which sources and types, where to, the
//! secret to configure in the app), then one line per try of each event and a line for
//! each change of the connection. Colours only on a terminal (and not with `NO_COLOR`);
//! every line is flushed at once, so a pipe sees it as a person would.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde_json::Value;

use super::forward::Format;
use super::secret::Origin;

/// One try's outcome, as printed.
pub enum Try {
    Answered {
        /// The app's status, or why there was none.
        outcome: Result<u16, String>,
        took: Duration,
        attempt: u32,
        of: u32,
    },
    /// Nothing was sent: the secret does not suit the scheme, or the event is gone.
    NotSent(String),
}

/// What the header says.
pub struct Header<'a> {
    pub gateway: &'a str,
    /// (source, how its events are signed).
    pub sources: Vec<(String, String)>,
    pub events: &'a [String],
    pub format: Format,
    pub to: &'a str,
    pub secret: &'a str,
    pub origin: &'a Origin,
    pub since: Option<&'a str>,
    pub warnings: Vec<String>,
}

pub struct Screen {
    color: bool,
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

impl Screen {
    pub fn new() -> Screen {
        Screen {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn print(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    pub fn header(&self, h: &Header<'_>) {
        let label = |l: &str| self.paint(BOLD, &format!("{l:<9}"));
        let sources: Vec<String> = h.sources.iter().map(|(s, how)| format!("{s} ({how})")).collect();
        let events = if h.events.is_empty() {
            "every type".to_string()
        } else {
            h.events.join(", ")
        };
        let format = match h.format {
            Format::Raw => "raw: each provider's body and signature, signed with the secret below",
            Format::Envelope => "envelope: inlet's JSON envelope, signed as Standard Webhooks",
        };
        let kept = match h.origin {
            Origin::Given => "given with --secret".to_string(),
            Origin::Kept(p) => format!("kept in {}", p.display()),
            Origin::Made(p) => format!("new, kept in {} for later runs", p.display()),
        };
        self.print(&self.paint(BOLD, "inlet listen"));
        self.print(&format!("  {} {} (admin API)", label("inlet"), h.gateway));
        self.print(&format!("  {} {}", label("sources"), sources.join(", ")));
        self.print(&format!("  {} {}", label("events"), events));
        self.print(&format!("  {} {}", label("forward"), self.paint(BOLD, h.to)));
        self.print(&format!("  {} {}", label("format"), format));
        self.print(&format!(
            "  {} {} ({kept})",
            label("secret"),
            self.paint(YELLOW, h.secret)
        ));
        self.print(&format!(
            "  {} configure your app's webhook signing secret with it",
            label("")
        ));
        for warning in &h.warnings {
            self.print(&format!("  {} {warning}", self.paint(YELLOW, "warning ")));
        }
        let from = match h.since {
            Some(since) => format!("from {since} ago"),
            None => "from now on".to_string(),
        };
        self.print(&format!("Forwarding events {from}; Ctrl-C stops."));
    }

    fn lead(&self, summary: &Value) -> String {
        let time = chrono::Local::now().format("%H:%M:%S");
        let field = |k: &str| summary[k].as_str().unwrap_or("-").to_string();
        format!(
            "{}  {}  {}  {}",
            self.paint(DIM, &time.to_string()),
            field("source"),
            self.paint(BOLD, &field("type")),
            field("id")
        )
    }

    pub fn event(&self, summary: &Value, tried: &Try) {
        let tail = match tried {
            Try::NotSent(why) => self.paint(RED, &format!("not sent: {why}")),
            Try::Answered {
                outcome,
                took,
                attempt,
                of,
            } => {
                let again = if *attempt > 1 || !matches!(outcome, Ok(200..=299)) {
                    format!("  (try {attempt} of {of})")
                } else {
                    String::new()
                };
                let ms = took.as_millis();
                match outcome {
                    Ok(s @ 200..=299) => format!("{} {}ms{again}", self.paint(GREEN, &format!("→ {s}")), ms),
                    Ok(s) => format!("{} {}ms{again}", self.paint(RED, &format!("→ {s}")), ms),
                    Err(why) => format!("{}{again}", self.paint(RED, &format!("→ {why}"))),
                }
            }
        };
        self.print(&format!("{}  {tail}", self.lead(summary)));
    }

    pub fn skipped(&self, summary: &Value, tries: u32) {
        self.print(&format!(
            "{}  {}",
            self.lead(summary),
            self.paint(RED, &format!("skipped after {tries} tries"))
        ));
    }

    /// A change of the connection to inlet.
    pub fn note(&self, text: &str) {
        self.print(&self.paint(YELLOW, text));
    }
}
