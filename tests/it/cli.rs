//! The CLI as a user runs it: `verify`, `sign`, `check`, `init`, and their exit codes.

use std::process::{Command, Output};

fn inlet(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inlet"));
    cmd.args(args);
    if stdin.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("inlet runs");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(input).expect("writes");
    }
    child.wait_with_output().expect("inlet exits")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn verify_accepts_stripes_published_example_at_its_time_and_names_the_kind_otherwise() {
    let body = concat!(env!("CARGO_MANIFEST_DIR"), "/src/providers/testdata/stripe_body.bin");
    let header = "Stripe-Signature: t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";
    let ok = inlet(
        &[
            "verify",
            "--scheme",
            "stripe",
            "--secret",
            "webhook_secret",
            "--header",
            header,
            "--at",
            "1533204700",
            body,
        ],
        None,
    );
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(stdout(&ok), "valid\nid: evt_123\ntype: customer.created\n");
    let old = inlet(
        &[
            "verify",
            "--scheme",
            "stripe",
            "--secret",
            "webhook_secret",
            "--header",
            header,
            body,
        ],
        None,
    );
    assert_eq!(old.status.code(), Some(1));
    assert!(stdout(&old).starts_with("invalid: timestamp_too_old\n"));
    let forged = inlet(
        &[
            "verify", "--scheme", "stripe", "--secret", "other", "--header", header, body,
        ],
        None,
    );
    assert!(
        stdout(&forged).starts_with("invalid: invalid_signature\n"),
        "a forged old request reads invalid_signature"
    );
}

#[test]
fn sign_output_feeds_verify_for_every_scheme() {
    let body = br#"{"id":"evt_cli","event_id":"E9","type":"x.y","event_type":"x.y"}"#;
    let schemes: [(&str, &str, &[&str]); 9] = [
        ("stripe", "whsec_a", &[]),
        ("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &[]),
        ("github", "g", &[]),
        ("shopify", "s", &[]),
        ("slack", "sl", &[]),
        ("twilio", "tw", &["--url", "https://h.example.com/webhooks/t"]),
        ("paddle", "pdl", &[]),
        ("square", "sq", &["--url", "https://h.example.com/sq"]),
        ("hmac", "hm", &["--hmac-header", "X-Sig", "--hmac-encoding", "base64"]),
    ];
    for (scheme, secret, extra) in schemes {
        let mut args = vec![
            "sign",
            "--scheme",
            scheme,
            "--secret",
            secret,
            "--at",
            "1800000000",
            "--id",
            "msg_1",
        ];
        args.extend_from_slice(extra);
        args.push("-");
        let signed = inlet(&args, Some(body));
        assert_eq!(
            signed.status.code(),
            Some(0),
            "{scheme}: {}",
            String::from_utf8_lossy(&signed.stderr)
        );
        let lines: Vec<String> = stdout(&signed).lines().map(str::to_string).collect();
        assert!(!lines.is_empty(), "{scheme} printed headers");
        let mut verify = vec!["verify", "--scheme", scheme, "--secret", secret, "--at", "1800000003"];
        verify.extend_from_slice(extra);
        for line in &lines {
            verify.extend_from_slice(&["--header", line.as_str()]);
        }
        verify.push("-");
        let checked = inlet(&verify, Some(body));
        assert_eq!(checked.status.code(), Some(0), "{scheme}: {}", stdout(&checked));
        assert!(stdout(&checked).starts_with("valid\n"), "{scheme}");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        inlet(&["verify", "--scheme", "nope", "--secret", "x", "-"], Some(b""))
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        inlet(&["verify", "--scheme", "twilio", "--secret", "x", "-"], Some(b""))
            .status
            .code(),
        Some(2),
        "twilio needs --url"
    );
    assert_eq!(
        inlet(
            &[
                "verify", "--scheme", "github", "--secret", "x", "--header", "no colon", "-"
            ],
            Some(b"")
        )
        .status
        .code(),
        Some(2)
    );
    let missing = inlet(
        &[
            "verify",
            "--scheme",
            "github",
            "--secret",
            "x",
            "--header",
            "X-Hub-Signature-256:",
            "-",
        ],
        Some(b"{}"),
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stdout(&missing).starts_with("invalid: missing_header"),
        "an empty value counts as missing"
    );
}

#[test]
fn init_writes_a_config_that_check_accepts_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inlet.toml");
    let p = path.to_str().expect("utf-8 path");
    assert_eq!(inlet(&["init", "-c", p], None).status.code(), Some(0));
    assert_eq!(
        inlet(&["init", "-c", p], None).status.code(),
        Some(1),
        "refuses to overwrite"
    );
    let unset = inlet(&["check", "-c", p], None);
    assert_eq!(unset.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unset.stderr).contains("environment variable STRIPE_WEBHOOK_SECRET is not set"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inlet"));
    let ok = cmd
        .args(["check", "-c", p])
        .env("STRIPE_WEBHOOK_SECRET", "whsec_x")
        .output()
        .expect("runs");
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("POST /webhooks/stripe"));
}

#[test]
fn init_writes_a_random_admin_token_readable_only_by_its_owner() {
    let token_of = |dir: &std::path::Path| {
        let path = dir.join("inlet.toml");
        assert_eq!(
            inlet(&["init", "-c", path.to_str().expect("utf-8")], None)
                .status
                .code(),
            Some(0)
        );
        let text = std::fs::read_to_string(&path).expect("written");
        let line = text.lines().find(|l| l.starts_with("token = ")).expect("a token line");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the file holds a secret");
        }
        line.split('"').nth(1).expect("quoted").to_string()
    };
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (first, second) = (token_of(a.path()), token_of(b.path()));
    assert_eq!(first.len(), 48);
    assert!(first.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(first, second, "each init writes a new token");
}

#[test]
fn every_example_config_passes_check_with_its_variables_set() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("examples folder") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_inlet"));
        cmd.args(["check", "-c"]).arg(&path);
        for part in text.split("${").skip(1) {
            let name = part.split('}').next().expect("a name");
            let value = if name == "DATABASE_URL" {
                "postgres://inlet@127.0.0.1/inlet"
            } else {
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            };
            cmd.env(name, value);
        }
        let out = cmd.output().expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 5, "the quickstart and the four poll examples");
}

#[test]
fn check_names_the_key_path_of_a_bad_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[sources.gh]\nscheme = \"github\"\nsecrets = [\"s\"]\ntolerance = \"5m\"\n",
    )
    .expect("written");
    let out = inlet(&["check", "-c", path.to_str().expect("utf-8")], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sources.gh.tolerance: has no effect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_signs_and_posts_like_the_provider_and_prints_the_answer() {
    let app =
        crate::support::TestApp::spawn("[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"whsec_send\"]\n").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let body = dir.path().join("event.json");
    std::fs::write(&body, r#"{"id":"evt_sent","type":"charge.succeeded"}"#).expect("written");
    let url = format!("{}/webhooks/stripe", app.base);
    let run = |secret: &'static str| {
        let (url, body) = (url.clone(), body.clone());
        tokio::task::spawn_blocking(move || {
            let body = body.to_str().expect("utf-8").to_string();
            inlet(&["send", &url, "--scheme", "stripe", "--secret", secret, &body], None)
        })
    };
    let ok = run("whsec_send").await.expect("runs");
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let out = stdout(&ok);
    assert!(
        out.starts_with("200 OK\n") && out.contains(r#""duplicate":false"#),
        "{out}"
    );
    let forged = run("whsec_other").await.expect("runs");
    assert_eq!(forged.status.code(), Some(1));
    assert!(stdout(&forged).contains("invalid_signature"));
    app.stop().await;
}

#[test]
fn check_shows_every_url_masked_and_no_credential_of_any_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inlet.toml");
    std::fs::write(
        &path,
        r#"
[storage]
url = "postgres://inlet:PG-PASSWORD@db.internal/inlet"

[sources.items]
kind = "poll"
url = "https://user:POLL-PASSWORD@api.example.com/x?api_key=POLL-SECRET&limit=10"
query = { access_token = "QUERY-TOKEN" }
headers = { Authorization = "Bearer HEADER-SECRET" }
items = "/data"
id = "/id"

[sources.items.hydrate]
url = "https://user:HYDRATE-PASSWORD@api.example.com/x/{/id}?signature=HYDRATE-SIG"

[destinations.app]
kind = "http"
url = "https://user:DEST-PASSWORD@app.example.com/hook?token=DEST-TOKEN"

[destinations.bus]
kind = "nats"
url = "nats://user:NATS-PASSWORD@127.0.0.1:4222"
subject = "inlet.{source}"

[destinations.run]
kind = "command"
command = ["./handle.sh", "--key=ARGV-SECRET"]
env = { API_KEY = "ENV-SECRET" }

[destinations.queue]
kind = "amqp"
url = "amqp://guest:AMQP-PASSWORD@127.0.0.1:5672/%2f"
exchange = "inlet"

[destinations.stream]
kind = "redis"
url = "redis://:REDIS-PASSWORD@127.0.0.1:6379/0"

[destinations.warehouse]
kind = "postgres"
url = "postgres://app:WAREHOUSE-PASSWORD@127.0.0.1/app"

[[routes]]
from = ["items"]
to = ["app", "bus", "run", "queue", "stream", "warehouse"]
"#,
    )
    .expect("written");
    let out = inlet(&["check", "-c", path.to_str().expect("utf-8")], None);
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{text}");
    for secret in [
        "PG-PASSWORD",
        "POLL-PASSWORD",
        "POLL-SECRET",
        "QUERY-TOKEN",
        "HEADER-SECRET",
        "HYDRATE-PASSWORD",
        "HYDRATE-SIG",
        "DEST-PASSWORD",
        "DEST-TOKEN",
        "NATS-PASSWORD",
        "ARGV-SECRET",
        "ENV-SECRET",
        "AMQP-PASSWORD",
        "REDIS-PASSWORD",
        "WAREHOUSE-PASSWORD",
    ] {
        assert!(!text.contains(secret), "{secret} shown:\n{text}");
    }
    for shown in [
        "postgres://inlet:***@db.internal/inlet",
        "GET https://user:***@api.example.com/x?api_key=***&limit=10&access_token=***",
        "GET https://user:***@api.example.com/x/{/id}?signature=***",
        "http  https://user:***@app.example.com/hook?token=***",
        "nats  nats://user:***@127.0.0.1:4222",
        "amqp  amqp://guest:***@127.0.0.1:5672/%2f exchange inlet routing key {source}.{type}",
        "redis  redis://:***@127.0.0.1:6379/0 stream inlet:{source}",
        "postgres  postgres://app:***@127.0.0.1/app table inlet_events",
        "env: API_KEY",
    ] {
        assert!(text.contains(shown), "{shown:?} not in:\n{text}");
    }
}

#[test]
fn check_refuses_a_mistyped_secret_without_printing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[sources.gh]\nscheme = \"github\"\nsecrets = \"ghs_MISTYPED_SECRET\"\n",
    )
    .expect("written");
    let out = inlet(&["check", "-c", path.to_str().expect("utf-8")], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("sources.gh.secrets: invalid type: string, expected"),
        "{stderr}"
    );
    assert!(!stderr.contains("MISTYPED_SECRET"), "{stderr}");
}
