//! The table of kinds: each kind's keys parsed and refused at their path, and what
//! `inlet check` and `Debug` show of them (never a credential).

use std::path::Path;

use super::{DestinationKind, DestinationSettings, parse};

fn table(kind: &str, body: &str) -> toml::Value {
    toml::from_str(&format!("kind = \"{kind}\"\n{body}")).expect("TOML")
}

fn ok(kind: &str, body: &str) -> DestinationSettings {
    parse("d", table(kind, body), Path::new("/etc/inlet")).expect("valid")
}

fn err(kind: &str, body: &str) -> String {
    parse("d", table(kind, body), Path::new("/etc/inlet"))
        .expect_err("refused")
        .to_string()
}

#[test]
fn an_unknown_kind_lists_every_kind() {
    let e = err("kafka", "");
    assert!(
        e.starts_with("destinations.d.kind: unknown kind \"kafka\": use http,"),
        "{e}"
    );
    for kind in ["file", "slack", "command", "nats", "amqp", "redis", "postgres"] {
        assert!(e.contains(kind), "{kind} missing from: {e}");
    }
}

#[test]
fn an_amqp_destination_needs_an_amqp_url_and_an_exchange() {
    let url = "url = \"amqp://guest:guest@127.0.0.1:5672/%2f\"";
    assert!(err("amqp", "exchange = \"x\"").starts_with("destinations.d.url: is required"));
    assert!(err("amqp", url).starts_with("destinations.d.exchange: is required"));
    assert!(
        err("amqp", "url = \"http://x\"\nexchange = \"x\"")
            .starts_with("destinations.d.url: must be a URL that starts with amqp://")
    );
    assert!(err("amqp", "url = \"amqps://h\"\nexchange = \"x\"").contains("TLS"));
    assert!(
        err("amqp", &format!("{url}\nexchange = \"x\"\nsubject = \"s\""))
            .starts_with("destinations.d.subject: unknown field `subject`")
    );
    assert!(
        err("amqp", &format!("{url}\nexchange = \"x\"\nrouting_key = \"{{nope}}\"")).contains("unknown placeholder")
    );
    let d = ok("amqp", &format!("{url}\nexchange = \"\""));
    assert_eq!(d.kind.name(), "amqp");
    assert_eq!(d.timeout.as_secs(), 10);
    assert_eq!(
        d.kind.describe(),
        "amqp  amqp://guest:***@127.0.0.1:5672/%2f exchange (default) routing key {source}.{type}"
    );
}

#[test]
fn a_redis_destination_needs_a_redis_url_and_a_positive_maxlen() {
    assert!(err("redis", "").starts_with("destinations.d.url: is required"));
    assert!(
        err("redis", "url = \"http://x\"").starts_with("destinations.d.url: must be a URL that starts with redis://")
    );
    assert!(err("redis", "url = \"rediss://h\"").contains("TLS"));
    assert!(err("redis", "url = \"redis://h\"\nmaxlen = 0").starts_with("destinations.d.maxlen: must be at least 1"));
    assert!(err("redis", "url = \"redis://h\"\nmaxlen = -1").starts_with("destinations.d.maxlen:"));
    assert!(
        err("redis", "url = \"redis://h\"\nexchange = \"x\"").starts_with("destinations.d.exchange: unknown field")
    );
    let d = ok("redis", "url = \"redis://:hunter2@127.0.0.1:6379/0\"\nmaxlen = 1000");
    assert_eq!(
        d.kind.describe(),
        "redis  redis://:***@127.0.0.1:6379/0 stream inlet:{source} (MAXLEN ~ 1000)"
    );
}

#[test]
fn a_postgres_destination_needs_a_postgres_url_plain_table_names_and_a_pointer_key() {
    let url = "url = \"postgres://app:pw@127.0.0.1/app\"";
    assert!(err("postgres", "").starts_with("destinations.d.url: is required"));
    assert!(err("postgres", "url = \"mysql://h/db\"").starts_with("destinations.d.url: must be a postgres://"));
    for bad in ["a-b", "1abc", "a.b.c", "\\\"x\\\"", ""] {
        let e = err("postgres", &format!("{url}\ntable = \"{bad}\""));
        assert!(e.starts_with("destinations.d.table: a table name"), "{bad}: {e}");
    }
    let mirror = |m: &str| err("postgres", &format!("{url}\nmirror = {m}"));
    assert!(mirror("{ table = \"m\" }").starts_with("destinations.d.mirror.key: is required"));
    assert!(mirror("{ table = \"m\", key = \"id\" }").starts_with("destinations.d.mirror.key:"));
    assert!(mirror("{ table = \"inlet_events\", key = \"/id\" }").contains("must not be the events table"));
    assert!(mirror("{ table = \"m\", key = \"/id\", when = 1 }").contains("unknown field `when`"));
    let d = ok(
        "postgres",
        &format!(
            "{url}\ntable = \"app.events\"\nmirror = {{ table = \"orders\", key = \"/id\", version = \"/updated_at\" }}"
        ),
    );
    assert_eq!(
        d.kind.describe(),
        "postgres  postgres://app:***@127.0.0.1/app table app.events mirror orders by /id (version /updated_at)"
    );
    assert_eq!(d.timeout.as_secs(), 10);
}

#[test]
fn broker_credentials_never_show_in_the_settings_debug_text() {
    let kinds = [
        ok("amqp", "url = \"amqp://u:amqp-secret-1@h/%2f\"\nexchange = \"x\""),
        ok("redis", "url = \"redis://u:redis-secret-2@h/0\""),
        ok("postgres", "url = \"postgres://u:pg-secret-3@h/db\""),
    ];
    for (d, secret) in kinds.iter().zip(["amqp-secret-1", "redis-secret-2", "pg-secret-3"]) {
        assert!(!format!("{d:?}").contains(secret), "{secret} in {d:?}");
        assert!(!d.kind.describe().contains(secret), "{secret} in {}", d.kind.describe());
        assert!(matches!(
            d.kind,
            DestinationKind::Amqp(_) | DestinationKind::Redis(_) | DestinationKind::Postgres(_)
        ));
    }
}
