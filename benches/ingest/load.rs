//! The load generator: keep-alive HTTP/1 connections sending distinct, correctly signed
//! Stripe webhooks, closed-loop or paced, with ack latencies recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use inlet::providers::{SchemeSpec, sign};
use inlet::signature::{Secret, SignInput};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "whsec_bench_secret";

pub struct Report {
    pub rate: f64,
    pub p50: f64,
    pub p99: f64,
    pub errors: u64,
    pub acked: u64,
}

/// What to drive: `concurrency` connections for `duration` (or until `max_requests`
/// were acked); with `paced`, the total rate is held at that many requests per second.
pub struct Load<'a> {
    pub addr: &'a str,
    pub source: &'a str,
    pub concurrency: usize,
    pub duration: Duration,
    pub paced: Option<u32>,
    pub max_requests: Option<u64>,
}

pub async fn load(spec: Load<'_>) -> Report {
    let stop = CancellationToken::new();
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..spec.concurrency {
        let (addr, source, stop, sent) = (
            spec.addr.to_string(),
            spec.source.to_string(),
            stop.clone(),
            sent.clone(),
        );
        // Paced: each connection sends once per interval, its first send offset by its share
        // of one interval, so the total rate is even rather than every connection at once.
        let pace = spec.paced.map(|rate| {
            let step = Duration::from_secs_f64(spec.concurrency as f64 / f64::from(rate));
            (step.mul_f64(worker as f64 / spec.concurrency as f64), step)
        });
        let cap = spec.max_requests.unwrap_or(u64::MAX);
        tasks.push(tokio::spawn(async move {
            worker_loop(&addr, &source, worker, pace, cap, sent, stop).await
        }));
    }
    let deadline = tokio::time::sleep(spec.duration);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                if tasks.iter().all(|t| t.is_finished()) {
                    break;
                }
            }
        }
    }
    stop.cancel();
    let elapsed = started.elapsed().as_secs_f64();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Report {
        rate: latencies.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
        acked: latencies.len() as u64,
    }
}

async fn worker_loop(
    addr: &str,
    source: &str,
    worker: usize,
    pace: Option<(Duration, Duration)>,
    cap: u64,
    sent: Arc<AtomicU64>,
    stop: CancellationToken,
) -> (Vec<Duration>, u64) {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let secret = Secret::new(SECRET);
    let run = run_id();
    let (mut latencies, mut errors) = (Vec::new(), 0u64);
    let mut next = Instant::now() + pace.map_or(Duration::ZERO, |(offset, _)| offset);
    for i in 0u64.. {
        if stop.is_cancelled() || sent.fetch_add(1, Ordering::Relaxed) >= cap {
            break;
        }
        if let Some((_, step)) = pace {
            next += step;
            tokio::time::sleep_until(next.into()).await;
        }
        // Distinct ids in no global order, like real providers' random event ids.
        let body = format!(
            r#"{{"id":"evt_{run}_{worker}_{i}","object":"event","type":"charge.succeeded","created":1700000000,"data":{{"object":{{"id":"ch_{i}","amount":2000,"currency":"eur"}}}}}}"#
        );
        let at = chrono::Utc::now().timestamp();
        let headers = sign(
            &SchemeSpec::named("stripe"),
            &secret,
            &SignInput {
                body: body.as_bytes(),
                at,
                id: "",
                url: None,
                headers: &[],
            },
        )
        .expect("signs");
        let mut req = Request::post(format!("/webhooks/{source}"))
            .header("host", addr)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let started = Instant::now();
        match sender.send_request(req).await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                let _ = resp.into_body().collect().await;
                if ok {
                    latencies.push(started.elapsed());
                } else {
                    errors += 1;
                }
            }
            Err(_) => {
                errors += 1;
                break;
            }
        }
    }
    (latencies, errors)
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}")
}
