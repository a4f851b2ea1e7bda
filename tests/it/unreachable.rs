//! Brokers and databases that cannot be reached: the gateway still starts and acknowledges
//! webhooks (they are stored), each attempt fails with an error that says so, and no
//! password from a destination's URL appears in the errors or the admin API. Needs no
//! server: the URLs point at a port nothing listens on.

use std::time::Duration;

use crate::support::{TestApp, eventually, shop_source};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A loopback port that was free a moment ago and has no listener.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn unreachable_brokers_and_databases_let_the_gateway_start_and_fail_each_attempt_without_a_password() {
    let port = closed_port();
    let shop = shop_source(SECRET);
    let destinations = [
        (
            "queue",
            format!("kind = \"amqp\"\nurl = \"amqp://u:AMQP-PW@127.0.0.1:{port}/%2f\"\nexchange = \"x\""),
        ),
        (
            "stream",
            format!("kind = \"redis\"\nurl = \"redis://u:REDIS-PW@127.0.0.1:{port}/0\""),
        ),
        (
            "rows",
            format!("kind = \"postgres\"\nurl = \"postgres://u:PG-PW@127.0.0.1:{port}/db\""),
        ),
    ];
    let mut config = shop;
    for (name, body) in &destinations {
        config.push_str(&format!(
            "\n[destinations.{name}]\n{body}\ntimeout = \"2s\"\nretry = [\"0s\", \"1h\"]\n"
        ));
    }
    config.push_str("\n[[routes]]\nfrom = [\"shop\"]\nto = [\"queue\", \"stream\", \"rows\"]\n");
    let app = TestApp::spawn(&config).await;

    let ids = app.post_many("shop", SECRET, "u", 1).await;
    let event = eventually(
        "a failed attempt at every destination",
        Duration::from_secs(30),
        async || {
            let e = app.store.event(&ids[0]).await.expect("reads").expect("stored");
            e.deliveries.iter().all(|d| !d.attempts.is_empty()).then_some(e)
        },
    )
    .await;
    for delivery in &event.deliveries {
        let error = delivery.attempts[0].error.clone().unwrap_or_default();
        assert_eq!(
            delivery.state, "pending",
            "{}: retried later, not dead: {error}",
            delivery.destination
        );
        assert!(!error.is_empty(), "{}: the attempt says why", delivery.destination);
        for password in ["AMQP-PW", "REDIS-PW", "PG-PW"] {
            assert!(
                !error.contains(password),
                "{}: {password} in {error:?}",
                delivery.destination
            );
        }
    }
    let view = reqwest::Client::new()
        .get(format!("{}/api/v1/destinations", app.admin))
        .bearer_auth("t")
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("text");
    for password in ["AMQP-PW", "REDIS-PW", "PG-PW"] {
        assert!(!view.contains(password), "{password} in {view}");
    }
    app.stop().await;
}
