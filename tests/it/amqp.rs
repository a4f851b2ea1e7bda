//! The `amqp` destination against this machine's RabbitMQ, read back with lapin. Skipped
//! (and says so) unless INLET_TEST_AMQP names a broker, e.g.
//! amqp://guest:guest@127.0.0.1:5672/%2f (`.ci/run` sets it). The restart test stops and
//! starts the broker's application with `rabbitmqctl`, so the tests here take turns.

use std::collections::HashMap;
use std::time::Duration;

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::support::{TestApp, settings, shop_source};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One test at a time talks to the broker: the restart test would fail the others.
static BROKER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn broker() -> Option<String> {
    crate::support::service("INLET_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2f", "AMQP")
}

fn config(url: &str, exchange: &str) -> String {
    let retry = retry_list();
    let shop = shop_source(SECRET);
    format!(
        r#"{shop}
[destinations.queue]
kind = "amqp"
url = "{url}"
exchange = "{exchange}"
routing_key = "{{source}}.{{type}}"
retry = [{retry}]
circuit = {{ failures = 1000, probe = "1s" }}

[[routes]]
from = ["shop"]
to = ["queue"]
"#
    )
}

/// A durable topic exchange and, with `bound`, a durable queue bound to every key.
async fn declare(url: &str, name: &str, bound: bool) -> Channel {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("RabbitMQ is reachable");
    let channel = connection.create_channel().await.expect("channel");
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(name.into(), ExchangeKind::Topic, durable, FieldTable::default())
        .await
        .expect("exchange declared");
    if bound {
        channel
            .queue_declare(name.into(), QueueDeclareOptions::durable(), FieldTable::default())
            .await
            .expect("queue declared");
        channel
            .queue_bind(
                name.into(),
                name.into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("queue bound");
    }
    channel
}

async fn remove(url: &str, name: &str) {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("RabbitMQ is reachable");
    let channel = connection.create_channel().await.expect("channel");
    let _ = channel.queue_delete(name.into(), QueueDeleteOptions::default()).await;
    let _ = channel
        .exchange_delete(name.into(), ExchangeDeleteOptions::default())
        .await;
}

fn rabbitmqctl(verb: &str) {
    let status = std::process::Command::new("rabbitmqctl")
        .arg(verb)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl {verb} failed");
}

fn header(headers: &FieldTable, name: &str) -> String {
    match headers.inner().get(name) {
        Some(AMQPValue::LongString(s)) => s.to_string(),
        other => panic!("header {name}: {other:?}"),
    }
}

#[tokio::test]
async fn a_thousand_events_arrive_once_with_their_properties_across_a_broker_restart() {
    let Some(url) = broker() else { return };
    let _turn = BROKER.lock().await;
    let name = format!("inlet-test-{}", uuid::Uuid::now_v7().simple());
    declare(&url, &name, true).await;
    let app = TestApp::spawn(&config(&url, &name)).await;

    let mut ids = app.post_many("shop", SECRET, "a", 500).await;
    app.wait_for_deliveries("queue", "delivered", 100, Duration::from_secs(30))
        .await;
    // The broker goes away while deliveries are under way; the second half is accepted
    // while it is down, and all of it goes out once it is back.
    tokio::task::spawn_blocking(|| rabbitmqctl("stop_app"))
        .await
        .expect("stopped");
    let second = app.post_many("shop", SECRET, "b", 500).await;
    ids.extend(second);
    tokio::task::spawn_blocking(|| rabbitmqctl("start_app"))
        .await
        .expect("started");
    app.wait_for_deliveries("queue", "delivered", 1000, Duration::from_secs(60))
        .await;

    let connection = Connection::connect(&url, ConnectionProperties::default())
        .await
        .expect("reachable");
    let channel = connection.create_channel().await.expect("channel");
    let mut seen: HashMap<String, u32> = HashMap::new();
    let options = BasicGetOptions { no_ack: true };
    while let Some(message) = channel
        .basic_get(name.as_str().into(), options)
        .await
        .expect("basic.get")
    {
        let properties = &message.delivery.properties;
        let id = properties.message_id().as_ref().expect("message_id").to_string();
        let envelope: serde_json::Value = serde_json::from_slice(&message.delivery.data).expect("the envelope");
        assert_eq!(
            envelope["id"],
            id.as_str(),
            "the body is the envelope of the event it names"
        );
        assert_eq!(message.delivery.routing_key.as_str(), "shop.order.created");
        assert_eq!(
            properties.content_type().as_ref().map(|s| s.as_str()),
            Some("application/json")
        );
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        assert_eq!(properties.kind().as_ref().map(|s| s.as_str()), Some("order.created"));
        let received = chrono::DateTime::parse_from_rfc3339(envelope["received_at"].as_str().expect("received_at"))
            .expect("a time");
        assert_eq!(*properties.timestamp(), Some(received.timestamp() as u64));
        let headers = properties.headers().as_ref().expect("headers");
        assert_eq!(header(headers, "inlet-source"), "shop");
        assert_eq!(header(headers, "inlet-type"), "order.created");
        *seen.entry(id).or_default() += 1;
    }
    let failed = app
        .store
        .event(&ids[999])
        .await
        .expect("reads")
        .expect("stored")
        .deliveries[0]
        .attempts
        .len();
    assert!(failed > 1, "the last event was first tried while the broker was down");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    for id in &ids {
        assert!(seen.contains_key(id), "{id} never arrived ({} of 1000 did)", seen.len());
    }
    assert_eq!(seen.len(), 1000);
    surfaces_show_the_kind(&app).await;
    app.stop().await;
    remove(&url, &name).await;
}

/// The admin API lists the destination with its kind and masked target; metrics label it.
async fn surfaces_show_the_kind(app: &TestApp) {
    let get = |path: &str| app.client.get(format!("{}{path}", app.admin)).bearer_auth("t").send();
    let d = crate::support::destination_view(&app.client, &app.admin)
        .await
        .expect("the destinations view");
    assert_eq!(d["kind"], "amqp", "{d}");
    let target = d["target"].as_str().expect("a target");
    assert!(target.starts_with("amqp://guest:***@127.0.0.1:5672"), "{target}");
    assert_eq!(d["deliveries"]["delivered"], 1000, "{d}");
    let metrics = get("/metrics").await.expect("answered").text().await.expect("text");
    assert!(
        metrics.contains(r#"inlet_queue_depth{destination="queue",kind="amqp"} 0"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unroutable_message_is_a_failed_attempt_that_is_retried_and_then_goes_dead() {
    let Some(url) = broker() else { return };
    let _turn = BROKER.lock().await;
    let name = format!("inlet-test-{}", uuid::Uuid::now_v7().simple());
    declare(&url, &name, false).await;
    let text = config(&url, &name).replace(
        &format!("retry = [{}]", retry_list()),
        "retry = [\"0s\", \"100ms\", \"100ms\"]",
    );
    let app = TestApp::spawn(&text).await;
    let ids = app.post_many("shop", SECRET, "u", 1).await;
    app.wait_for_deliveries("queue", "dead", 1, Duration::from_secs(30))
        .await;
    let event = app.store.event(&ids[0]).await.expect("reads").expect("stored");
    let delivery = &event.deliveries[0];
    assert_eq!(delivery.state, "dead");
    assert_eq!(delivery.attempts.len(), 3, "{:?}", delivery.attempts);
    for attempt in &delivery.attempts {
        assert_eq!(attempt.error.as_deref(), Some("unroutable: shop.order.created"));
    }
    app.stop().await;
    remove(&url, &name).await;
}

fn retry_list() -> String {
    vec!["\"0s\""; 1]
        .into_iter()
        .chain(vec!["\"500ms\""; 30])
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn a_missing_exchange_refuses_start_up_naming_it() {
    let Some(url) = broker() else { return };
    let _turn = BROKER.lock().await;
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("inlet-missing-{}", uuid::Uuid::now_v7().simple());
    let s = settings(&config(&url, &name), dir.path());
    let store = std::sync::Arc::new(inlet::store::sqlite::SqliteStore::open(&s.storage.sqlite_path).expect("store"));
    let built = inlet::App::build_with(s, store, std::sync::Arc::new(inlet::workers::SystemClock)).await;
    let error = format!("{:#}", built.err().expect("refused"));
    assert!(error.contains("destination queue"), "{error}");
    assert!(error.contains(&format!("exchange {name:?} does not exist")), "{error}");
    assert!(!error.contains("guest:guest"), "the password is not shown: {error}");
}
