//! `inlet trigger` as a user runs it: every provider's every sample event, signed as that
//! provider signs, is accepted (200) by a gateway whose config has that provider's source
//! with the same key, and `--list` names them all. Plus `inlet providers`.

use std::process::Command;

use inlet::providers::{example_keys, registry};
use inlet::signature::Family;

use crate::support::TestApp;

fn inlet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_inlet"))
        .args(args)
        .output()
        .expect("inlet runs")
}

/// One source per provider that signs, each with the verifying half of its example keys.
fn sources() -> String {
    let mut out = String::from("[server]\npublic_url = \"https://hooks.example.com\"\n");
    for p in &registry().providers {
        if matches!(p.verify, Family::None) || p.configurable {
            continue;
        }
        let (_, verifying) = example_keys(&p.verify);
        out.push_str(&format!(
            "[sources.{n}]\nscheme = \"{n}\"\nsecrets = [{v:?}]\n",
            n = p.name,
            v = verifying
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_sends_every_providers_sample_events_and_the_gateway_accepts_each() {
    let config = sources();
    let app = TestApp::spawn(&config).await;
    // The same config for the CLI, pointing at the listener the test app bound.
    let port = app.base.rsplit(':').next().expect("port");
    let cli_config = config.replacen("[server]\n", &format!("[server]\nlisten = \"127.0.0.1:{port}\"\n"), 1);
    let path = app.dir.path().join("trigger.toml");
    std::fs::write(&path, cli_config).expect("config written");
    let path = path.to_str().expect("utf-8 path");

    let mut sent = 0;
    for p in &registry().providers {
        if matches!(p.verify, Family::None) || p.configurable {
            continue;
        }
        let (signing, _) = example_keys(&p.verify);
        for s in &p.samples {
            let out = inlet(&["--config", path, "trigger", &p.name, &s.event, "--secret", &signing]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.starts_with("200"),
                "{} {}: {stdout} {}",
                p.name,
                s.event,
                String::from_utf8_lossy(&out.stderr)
            );
            sent += 1;
        }
    }
    assert!(sent >= 80, "{sent} sample events");
    let stored = app.stored().await;
    assert_eq!(stored.len(), sent, "each sample is a new event");

    let list = inlet(&["trigger", "--list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert_eq!(listed.lines().count(), sent, "--list names every sample");
    for line in [
        "stripe charge.succeeded",
        "github pull_request.opened",
        "shopify orders/create",
        "slack app_mention",
    ] {
        assert!(listed.lines().any(|l| l == line), "--list lacks {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_takes_its_secret_from_the_config_and_set_overrides_a_field() {
    let app = TestApp::spawn("[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"whsec_abc\"]\n").await;
    let port = app.base.rsplit(':').next().expect("port");
    let path = app.dir.path().join("trigger.toml");
    std::fs::write(
        &path,
        format!("[server]\nlisten = \"127.0.0.1:{port}\"\n[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"whsec_abc\"]\n"),
    )
    .expect("config written");
    let path = path.to_str().expect("utf-8 path");
    let out = inlet(&[
        "--config",
        path,
        "trigger",
        "stripe",
        "invoice.paid",
        "--set",
        "/id=evt_chosen",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        app.stored().await,
        vec![("stripe".to_string(), "evt_chosen".to_string())]
    );

    let wrong = inlet(&[
        "--config",
        path,
        "trigger",
        "stripe",
        "invoice.paid",
        "--secret",
        "whsec_other",
    ]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stdout).starts_with("401"));
    let unknown = inlet(&["--config", path, "trigger", "stripe", "no.such.event"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("charge.succeeded"));
}

#[test]
fn providers_lists_every_provider_and_shows_one_with_a_sample_config() {
    let list = inlet(&["providers", "--json"]);
    assert!(list.status.success());
    let all: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(all.as_array().map(Vec::len), Some(registry().providers.len()));
    let show = inlet(&["providers", "show", "twilio"]);
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success());
    assert!(
        text.contains("scheme = \"twilio\"") && text.contains("public_url"),
        "{text}"
    );
    let missing = inlet(&["providers", "show", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
}
