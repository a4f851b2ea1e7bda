//! `inlet listen` as a developer runs it: the binary against a real gateway (the binary
//! too), forwarding to a local receiver. Raw events verify with their scheme's verifier and
//! the listen secret, byte for byte; envelopes verify with the `standardwebhooks` crate; a
//! gateway restart loses nothing; a failing app gets three tries; `--since` forwards a
//! window again (those four in `recovery.rs`); a wrong token stops with exit 1; a terminal
//! shows the header and lines.

mod recovery;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inlet::providers::SchemeSpec;
use inlet::signature::{Request, Secret};

use crate::receiver::Receiver;
use crate::support::{Child, eventually, now, signed};

pub const TOKEN: &str = "listen-token";
pub const LISTEN_SECRET: &str = "whsec_bGlzdGVuLXNlY3JldC1mb3ItdGVzdHMtMzJieXRlcw==";

/// A gateway config with Stripe, GitHub, Shopify and Standard Webhooks sources; the admin
/// listener on `admin` (a fixed port survives a restart).
pub fn gateway_config(dir: &std::path::Path, admin: &str) -> std::path::PathBuf {
    let path = dir.join("inlet.toml");
    let text = format!(
        r#"[server]
listen = "127.0.0.1:0"

[admin]
listen = "{admin}"
token = "{TOKEN}"

[storage]
url = "sqlite://inlet.db"

[sources.stripe]
scheme = "stripe"
secrets = ["whsec_stripe_provider"]

[sources.github]
scheme = "github"
secrets = ["github-provider-secret"]

[sources.shopify]
scheme = "shopify"
secrets = ["shopify-provider-secret"]

[sources.shop]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
"#
    );
    std::fs::write(&path, text).expect("config written");
    path
}

pub fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    l.local_addr().expect("addr").to_string()
}

/// `inlet listen` running; its stdout collected line by line.
pub struct Listen {
    process: std::process::Child,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Listen {
    pub fn start(admin: &str, to: &str, extra: &[&str]) -> Listen {
        Listen::start_in(&tempfile::tempdir().expect("tempdir").keep(), admin, to, extra)
    }

    /// With `home` as its `XDG_CONFIG_HOME` (where the made secret is kept).
    pub fn start_in(home: &std::path::Path, admin: &str, to: &str, extra: &[&str]) -> Listen {
        let mut process = Command::new(env!("CARGO_BIN_EXE_inlet"))
            .args([
                "listen",
                "--forward-to",
                to,
                "--admin-url",
                admin,
                "--token",
                TOKEN,
                "-c",
                "/nonexistent.toml",
            ])
            .args(extra)
            .env("XDG_CONFIG_HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("listen starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(process.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(process.stderr.take().expect("stderr")),
        ] {
            let sink = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().expect("lines").push(line);
                }
            });
        }
        Listen { process, lines }
    }

    pub fn text(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }

    /// Waits for a printed line containing `part`; its index.
    pub async fn line(&self, part: &str) -> usize {
        eventually(
            &format!("listen to print {part:?}"),
            Duration::from_secs(20),
            async || self.lines.lock().expect("lines").iter().position(|l| l.contains(part)),
        )
        .await
    }
}

/// POSTs `body` to `source` signed as `scheme` signs, with `extra` headers.
pub async fn post(
    ingest: &str,
    source: &str,
    scheme: &str,
    secret: &str,
    body: &[u8],
    id: &str,
    extra: &[(&str, &str)],
) {
    let url = format!("{ingest}/webhooks/{source}");
    let mut request = reqwest::Client::new().post(&url).body(body.to_vec());
    for (k, v) in signed(&SchemeSpec::named(scheme), secret, body, now(), id, &url) {
        request = request.header(k, v);
    }
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("answered");
    assert_eq!(response.status().as_u16(), 200, "{source} accepted");
}

/// A Stripe event `id` numbered `n`, signed by the provider, accepted.
pub async fn post_stripe(ingest: &str, id: &str, n: i64) {
    post(
        ingest,
        "stripe",
        "stripe",
        "whsec_stripe_provider",
        &numbered(id, n),
        id,
        &[],
    )
    .await;
}

/// A Stripe event body numbered `n`.
pub fn numbered(id: &str, n: i64) -> Vec<u8> {
    format!("{{\"id\":\"{id}\",\"type\":\"charge.succeeded\",\"n\":{n}}}").into_bytes()
}

pub fn verifies(scheme: &str, got: &crate::receiver::Received, url: &str) -> bool {
    let verifier = SchemeSpec::named(scheme)
        .verifier(&[Secret::new(LISTEN_SECRET)], None)
        .expect("verifier");
    let request = Request {
        headers: &got.headers,
        body: &got.body,
        url: Some(url),
        method: "POST",
    };
    verifier.verify(&request, now()).is_ok()
}

#[tokio::test]
async fn raw_stripe_github_and_shopify_events_verify_with_their_scheme_and_the_listen_secret_byte_for_byte() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Child::serve(&gateway_config(dir.path(), "127.0.0.1:0"), &[]);
    let receiver = Receiver::start().await;
    let listen = Listen::start(&gateway.admin, &receiver.url, &["--secret", LISTEN_SECRET]);
    listen.line("Forwarding events from now on").await;

    let stripe = b"{\"id\":\"evt_listen_1\",\"type\":\"charge.succeeded\",  \"data\":{\"object\":{}}}\n";
    post(
        &gateway.ingest,
        "stripe",
        "stripe",
        "whsec_stripe_provider",
        stripe,
        "evt_listen_1",
        &[],
    )
    .await;
    let github = b"{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1}";
    let delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    post(
        &gateway.ingest,
        "github",
        "github",
        "github-provider-secret",
        github,
        delivery,
        &[("X-GitHub-Event", "ping")],
    )
    .await;
    let shopify = b"{\"id\":820982911946154508, \"email\":\"jon@example.com\"}";
    post(
        &gateway.ingest,
        "shopify",
        "shopify",
        "shopify-provider-secret",
        shopify,
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        &[
            ("X-Shopify-Topic", "orders/create"),
            ("Content-Type", "application/json"),
        ],
    )
    .await;

    let got = receiver.wait_for(3).await;
    assert_eq!(got.len(), 3, "{}", listen.text());
    assert_eq!(
        &got[0].body[..],
        &stripe[..],
        "the body the provider sent, byte for byte"
    );
    assert!(
        verifies("stripe", &got[0], &receiver.url),
        "stripe verifies with the listen secret"
    );
    assert!(!verifies("github", &got[0], &receiver.url));
    assert_eq!(&got[1].body[..], &github[..]);
    assert!(
        verifies("github", &got[1], &receiver.url),
        "github verifies with the listen secret"
    );
    assert_eq!(
        got[1].headers["x-github-event"], "ping",
        "the provider's own headers come along"
    );
    assert_eq!(got[1].headers["x-github-delivery"], delivery);
    assert_eq!(&got[2].body[..], &shopify[..]);
    assert!(
        verifies("shopify", &got[2], &receiver.url),
        "shopify verifies with the listen secret"
    );
    assert_eq!(got[2].headers["x-shopify-topic"], "orders/create");
    assert_eq!(got[2].headers["content-type"], "application/json");
    // One line per event: source, type, answer.
    let text = listen.text();
    assert!(
        text.lines()
            .any(|l| l.contains("stripe") && l.contains("charge.succeeded") && l.contains("→ 200")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("github") && l.contains("ping") && l.contains("→ 200")),
        "{text}"
    );
}

#[tokio::test]
async fn envelope_format_verifies_with_the_standardwebhooks_crate_and_a_made_secret_is_kept_for_the_next_run() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Child::serve(&gateway_config(dir.path(), "127.0.0.1:0"), &[]);
    let receiver = Receiver::start().await;
    let listen = Listen::start(
        &gateway.admin,
        &receiver.url,
        &["--format", "envelope", "--source", "stripe", "--events", "invoice.*"],
    );
    listen.line("Forwarding events").await;
    let text = listen.text();
    let secret = text
        .split_whitespace()
        .find(|w| w.starts_with("whsec_") && w.len() > 20)
        .expect("the header shows the made secret")
        .to_string();
    assert!(text.contains("new, kept in"), "{text}");
    // Not a --source, and not an --events type: passed over (they come first, so they are
    // handled before the next).
    post_stripe(&gateway.ingest, "evt_env_0", 0).await;
    post(
        &gateway.ingest,
        "github",
        "github",
        "github-provider-secret",
        b"{}",
        "d-1",
        &[("X-GitHub-Event", "ping")],
    )
    .await;
    let body = b"{\"id\":\"evt_env_1\",\"type\":\"invoice.paid\"}";
    post(
        &gateway.ingest,
        "stripe",
        "stripe",
        "whsec_stripe_provider",
        body,
        "evt_env_1",
        &[],
    )
    .await;
    let got = receiver.wait_for(1).await;
    let wh = standardwebhooks::Webhook::new(&secret).expect("the secret");
    wh.verify(&got[0].body, &got[0].headers).expect("the envelope verifies");
    let envelope: serde_json::Value = serde_json::from_slice(&got[0].body).expect("JSON");
    assert_eq!(envelope["type"], "invoice.paid");
    assert_eq!(envelope["payload"]["id"], "evt_env_1");
    listen.line("invoice.paid").await;
    assert_eq!(
        receiver.received().len(),
        1,
        "only the stripe source's invoice.* events: {}",
        listen.text()
    );
    let home = listen_home(&listen);
    let file = std::path::Path::new(&home).join("inlet/listen-secret");
    let kept = std::fs::read_to_string(&file).expect("the secret is kept");
    assert_eq!(kept.trim(), secret);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    assert!(!text.contains('\x1b'), "no colours without a terminal: {text:?}");
    drop(listen);
    let again = Listen::start_in(
        std::path::Path::new(&home),
        &gateway.admin,
        &receiver.url,
        &["--format", "envelope"],
    );
    again.line("Forwarding events").await;
    let text = again.text();
    assert!(
        text.contains(&secret) && text.contains("(kept in "),
        "the next run signs with the same secret: {text}"
    );
}

/// The XDG_CONFIG_HOME `listen` printed it keeps its secret under.
fn listen_home(listen: &Listen) -> String {
    let text = listen.text();
    let at = text.find("kept in ").expect("where the secret is kept") + "kept in ".len();
    let path = text[at..].split_whitespace().next().expect("a path");
    path.trim_end_matches("/inlet/listen-secret").to_string()
}

#[tokio::test]
async fn on_a_terminal_listen_shows_a_coloured_header_with_the_secret_and_one_line_per_event() {
    crate::support::init();
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is needed to give listen a terminal");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Child::serve(&gateway_config(dir.path(), "127.0.0.1:0"), &[]);
    let receiver = Receiver::start().await;
    let command = format!(
        "{} listen --forward-to {} --admin-url {} --token {TOKEN} --secret {LISTEN_SECRET} -c /nonexistent.toml",
        env!("CARGO_BIN_EXE_inlet"),
        receiver.url,
        gateway.admin
    );
    // `script` runs listen on a pseudo-terminal and copies what it shows to stdout.
    let mut screen = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script runs");
    let shown = Arc::new(Mutex::new(String::new()));
    let sink = shown.clone();
    let mut stdout = screen.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("shown")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    eventually("the header on the terminal", Duration::from_secs(20), async || {
        shown.lock().expect("shown").contains("Forwarding events").then_some(())
    })
    .await;
    post(
        &gateway.ingest,
        "stripe",
        "stripe",
        "whsec_stripe_provider",
        b"{\"id\":\"evt_tty\",\"type\":\"charge.refunded\"}",
        "evt_tty",
        &[],
    )
    .await;
    let text = eventually(
        "the event's line on the terminal",
        Duration::from_secs(20),
        async || {
            let text = shown.lock().expect("shown").clone();
            text.contains("charge.refunded").then_some(text)
        },
    )
    .await;
    let _ = screen.kill();
    let _ = screen.wait();
    assert!(text.contains("\x1b[1minlet listen\x1b[0m"), "a bold title: {text:?}");
    assert!(text.contains(LISTEN_SECRET), "the secret to configure: {text:?}");
    assert!(
        text.contains("stripe (stripe)") && text.contains("github (github)"),
        "{text:?}"
    );
    assert!(text.contains("\x1b[32m→ 200\x1b[0m"), "a green answer: {text:?}");
}
