//! The exporter: finished spans wait in a bounded queue (a full queue drops the span and
//! counts it, the request path never waits), and one thread of its own sends them in
//! batches as OTLP/HTTP protobuf (`wire.rs`). The standard `OTEL_BSP_*` variables size the batches, `OTEL_EXPORTER_OTLP_HEADERS`
//! adds headers (a collector's API key: never logged) and `OTEL_EXPORTER_OTLP_TIMEOUT`
//! bounds a send.
//!
//! Not here: what a span is (`span.rs`), which spans inlet makes (their callers).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::Name;
use super::span::{SpanContext, Value};
use super::wire::encode;

/// A span that has ended, as it waits for export.
pub(super) struct Finished {
    pub context: SpanContext,
    pub parent: Option<u64>,
    pub name: Name,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: Vec<(&'static str, Value)>,
}

struct Sink {
    queue: Mutex<Queue>,
    /// Rung once a batch is full (not per span: waking a thread per span would cost the
    /// request path a syscall each time).
    full: Condvar,
    batch: usize,
    capacity: usize,
    dropped: AtomicU64,
}

#[derive(Default)]
struct Queue {
    spans: Vec<Finished>,
    stopping: bool,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Whether an exporter runs (spans record only then).
pub(super) fn running() -> bool {
    SINK.get().is_some()
}

/// Queues a finished span; drops it when the queue is full.
pub(super) fn queue(span: Finished) {
    let Some(sink) = SINK.get() else { return };
    let Ok(mut queue) = sink.queue.lock() else { return };
    if queue.spans.len() >= sink.capacity {
        sink.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    queue.spans.push(span);
    if queue.spans.len() == sink.batch {
        sink.full.notify_one();
    }
}

/// Asks the exporter to send what is queued and stop.
pub(super) fn stop() {
    let Some(sink) = SINK.get() else { return };
    if let Ok(mut queue) = sink.queue.lock() {
        queue.stopping = true;
    }
    sink.full.notify_one();
}

/// Where and how spans are sent.
pub(super) struct Exporter {
    pub endpoint: String,
    pub service: String,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub batch: usize,
    pub queue: usize,
    pub delay: Duration,
}

/// Starts the exporter's thread; `None` when one already runs.
pub(super) fn start(exporter: Exporter) -> Option<std::thread::JoinHandle<()>> {
    SINK.set(Sink {
        queue: Mutex::new(Queue::default()),
        full: Condvar::new(),
        batch: exporter.batch,
        capacity: exporter.queue.max(exporter.batch),
        dropped: AtomicU64::new(0),
    })
    .ok()?;
    std::thread::Builder::new()
        .name("inlet-traces".into())
        .spawn(move || run(exporter))
        .ok()
}

/// Waits for a full batch, the schedule or a stop; what to send, and whether to stop.
fn next(sink: &Sink, delay: Duration) -> (Vec<Finished>, bool) {
    let Ok(queue) = sink.queue.lock() else {
        return (Vec::new(), true);
    };
    let (mut queue, _) = match sink
        .full
        .wait_timeout_while(queue, delay, |q| q.spans.len() < sink.batch && !q.stopping)
    {
        Ok(woken) => woken,
        Err(_) => return (Vec::new(), true),
    };
    (
        std::mem::replace(&mut queue.spans, Vec::with_capacity(sink.batch)),
        queue.stopping,
    )
}

fn run(exporter: Exporter) {
    let Some(sink) = SINK.get() else { return };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        eprintln!("warning: traces are not exported: no runtime for the exporter");
        return;
    };
    // The client's timers belong to this runtime.
    let _inside = runtime.enter();
    let client = match reqwest::Client::builder().timeout(exporter.timeout).build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warning: traces are not exported: {e}");
            return;
        }
    };
    let mut warned: Option<Instant> = None;
    let mut send = |batch: &[Finished]| {
        let body = encode(&exporter.service, batch);
        let mut request = client
            .post(&exporter.endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        for (name, value) in &exporter.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let problem = match runtime.block_on(async { request.body(body).send().await }) {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("the collector answered {}", r.status().as_u16())),
            Err(e) => Some(format!("the collector is unreachable ({})", error_kind(&e))),
        };
        let dropped = sink.dropped.swap(0, Ordering::Relaxed);
        let problem = problem.or_else(|| (dropped > 0).then(|| format!("{dropped} spans dropped: the queue was full")));
        if let Some(problem) = problem
            && warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(60))
        {
            warned = Some(Instant::now());
            tracing::warn!(endpoint = %crate::domain::mask_url(&exporter.endpoint), "traces: {problem}");
        }
    };
    loop {
        let (spans, stopping) = next(sink, exporter.delay);
        for batch in spans.chunks(exporter.batch) {
            send(batch);
        }
        if stopping {
            return;
        }
    }
}

fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused"
    } else {
        "request failed"
    }
}
