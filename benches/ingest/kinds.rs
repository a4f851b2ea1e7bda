//! End to end into each destination kind (`BENCH_PHASES=kinds`): the same load of signed
//! webhooks into a gateway delivering to HTTP (a local receiver), RabbitMQ (a durable queue
//! bound to the exchange), Redis Streams and a PostgreSQL table, in turns, BENCH_ROUNDS
//! rounds, at each destination concurrency of BENCH_KIND_CONCURRENCY (default "32,128").
//! Each line gives the gateway's CPU per event and the server's (the broker's or the
//! database's processes). A kind counts as done when the broker or the database itself
//! holds every acked event (read with its own client). The servers come from
//! INLET_TEST_AMQP, INLET_TEST_REDIS and INLET_TEST_POSTGRES; a kind whose variable is
//! unset is skipped.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use sqlx::{AssertSqlSafe, Row};

use super::e2e::{Counter, start_receiver};
use super::env_or;
use super::load::{Load, load};
use super::process::{cpu_ticks, gateway, stop};

/// Where one run's events end up, and how to count them there.
enum Target {
    Http(std::sync::Arc<Counter>),
    Amqp(lapin::Channel, String),
    Redis(redis::aio::MultiplexedConnection, String),
    Postgres(sqlx::PgPool, String),
}

impl Target {
    /// The command name of the server's processes (their CPU is counted per event).
    fn server(&self) -> Option<&'static str> {
        match self {
            Target::Http(_) => None,
            Target::Amqp(..) => Some("beam.smp"),
            Target::Redis(..) => Some("redis-server"),
            Target::Postgres(..) => Some("postgres"),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Target::Http(_) => "http",
            Target::Amqp(..) => "amqp",
            Target::Redis(..) => "redis",
            Target::Postgres(..) => "postgres",
        }
    }

    async fn delivered(&mut self) -> u64 {
        match self {
            Target::Http(counter) => counter.delivered.load(Ordering::Relaxed),
            Target::Amqp(channel, queue) => {
                let passive = QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                };
                channel
                    .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                    .await
                    .map_or(0, |q| u64::from(q.message_count()))
            }
            Target::Redis(connection, key) => redis::cmd("XLEN").arg(&*key).query_async(connection).await.unwrap_or(0),
            Target::Postgres(pool, table) => sqlx::query(AssertSqlSafe(format!("SELECT count(*) FROM \"{table}\"")))
                .fetch_one(&*pool)
                .await
                .map_or(0, |row| row.get::<i64, _>(0) as u64),
        }
    }

    async fn remove(self) {
        match self {
            Target::Http(_) | Target::Redis(..) => {}
            Target::Amqp(channel, queue) => {
                let _ = channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
            Target::Postgres(pool, table) => {
                let _ = sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS \"{table}\"")))
                    .execute(&pool)
                    .await;
            }
        }
    }
}

/// utime + stime of every process whose command name is `comm`, in clock ticks.
fn cpu_of(comm: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == comm))
        .map(|e| cpu_ticks(&e.file_name().to_string_lossy()))
        .sum()
}

/// The destination's config and where to count, for `kind` in run `tag`.
async fn target(kind: &str, tag: &str, http: &(std::sync::Arc<Counter>, String)) -> Option<(String, Target)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(match kind {
        "http" => (
            format!("kind = \"http\"\nurl = \"{}\"", http.1),
            Target::Http(http.0.clone()),
        ),
        "amqp" => {
            let url = var("INLET_TEST_AMQP")?;
            let connection = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
                .await
                .ok()?;
            let channel = connection.create_channel().await.ok()?;
            let durable = ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            };
            let (exchange, queue) = ("inlet-bench".to_string(), format!("inlet-bench-{tag}"));
            let topic = lapin::ExchangeKind::Topic;
            channel
                .exchange_declare(exchange.as_str().into(), topic, durable, FieldTable::default())
                .await
                .ok()?;
            let queue_options = QueueDeclareOptions::durable();
            let mut arguments = FieldTable::default();
            if let Ok(v) = std::env::var("BENCH_AMQP_QUEUE_VERSION") {
                arguments.insert(
                    "x-queue-version".into(),
                    lapin::types::AMQPValue::ShortInt(v.parse().unwrap_or(1)),
                );
            }
            channel
                .queue_declare(queue.as_str().into(), queue_options, arguments)
                .await
                .ok()?;
            let bind = QueueBindOptions::default();
            channel
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    "#".into(),
                    bind,
                    FieldTable::default(),
                )
                .await
                .ok()?;
            (
                format!("kind = \"amqp\"\nurl = \"{url}\"\nexchange = \"{exchange}\""),
                Target::Amqp(channel, queue),
            )
        }
        "redis" => {
            let url = var("INLET_TEST_REDIS")?;
            let connection = redis::Client::open(url.as_str())
                .ok()?
                .get_multiplexed_async_connection()
                .await
                .ok()?;
            let key = format!("inlet-bench-{tag}");
            (
                format!("kind = \"redis\"\nurl = \"{url}\"\nstream = \"{key}\"\nmaxlen = 10000000"),
                Target::Redis(connection, key),
            )
        }
        "postgres" => {
            let url = var("INLET_TEST_POSTGRES")?;
            let pool = sqlx::PgPool::connect(&url).await.ok()?;
            let table = format!("inlet_bench_{tag}");
            (
                format!("kind = \"postgres\"\nurl = \"{url}\"\ntable = \"{table}\""),
                Target::Postgres(pool, table),
            )
        }
        other => panic!("no such kind {other}"),
    })
}

/// One run: `seconds` of 64 senders into a gateway delivering to `kind`; events/s from the
/// first send until the target holds every acked event.
fn run_one(
    rt: &tokio::runtime::Runtime,
    kind: &str,
    round: u32,
    concurrency: u32,
    http: &(std::sync::Arc<Counter>, String),
) -> Option<f64> {
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let tag = format!("{}{round}", uuid::Uuid::now_v7().simple());
    let Some((destination, mut target)) = rt.block_on(target(kind, &tag, http)) else {
        println!("- {kind}: skipped (set its INLET_TEST_* variable to a running server)");
        return None;
    };
    let start_count = rt.block_on(target.delivered());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[destinations.out]\n{destination}\nconcurrency = {concurrency}\ncircuit = {{ failures = 5, probe = \"1s\" }}\n\
         [[routes]]\nfrom = [\"stripe\"]\nto = [\"out\"]\n"
    );
    let (mut gw, addr) = gateway(dir.path(), &config);
    let server_before = target.server().map_or(0, cpu_of);
    let bench_before = cpu_ticks("self");
    let started = Instant::now();
    let sent = rt.block_on(load(Load {
        addr: &addr,
        source: "stripe",
        concurrency: 64,
        duration: Duration::from_secs(seconds),
        paced: None,
        max_requests: None,
    }));
    let want = start_count + sent.acked;
    let done = rt.block_on(async {
        while started.elapsed() < Duration::from_secs(seconds + 120) {
            if target.delivered().await >= want {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    });
    let gateway_ticks = cpu_ticks(&gw.id().to_string());
    let server_ticks = target.server().map_or(0, cpu_of) - server_before;
    // The load generator and the HTTP receiver live in this process.
    let bench_ticks = cpu_ticks("self") - bench_before;
    stop(&mut gw);
    let name = target.name();
    // Clock ticks are 10 ms: per event in µs.
    let per_event = |ticks: u64| ticks as f64 * 10_000.0 / sent.acked.max(1) as f64;
    rt.block_on(target.remove());
    match done {
        Some(d) => {
            let rate = sent.acked as f64 / d.as_secs_f64();
            println!(
                "- round {round} {name:<8} {} acked at {:.0}/s, all delivered after {:.1}s: {rate:.0} events/s; \
                 CPU per event: gateway {:.0} µs, server {:.0} µs, load generator (and HTTP receiver) {:.0} µs",
                sent.acked,
                sent.rate,
                d.as_secs_f64(),
                per_event(gateway_ticks),
                per_event(server_ticks),
                per_event(bench_ticks)
            );
            Some(rate)
        }
        None => {
            println!(
                "- round {round} {name:<8} {} acked: NOT all delivered in time",
                sent.acked
            );
            None
        }
    }
}

pub fn run(rt: &tokio::runtime::Runtime) {
    let rounds: u32 = env_or("BENCH_ROUNDS", 3);
    let levels: Vec<u32> = std::env::var("BENCH_KIND_CONCURRENCY")
        .unwrap_or_else(|_| "32,128".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let http = rt.block_on(start_receiver());
    let kinds = ["http", "amqp", "redis", "postgres"];
    for concurrency in levels {
        println!("\n## end to end into each destination kind (64 senders, destination concurrency {concurrency})\n");
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
        for round in 1..=rounds {
            for (i, kind) in kinds.iter().enumerate() {
                if let Some(rate) = run_one(rt, kind, round, concurrency, &http) {
                    rates[i].push(rate);
                }
            }
        }
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        let Some(base) = median(&rates[0]) else { return };
        println!();
        for (kind, r) in kinds.iter().zip(&rates) {
            if let Some(m) = median(r) {
                println!("- {kind:<8} median {m:.0} events/s: {:.2}× http", m / base);
            }
        }
    }
}
