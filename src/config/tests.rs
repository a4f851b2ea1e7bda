//! Config parsing: defaults, interpolation, and errors that name their key path.

use std::path::Path;

use super::*;
use crate::domain::settings::without_value;

fn parse(text: &str) -> Result<Settings, ConfigError> {
    Settings::parse(text, Path::new("/etc/inlet"), &|name| match name {
        "STRIPE_SECRET" => Some("whsec_from_env".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    })
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const STRIPE: &str = r#"
[sources.stripe]
kind = "webhook"
scheme = "stripe"
secrets = ["${STRIPE_SECRET}"]
"#;

#[test]
fn an_empty_file_gives_the_documented_defaults() {
    let s = parse("").expect("empty config is valid");
    assert_eq!(s.server.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(s.server.max_body, 1 << 20);
    assert_eq!(s.admin.listen.to_string(), "127.0.0.1:8081");
    assert_eq!(s.storage.sqlite_path, Path::new("/etc/inlet/inlet-data/inlet.db"));
    assert_eq!(s.storage.retention, Duration::from_secs(14 * 86400));
}

#[test]
fn secrets_are_read_from_the_environment_and_never_printed() {
    let s = parse(STRIPE).expect("valid");
    let SourceSettings::Webhook(w) = &s.sources["stripe"] else {
        panic!("a webhook source")
    };
    assert_eq!(w.secrets[0].expose(), "whsec_from_env");
    assert!(!format!("{s:?}").contains("whsec_from_env"));
    assert_eq!(w.dedupe_group, "stripe");
}

#[test]
fn a_missing_environment_variable_names_the_variable_and_the_key() {
    let e = err(&STRIPE.replace("STRIPE_SECRET", "NOPE"));
    assert_eq!(e, "sources.stripe.secrets[0]: environment variable NOPE is not set");
}

#[test]
fn unknown_keys_are_errors_with_their_path() {
    assert!(
        err("[server]\nlisten = \"127.0.0.1:1\"\nlisten_port = 3\n")
            .starts_with("server.listen_port: unknown field `listen_port`")
    );
    let e = err(&format!("{STRIPE}colour = \"blue\"\n"));
    assert!(e.starts_with("sources.stripe.colour: unknown field `colour`"), "{e}");
    assert!(err("[nope]\n").contains("unknown field `nope`"));
}

#[test]
fn bad_values_name_their_key_path() {
    let e = err(&format!("{STRIPE}tolerance = \"5 minutes\"\n"));
    assert!(e.starts_with("sources.stripe.tolerance: "), "{e}");
    assert!(err("[server]\nmax_body = \"lots\"\n").starts_with("server.max_body: "));
    assert!(err("[server]\nlisten = \"port 80\"\n").starts_with("server.listen: "));
    assert!(err(&format!("{STRIPE}id = \"data.id\"\n")).starts_with("sources.stripe.id: "));
    assert!(
        err("[sources.x]\nscheme = \"stripey\"\nsecrets = [\"a\"]\n").starts_with("sources.x.scheme: unknown scheme")
    );
}

#[test]
fn settings_without_effect_are_errors() {
    let github = "[sources.gh]\nscheme = \"github\"\nsecrets = [\"s\"]\n";
    assert!(err(&format!("{github}tolerance = \"5m\"\n")).starts_with("sources.gh.tolerance: has no effect"));
    assert!(err(&format!("{STRIPE}allow_sha1 = true\n")).starts_with("sources.stripe.allow_sha1: has no effect"));
    assert!(err(&format!("{STRIPE}header = \"X-Sig\"\n")).starts_with("sources.stripe.header: has no effect"));
    parse(&format!("{github}allow_sha1 = true\n")).expect("allow_sha1 belongs to github");
}

#[test]
fn empty_secrets_and_unsigned_sources_need_care() {
    assert!(
        err(&STRIPE.replace("${STRIPE_SECRET}", "${EMPTY}"))
            .starts_with("sources.stripe.secrets[0]: must not be empty")
    );
    assert!(err("[sources.s]\nscheme = \"stripe\"\n").starts_with("sources.s.secrets: at least one secret"));
    assert!(err("[sources.open]\nscheme = \"none\"\n").starts_with("sources.open.allow_unsigned"));
    parse("[sources.open]\nscheme = \"none\"\nallow_unsigned = true\n").expect("explicitly unsigned");
    let e = err("[sources.sw]\nscheme = \"standard\"\nsecrets = [\"whsec_***\"]\n");
    assert!(e.starts_with("sources.sw.secrets: "), "{e}");
}

#[test]
fn url_signing_schemes_need_a_public_url() {
    assert!(err("[sources.t]\nscheme = \"twilio\"\nsecrets = [\"tok\"]\n").starts_with("sources.t.public_url"));
    parse(
        "[server]\npublic_url = \"https://hooks.example.com\"\n[sources.t]\nscheme = \"twilio\"\nsecrets = [\"tok\"]\n",
    )
    .expect("server.public_url suffices");
}

#[test]
fn the_admin_token_is_required_off_loopback() {
    assert!(err("[admin]\nlisten = \"0.0.0.0:8081\"\n").starts_with("admin.token: required"));
    parse("[admin]\nlisten = \"0.0.0.0:8081\"\ntoken = \"t0k3n\"\n").expect("token given");
}

#[test]
fn routes_refer_to_known_sources_and_destinations() {
    let base = format!("{STRIPE}[destinations.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:3000/e\"\n");
    let ok = parse(&format!(
        "{base}[[routes]]\nfrom = [\"stripe\"]\nevents = [\"charge.*\"]\nto = [\"app\"]\n"
    ))
    .expect("valid");
    let routed = |t: Option<&str>| -> Vec<String> {
        ok.pending_deliveries("stripe", t, b"{}", 0, None)
            .into_iter()
            .map(|d| d.destination)
            .collect()
    };
    assert_eq!(routed(Some("charge.succeeded")), vec!["app".to_string()]);
    assert!(routed(Some("invoice.paid")).is_empty());
    assert!(routed(None).is_empty());
    assert!(
        err(&format!("{base}[[routes]]\nfrom = [\"strip\"]\nto = [\"app\"]\n"))
            .starts_with("routes[0].from[0]: no source named")
    );
    assert!(
        err(&format!("{base}[[routes]]\nfrom = [\"stripe\"]\nto = [\"ap\"]\n"))
            .starts_with("routes[0].to[0]: no destination named")
    );
}

#[test]
fn sqlite_urls_resolve_relative_to_the_config_folder() {
    let rel = parse("[storage]\nurl = \"sqlite://data/x.db\"\n").expect("valid");
    assert_eq!(rel.storage.sqlite_path, Path::new("/etc/inlet/data/x.db"));
    let abs = parse("[storage]\nurl = \"sqlite:///var/lib/inlet/x.db\"\n").expect("valid");
    assert_eq!(abs.storage.sqlite_path, Path::new("/var/lib/inlet/x.db"));
    assert!(err("[storage]\nurl = \"mysql://x\"\n").starts_with("storage.url: "));
    let typo = err("[storage]\nurl = \"postgress://inlet:hunter2@db/inlet\"\n");
    assert!(typo.starts_with("storage.url: "), "{typo}");
    assert!(typo.contains("postgress"), "names the scheme: {typo}");
    assert!(!typo.contains("hunter2"), "never repeats a password: {typo}");
}

#[test]
fn the_starter_config_and_the_quickstart_example_are_valid() {
    let env = |name: &str| Some(format!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw{}", name.len()));
    Settings::parse(include_str!("../cli/starter.toml"), Path::new("."), &env).expect("starter is valid");
    Settings::parse(
        include_str!("../../examples/quickstart.toml"),
        Path::new("examples"),
        &env,
    )
    .expect("quickstart is valid");
}

#[test]
fn a_destination_secret_must_be_able_to_sign() {
    let base = "[destinations.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:3000/e\"\n";
    parse(&format!("{base}secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n")).expect("an HMAC key signs");
    let public = err(&format!(
        "{base}secret = \"whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=\"\n"
    ));
    assert!(
        public.starts_with("destinations.app.secret: signing with a public key"),
        "{public}"
    );
    assert!(err(&format!("{base}secret = \"whsec_%%%\"\n")).starts_with("destinations.app.secret: "));
}

const POLL: &str = r#"
[sources.p]
kind = "poll"
url = "https://api.example.com/v1/items?limit=10&expand=x"
query = { limit = "100" }
items = "/data"
id = "/id"
"#;

fn poll(extra: &str) -> Result<PollSource, ConfigError> {
    match parse(&format!("{POLL}{extra}"))?.sources.remove("p") {
        Some(SourceSettings::Poll(p)) => Ok(p),
        _ => panic!("a poll source"),
    }
}

#[test]
fn a_poll_source_gets_the_documented_defaults_and_merges_its_url_query() {
    let p = poll("").expect("valid");
    assert_eq!(p.interval, Duration::from_secs(30));
    assert_eq!(p.idle_interval, Duration::from_secs(300));
    assert_eq!(p.timeout, Duration::from_secs(10));
    assert_eq!(p.pagination, Pagination::None);
    assert_eq!(p.dedupe_group, "p");
    assert_eq!(p.max_pages, 1000);
    assert_eq!(p.url.as_str(), "https://api.example.com/v1/items");
    let query: Vec<(&str, &str)> = p.query.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    assert_eq!(
        query,
        vec![("expand", "x"), ("limit", "100")],
        "query wins over the url's own"
    );
}

#[test]
fn poll_settings_that_cannot_work_are_errors_at_their_key() {
    let e = |extra: &str| poll(extra).expect_err("invalid").to_string();
    assert!(e("interval = \"500ms\"\n").starts_with("sources.p.interval: must be at least 1s"));
    assert!(
        e("interval = \"10s\"\nidle_interval = \"5s\"\n")
            .starts_with("sources.p.idle_interval: must not be shorter than interval")
    );
    assert!(
        e("event_type = \"/type\"\nevent_type_literal = \"x\"\n")
            .starts_with("sources.p.event_type_literal: give either")
    );
    assert!(
        e("cursor = { param = \"after\", field = \"/cursor\", initial = \"opaque_abc\", lookback = \"5s\" }\n")
            .starts_with("sources.p.cursor.lookback: needs a numeric")
    );
    assert!(
        e("pagination = { kind = \"link_header\", param = \"page\" }\n")
            .starts_with("sources.p.pagination.param: has no effect with pagination kind \"link_header\"")
    );
    assert!(
        e("pagination = { kind = \"cursor\", field = \"/id\" }\n")
            .starts_with("sources.p.pagination.param: is required with pagination kind \"cursor\"")
    );
    assert!(e("pagination = { kind = \"offset\" }\n").starts_with("sources.p.pagination.kind: unknown kind"));
    assert!(e("url2 = \"x\"\n").starts_with("sources.p.url2: unknown field"));
    assert!(e("max_pages = 0\n").starts_with("sources.p.max_pages: must be at least 1"));
    assert!(e("max_pages = -3\n").starts_with("sources.p.max_pages: "));
}

#[test]
fn a_poll_source_with_lookback_accepts_numeric_and_rfc3339_initial_cursors() {
    for initial in ["\"0\"", "1700000000", "\"2026-01-01T00:00:00Z\""] {
        let p = poll(&format!(
            "cursor = {{ param = \"since\", field = \"/t\", initial = {initial}, lookback = \"1m\" }}\n"
        ))
        .expect("valid");
        let c = p.cursor.expect("cursor");
        assert_eq!(c.lookback, Duration::from_secs(60));
        assert_eq!(c.unit, CursorUnit::Seconds);
    }
    assert!(
        poll("version = \"\"\n").expect("valid").version.is_none(),
        "\"\" means no version"
    );
}

#[test]
fn slack_command_and_hydrate_settings_that_cannot_work_are_errors_at_their_key() {
    let dest = |body: &str| err(&format!("[destinations.d]\n{body}\n"));
    assert!(dest("kind = \"slack\"").starts_with("destinations.d.url: is required"));
    assert!(
        dest("kind = \"slack\"\nurl = \"https://hooks.slack.com/x\"\ntext = \"{nope}\"")
            .starts_with("destinations.d.text:")
    );
    assert!(
        dest("kind = \"slack\"\nurl = \"https://hooks.slack.com/x\"\nsecret = \"whsec_x\"")
            .starts_with("destinations.d.secret: unknown field `secret`, expected `url` or `text`")
    );
    assert!(dest("kind = \"command\"\ncommand = []").starts_with("destinations.d.command: needs the program"));
    assert!(
        dest("kind = \"command\"\ncommand = [\"x\"]\nurl = \"http://a\"")
            .starts_with("destinations.d.url: unknown field `url`, expected `command` or `env`")
    );
    let hydrate = |url: &str| err(&format!("{STRIPE}\n[sources.stripe.hydrate]\nurl = \"{url}\"\n"));
    assert!(
        hydrate("https://{/host}/x").starts_with("sources.stripe.hydrate.url: placeholders go in the path and query")
    );
    assert!(hydrate("ftp://example.com/{/id}").starts_with("sources.stripe.hydrate.url:"));
    assert!(hydrate("https://api.example.com/{/id").starts_with("sources.stripe.hydrate.url:"));
}

#[test]
fn a_command_destination_defaults_to_a_30s_timeout_and_runs_in_the_config_folder() {
    let s = parse("[destinations.d]\nkind = \"command\"\ncommand = [\"./handle.sh\", \"--flag\"]\n").expect("valid");
    let d = &s.destinations["d"];
    assert_eq!(d.timeout, Duration::from_secs(30));
    match &d.kind {
        DestinationKind::Command(c) => {
            assert_eq!(c.argv, vec!["./handle.sh", "--flag"]);
            assert_eq!(c.dir, Path::new("/etc/inlet"));
            assert!(c.env.is_empty());
        }
        other => panic!("a command destination, not {other:?}"),
    }
}

#[test]
fn a_command_env_table_takes_interpolated_values_that_debug_never_shows() {
    let s = parse(
        "[destinations.d]\nkind = \"command\"\ncommand = [\"x\"]\nenv = { KEY = \"${STRIPE_SECRET}\", MODE = \"live\" }\n",
    )
    .expect("valid");
    let DestinationKind::Command(c) = &s.destinations["d"].kind else {
        panic!("a command destination");
    };
    let env: Vec<(&str, &str)> = c.env.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    assert_eq!(env, vec![("KEY", "whsec_from_env"), ("MODE", "live")]);
    assert!(!format!("{s:?}").contains("whsec_from_env"));
    let dest = |body: &str| err(&format!("[destinations.d]\n{body}\n"));
    assert!(
        dest("kind = \"command\"\ncommand = [\"x\"]\nenv = { INLET_TYPE = \"x\" }")
            .starts_with("destinations.d.env.INLET_TYPE: is set by inlet for each event")
    );
    assert!(
        dest("kind = \"http\"\nurl = \"http://a\"\nenv = { A = \"b\" }").starts_with(
            "destinations.d.env: unknown field `env`, expected one of `url`, `format`, `secret`, `headers`"
        )
    );
}

#[test]
fn a_type_error_names_the_key_and_the_expected_type_but_never_the_value() {
    let cases = [
        (
            "[sources.s]\nscheme = \"stripe\"\nsecrets = [\"ok\", 918273645]\n",
            "sources.s.secrets[1]",
            "918273645",
        ),
        (
            "[sources.s]\nscheme = \"stripe\"\nsecrets = \"whsec_lone_value\"\n",
            "sources.s.secrets",
            "whsec_lone_value",
        ),
        ("[admin]\ntoken = 31415926535\n", "admin.token", "31415926535"),
        (
            "[sources.p]\nkind = \"poll\"\nurl = \"https://a.example\"\nitems = \"/d\"\nid = \"/id\"\nheaders = \"Bearer hdr-value\"\n",
            "sources.p.headers",
            "hdr-value",
        ),
        (
            "[destinations.d]\nkind = \"command\"\ncommand = [\"x\"]\nenv = { K = 27182818 }\n",
            "destinations.d.env.K",
            "27182818",
        ),
        (
            "[destinations.d]\nkind = \"http\"\nurl = \"https://a\"\nsecret = true\n",
            "destinations.d.secret",
            "true",
        ),
    ];
    for (text, path, value) in cases {
        let e = err(text);
        assert!(e.starts_with(&format!("{path}: invalid type: ")), "{e}");
        assert!(e.contains("expected"), "{e}");
        assert!(!e.contains(value), "{e}");
    }
    assert_eq!(
        without_value("invalid type: string \"s3cr3t, expected x\", expected a map"),
        "invalid type: string, expected a map"
    );
    assert_eq!(
        without_value("invalid value: integer `-1`, expected u32"),
        "invalid value: integer, expected u32"
    );
}

#[test]
fn a_url_that_is_not_http_is_shown_masked_in_its_error() {
    let e = err("[destinations.d]\nkind = \"http\"\nurl = \"ftp://user:ftp-password@a/x?token=tok-value\"\n");
    assert!(e.starts_with("destinations.d.url: "), "{e}");
    assert!(!e.contains("ftp-password") && !e.contains("tok-value"), "{e}");
    let e = err("[sources.p]\nkind = \"poll\"\nurl = \"ftp://u:poll-password@a/x\"\nitems = \"/d\"\nid = \"/id\"\n");
    assert!(e.starts_with("sources.p.url: ") && !e.contains("poll-password"), "{e}");
}

#[test]
fn a_nats_destination_needs_a_nats_url_and_a_subject_without_wildcards() {
    let dest = |body: &str| err(&format!("[destinations.d]\nkind = \"nats\"\n{body}\n"));
    assert!(dest("subject = \"a.{source}\"").starts_with("destinations.d.url: is required"));
    assert!(dest("url = \"http://x\"\nsubject = \"a\"").starts_with("destinations.d.url: must be a nats://"));
    assert!(dest("url = \"nats://127.0.0.1:4222\"").starts_with("destinations.d.subject: is required"));
    assert!(dest("url = \"nats://127.0.0.1:4222\"\nsubject = \"a.>\"").starts_with("destinations.d.subject:"));
    assert!(dest("url = \"nats://127.0.0.1:4222\"\nsubject = \"a..{type}\"").starts_with("destinations.d.subject:"));
    assert!(
        dest("url = \"nats://127.0.0.1:4222\"\nsubject = \"a\"\ntext = \"x\"")
            .starts_with("destinations.d.text: unknown field `text`, expected `url` or `subject`")
    );
    let ok = parse(
        "[destinations.d]\nkind = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"inlet.{source}.{type}\"\n",
    )
    .expect("valid");
    assert_eq!(ok.destinations["d"].kind.name(), "nats");
}

#[test]
fn credentials_in_poll_hydrate_slack_and_nats_settings_never_show_in_their_debug_text() {
    let s = parse(
        r#"
[sources.p]
kind = "poll"
url = "https://reader:poll-password-6@api.example.com/items?api_key=query-secret-1"
headers = { Authorization = "Bearer header-secret-2" }
items = "/data"
id = "/id"

[sources.p.hydrate]
url = "https://api.example.com/items/{/id}"
headers = { "X-Token" = "hydrate-secret-3" }

[destinations.chat]
kind = "slack"
url = "https://hooks.slack.com/services/T000/B000/slack-secret-4"

[destinations.bus]
kind = "nats"
url = "nats://user:nats-secret-5@127.0.0.1:4222"
subject = "inlet.{source}"
"#,
    )
    .expect("valid");
    let text = format!("{s:?}");
    for secret in [
        "query-secret-1",
        "header-secret-2",
        "hydrate-secret-3",
        "slack-secret-4",
        "nats-secret-5",
        "poll-password-6",
    ] {
        assert!(!text.contains(secret), "{secret} is in the settings' Debug text");
    }
}

#[test]
fn hardening_keys_have_their_defaults_and_node_timeout_applies_to_postgres_only() {
    let s = parse("").expect("defaults");
    assert_eq!(s.server.max_connections, 10_000);
    assert_eq!(s.server.max_inflight_body, 256 << 20);
    assert_eq!(s.server.rejected_keep, 64 << 20);
    assert_eq!(s.storage.node_timeout, Duration::from_secs(10));
    let pg = parse("[storage]\nurl = \"postgres://u@h/db\"\nnode_timeout = \"3s\"\n").expect("postgres");
    assert_eq!(pg.storage.node_timeout, Duration::from_secs(3));
    assert!(err("[storage]\nnode_timeout = \"3s\"\n").starts_with("storage.node_timeout: has no effect on SQLite"));
    assert!(err("[storage]\nurl = \"postgres://u@h/db\"\nnode_timeout = \"1s\"\n").contains("at least 3s"));
    assert!(err("[server]\nmax_connections = 0\n").starts_with("server.max_connections"));
    assert!(
        err("[server]\nmax_body = \"2MiB\"\nmax_inflight_body = \"1MiB\"\n").starts_with("server.max_inflight_body")
    );
}
