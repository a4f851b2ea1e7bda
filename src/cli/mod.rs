//! The command line: `serve`, `check`, `init`, `backup`, the offline signature tools `verify`,
//! `sign` and `send`, the provider commands `providers` and `trigger`, and the admin-client
//! commands (`sources`, `destinations`, `alerts`, `rejected`, `events`, `replay`, `tail`,
//! `listen`). Parsing lives here;
//! each command's work is in its own file and calls into the library like any other user
//! of it.

mod admin;
mod events;
mod gateway;
mod listen;
mod operating;
mod providers;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "inlet",
    version,
    about = "A self-hosted event gateway: verified webhooks, one durable stream."
)]
pub struct Cli {
    /// The config file.
    #[arg(short, long, global = true, env = "INLET_CONFIG", default_value = "inlet.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the gateway: ingest listener, admin listener, workers. Stops on SIGINT/SIGTERM.
    Serve,
    /// Validate the config and print its sources, destinations and routes.
    Check,
    /// Write a commented starter config (refuses to overwrite).
    Init,
    /// Copy the SQLite store to FILE, consistently, while the gateway runs.
    Backup {
        /// Where to write the copy (must not exist).
        file: PathBuf,
    },
    /// Verify one request offline, exactly as a source would.
    Verify(VerifyArgs),
    /// Print the headers a provider would send for a body.
    Sign(SignArgs),
    /// Sign a body like the provider would and POST it.
    Send(SendArgs),
    /// Status of every source: poll cursors, efficiency and recovered events (admin API).
    Sources(SourcesArgs),
    /// Status of every destination: deliveries by state, oldest pending, circuit; pause or
    /// resume one (admin API).
    Destinations(DestinationsArgs),
    /// Alerts, newest first: open and resolved (admin API).
    Alerts(AlertsArgs),
    /// Rejected requests, newest first; `retry` verifies the kept ones again (admin API).
    Rejected(RejectedArgs),
    /// Stored events: list with filters, or show one with its deliveries (admin API).
    Events(EventsArgs),
    /// Re-queue deliveries: of events by id, or in bulk by status (admin API).
    Replay(ReplayArgs),
    /// Follow new events and delivery outcomes live; reconnects (admin API).
    Tail(TailArgs),
    /// Forward a running inlet's events to a local app, re-signed so its provider SDK
    /// verifies them; reconnects and catches up (admin API).
    Listen(ListenArgs),
    /// The providers inlet verifies: list, or show one with a sample config.
    Providers(ProvidersArgs),
    /// Send a provider's sample event, signed as the provider signs, to a source.
    Trigger(TriggerArgs),
}

#[derive(Args)]
pub struct ProvidersArgs {
    #[command(subcommand)]
    pub action: Option<ProvidersAction>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print the Markdown table docs/sources.md carries.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Subcommand)]
pub enum ProvidersAction {
    /// One provider: what it verifies, where its id and type are, its handshakes and
    /// trigger events, and a sample source config.
    Show { name: String },
}

#[derive(Args)]
pub struct TriggerArgs {
    /// The provider (`inlet trigger --list` names them with their events).
    pub provider: Option<String>,
    /// The sample event, e.g. charge.succeeded.
    pub event: Option<String>,
    /// Where to POST (default: this config's webhook source of that provider).
    #[arg(long)]
    pub to: Option<String>,
    /// The secret to sign with (default: that source's first secret).
    #[arg(long)]
    pub secret: Option<String>,
    /// Override a field of the sample's JSON body: /pointer=value; repeat as needed.
    #[arg(long)]
    pub set: Vec<String>,
    /// List every provider's sample events.
    #[arg(long)]
    pub list: bool,
}

#[derive(Args)]
pub struct ListenArgs {
    /// Where to POST each event, e.g. http://localhost:3000/webhooks/stripe.
    #[arg(long)]
    pub forward_to: String,
    /// Only this source's events; repeat for several (default: every source).
    #[arg(long = "source")]
    pub sources: Vec<String>,
    /// Only events whose type matches this glob, e.g. 'charge.*'; repeat for several.
    #[arg(long = "events")]
    pub events: Vec<String>,
    /// raw: the provider's body, signed as the provider signs; envelope: inlet's envelope,
    /// signed as Standard Webhooks.
    #[arg(long, value_enum, default_value = "raw")]
    pub format: ListenFormat,
    /// The secret to sign with (default: one made at the first run and kept).
    #[arg(long)]
    pub secret: Option<String>,
    /// Also forward the events of this past window first, e.g. 10m.
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub admin: AdminArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ListenFormat {
    Raw,
    Envelope,
}

#[derive(Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub action: EventsAction,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum EventsAction {
    /// Events, newest first.
    List(EventsListArgs),
    /// One event with its payload, deliveries and attempts.
    Show { id: String },
}

#[derive(Args)]
pub struct EventsListArgs {
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long = "type")]
    pub event_type: Option<String>,
    /// pending, dead or delivered.
    #[arg(long)]
    pub status: Option<String>,
    /// Received within this long (e.g. 1h) or since an RFC 3339 instant.
    #[arg(long)]
    pub since: Option<String>,
    /// How many to print in all.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// Event ids whose finished deliveries to re-queue.
    pub ids: Vec<String>,
    /// Bulk: re-queue deliveries in this state (dead, delivered, skipped_stale).
    #[arg(long)]
    pub status: Option<String>,
    /// Only deliveries to this destination.
    #[arg(long)]
    pub destination: Option<String>,
    /// Bulk: only events received within this long (e.g. 24h) or since an RFC 3339 instant.
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub admin: AdminArgs,
}

#[derive(Args)]
pub struct TailArgs {
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long = "type")]
    pub event_type: Option<String>,
    #[command(flatten)]
    pub admin: AdminArgs,
}

/// A listing command's options.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where the admin API is and how to authenticate (defaults: the config's `admin`).
#[derive(Args, Clone)]
pub struct AdminArgs {
    /// http://host:port or host:port of the admin listener.
    #[arg(long, env = "INLET_ADMIN_URL", global = true)]
    pub admin_url: Option<String>,
    /// The admin token.
    #[arg(long, env = "INLET_ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

#[derive(Args)]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub action: Option<SourcesAction>,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Args)]
pub struct DestinationsArgs {
    #[command(subcommand)]
    pub action: Option<DestinationsAction>,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum DestinationsAction {
    /// Hold a destination: new deliveries wait as pending, nothing is attempted (every node;
    /// survives restarts).
    Pause { name: String },
    /// Let a paused destination deliver again.
    Resume { name: String },
}

#[derive(Args)]
pub struct AlertsArgs {
    /// Only `open` or `resolved` alerts.
    #[arg(long, value_parser = ["open", "resolved"])]
    pub state: Option<String>,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RejectedArgs {
    #[command(subcommand)]
    pub action: Option<RejectedAction>,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum RejectedAction {
    /// Verify the kept rejected requests again with the current config, as of when each was
    /// received, and ingest those that pass with their original received time.
    Retry {
        /// Only this source's requests.
        #[arg(long)]
        source: Option<String>,
        /// Only requests received within this long ("1h", "30m").
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SourcesAction {
    /// Forget a poll source's cursor: its next run starts from `cursor.initial` again.
    ResetCursor { name: String },
}

/// The scheme settings shared by `verify`, `sign` and `send`.
#[derive(Args, Clone)]
pub struct SchemeArgs {
    /// A provider name (`inlet providers` lists them), hmac or none.
    #[arg(long)]
    pub scheme: Option<String>,
    /// A secret; repeat for rotation (verify: any may match).
    #[arg(long = "secret")]
    pub secrets: Vec<String>,
    /// The URL the provider called or calls (twilio, square).
    #[arg(long)]
    pub url: Option<String>,
    /// github: accept the legacy SHA-1 X-Hub-Signature.
    #[arg(long)]
    pub allow_sha1: bool,
    #[arg(long)]
    pub hmac_header: Option<String>,
    /// sha256, sha1 or sha512.
    #[arg(long)]
    pub hmac_algorithm: Option<String>,
    /// hex or base64.
    #[arg(long)]
    pub hmac_encoding: Option<String>,
    #[arg(long)]
    pub hmac_prefix: Option<String>,
    /// hmac: the header holding the event id.
    #[arg(long)]
    pub id_header: Option<String>,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// A request header, 'Name: value'; repeat as needed.
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// The clock, unix seconds (default now).
    #[arg(long)]
    pub at: Option<i64>,
    /// The timestamp window (default: the scheme's).
    #[arg(long)]
    pub tolerance: Option<String>,
    /// Take scheme, secrets and settings from this source of the config file.
    #[arg(long)]
    pub source: Option<String>,
    /// The body file, or - for stdin.
    #[arg(default_value = "-")]
    pub body: String,
}

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// The signing time, unix seconds (default now).
    #[arg(long)]
    pub at: Option<i64>,
    /// The event or message id for schemes that send one in a header.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(default_value = "-")]
    pub body: String,
}

#[derive(Args)]
pub struct SendArgs {
    /// Where to POST, e.g. http://127.0.0.1:8080/webhooks/stripe.
    pub target: String,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// An extra header, 'Name: value'; repeat as needed.
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    #[arg(long)]
    pub id: Option<String>,
    #[arg(default_value = "-")]
    pub body: String,
}

/// Parses the command line, runs the command, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => gateway::serve(&cli.config),
        Command::Check => gateway::check(&cli.config),
        Command::Init => gateway::init(&cli.config),
        Command::Backup { file } => gateway::backup(&cli.config, &file),
        Command::Verify(args) => tools::verify(&cli.config, args),
        Command::Sign(args) => tools::sign(args),
        Command::Send(args) => tools::send(args),
        Command::Sources(args) => admin::sources(&cli.config, args),
        Command::Destinations(args) => operating::destinations(&cli.config, args),
        Command::Alerts(args) => operating::alerts(&cli.config, args),
        Command::Rejected(args) => operating::rejected(&cli.config, args),
        Command::Events(args) => events::events(&cli.config, args),
        Command::Replay(args) => events::replay(&cli.config, args),
        Command::Tail(args) => events::tail(&cli.config, args),
        Command::Listen(args) => listen::listen(&cli.config, args),
        Command::Providers(args) => providers::providers(args),
        Command::Trigger(args) => providers::trigger(&cli.config, args),
    }
}
