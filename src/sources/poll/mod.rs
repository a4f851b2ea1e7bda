//! Poll sources: one run of one source. A run reads the stored cursor, asks the first page,
//! stores each page's events as it arrives (deduped in the source's group, with their
//! pending deliveries), follows the pagination, and commits the next cursor with the last
//! page's events. A run also ends (and commits) at a page that brings nothing new to it or
//! after `max_pages` (`stop.rs`; past `max_pages` of a newest-first listing the run fails
//! instead, since committing would skip the older rest). A failed run (`error.rs`) stores why and leaves the cursor
//! where it was. Timing, backoff and pauses between runs belong to `workers::poll`, not here.

mod error;
mod items;
pub mod page;
mod stop;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use url::Url;

pub use crate::domain::CursorValue;
use error::MAX_ANSWER;
pub use error::PollError;
use items::ItemDraft;
use stop::RunGuard;
pub use stop::RunStop;

use crate::config::{PollSource, Settings};
use crate::domain::{
    CursorCommit, MAX_RETRY_AFTER, NewEvent, PollCounts, PollState, PollWrite, RejectedRequest, RunEnd, Via,
    new_event_id, parse_retry_after,
};
use crate::pace::Clock;
use crate::pace::rate::TokenBucket;
use crate::store::Store;
use crate::telemetry::feed::{Feed, FeedItem};
use crate::telemetry::metrics;
use crate::telemetry::traces::{Name, Span};

/// What a completed run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub pages: u32,
    pub items: u64,
    pub new_events: u64,
    /// Why the run ended before the API's last page, if it did.
    pub stopped: Option<RunStop>,
}

/// One poll source, ready to run.
pub struct Poller {
    pub source: PollSource,
    settings: Arc<Settings>,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    limiter: Option<TokenBucket>,
    clock: Arc<dyn Clock>,
    wakeup: Arc<Notify>,
    /// The group has a webhook source: new events here are recovered ones.
    recovers: bool,
    /// Said once: a `lookback` that an opaque text cursor cannot take.
    warned_opaque: std::sync::atomic::AtomicBool,
    /// How the last completed run stopped early, to warn only when that changes.
    last_stop: std::sync::Mutex<Option<RunStop>>,
    feed: Option<Arc<Feed>>,
    /// Set by [`Poller::run_now`]: the next run starts at once, whatever the schedule.
    forced: std::sync::atomic::AtomicBool,
    /// Wakes the poll loop out of its wait for the next run.
    pub nudge: Notify,
}

impl Poller {
    /// Runs this source as soon as its loop can (a `silent` alert's reconciliation); a
    /// provider's Retry-After still holds.
    pub fn run_now(&self) {
        self.forced.store(true, std::sync::atomic::Ordering::SeqCst);
        self.nudge.notify_one();
    }

    /// Whether a run was asked for; asking again takes a new [`Poller::run_now`].
    pub fn take_forced(&self) -> bool {
        self.forced.swap(false, std::sync::atomic::Ordering::SeqCst)
    }

    pub fn is_forced(&self) -> bool {
        self.forced.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn new(
        source: PollSource,
        settings: Arc<Settings>,
        store: Arc<dyn Store>,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
        wakeup: Arc<Notify>,
    ) -> Poller {
        let recovers = settings
            .sources
            .values()
            .any(|s| matches!(s, crate::config::SourceSettings::Webhook(w) if w.dedupe_group == source.dedupe_group));
        Poller {
            limiter: source.rate_limit.map(TokenBucket::new),
            source,
            settings,
            store,
            client,
            clock,
            wakeup,
            recovers,
            warned_opaque: std::sync::atomic::AtomicBool::new(false),
            last_stop: std::sync::Mutex::new(None),
            feed: None,
            forced: std::sync::atomic::AtomicBool::new(false),
            nudge: Notify::new(),
        }
    }

    /// Publish new events to `feed`.
    pub fn with_feed(mut self, feed: Arc<Feed>) -> Self {
        self.feed = Some(feed);
        self
    }

    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// One run from the stored state. On failure the run's end (error, pause, counters) is
    /// stored before the error comes back; the cursor is not touched.
    pub async fn run_once(&self, state: &PollState) -> Result<RunSummary, PollError> {
        let mut pending = PollCounts::default();
        let span = Span::start(Name::PollRun, || None);
        span.set("inlet.source", self.source.name.as_str());
        match self.pages(state, &mut pending, &span).await {
            Ok(summary) => Ok(summary),
            Err(e) => {
                pending.errors += 1;
                if matches!(e, PollError::RateLimited { .. }) {
                    pending.rate_limited += 1;
                }
                let now = self.clock.now_ms();
                let end = RunEnd {
                    at: now,
                    cursor: None,
                    new_before: 0,
                    error: Some(e.to_string()),
                    paused_until: e.retry_after().map(|d| now + d.as_millis() as i64),
                };
                let write = PollWrite {
                    source: self.source.name.clone(),
                    events: Vec::new(),
                    recovers: self.recovers,
                    counts: pending,
                    end: Some(end),
                };
                if let Err(store) = self.store.poll_write(write).await {
                    tracing::warn!(source = %self.source.name, error = %store, "cannot record the failed poll run");
                }
                Err(e)
            }
        }
    }

    /// The pages of one run; `pending` holds counters not yet written.
    async fn pages(&self, state: &PollState, pending: &mut PollCounts, run: &Span) -> Result<RunSummary, PollError> {
        let stored = state.cursor.as_deref().and_then(CursorValue::from_json);
        let sent = match (&self.source.cursor, &stored) {
            (Some(c), Some(v)) => Some(v.moved_back(c.lookback, c.unit).unwrap_or_else(|| {
                if !self.warned_opaque.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(source = %self.source.name, "cursor.lookback needs a numeric or RFC 3339 cursor; this one is sent as it is");
                }
                v.clone()
            })),
            (Some(c), None) => c.initial.clone().map(CursorValue::new),
            (None, _) => None,
        };
        let sent = sent.map(|c| c.param_text());
        let mut url = page::first_url(&self.source, sent.as_deref());
        let mut page_no = match self.source.pagination {
            crate::config::Pagination::Page { start, .. } => start,
            _ => 1,
        };
        let mut seen: HashSet<String> = HashSet::new();
        let mut guard = RunGuard::new(self.source.max_pages);
        let mut run_max: Option<CursorValue> = None;
        let mut summary = RunSummary {
            pages: 0,
            items: 0,
            new_events: 0,
            stopped: None,
        };
        loop {
            seen.insert(url.as_str().to_string());
            let max_before_page = run_max.clone();
            if let Some(limiter) = &self.limiter {
                limiter.acquire().await;
            }
            pending.requests += 1;
            // Ends with this page; its events keep it as their trace.
            let page_span = run.child(Name::PollPage);
            let fetched = self.fetch(&url).await;
            let result = match &fetched {
                Ok(_) => "ok",
                Err(PollError::RateLimited { .. }) => "rate_limited",
                Err(_) => "error",
            };
            metrics::inc(
                "inlet_poll_requests_total",
                &[("source", self.name()), ("result", result)],
            );
            let (body, link) = fetched?;
            let page = page::parse(&self.source, sent.as_deref(), &url, page_no, &body, link.as_deref())?;
            summary.pages += 1;
            summary.items += page.items.len() as u64;
            pending.items += page.items.len() as u64;

            let now = self.clock.now_ms();
            let mut events = Vec::with_capacity(page.items.len());
            for item in page.items {
                match items::draft(&self.source, item) {
                    ItemDraft::Event {
                        dedupe_key,
                        event_type,
                        occurred_at,
                        body,
                        cursor,
                    } => {
                        run_max = CursorValue::max(run_max, cursor);
                        events.push(NewEvent {
                            id: new_event_id(),
                            destinations: self.settings.pending_deliveries(
                                &self.source.name,
                                event_type.as_deref(),
                                &body,
                                now,
                                occurred_at,
                            ),
                            source: self.source.name.clone(),
                            dedupe_group: self.source.dedupe_group.clone(),
                            dedupe_key,
                            event_type,
                            via: Via::Poll,
                            received_at: now,
                            occurred_at,
                            content_type: Some("application/json".into()),
                            headers: Vec::new(),
                            body,
                            traceparent: page_span.traceparent(),
                        });
                    }
                    ItemDraft::Skipped { error, size, cursor } => {
                        run_max = CursorValue::max(run_max, cursor);
                        pending.rejected_items += 1;
                        metrics::inc(
                            "inlet_poll_items_total",
                            &[("source", self.name()), ("result", "rejected")],
                        );
                        tracing::info!(source = %self.source.name, error, "polled item skipped");
                        self.store.record_rejected(RejectedRequest {
                            source: self.source.name.clone(),
                            error: error.to_string(),
                            at: now,
                            headers: Vec::new(),
                            body_size: size,
                            kept: None,
                        });
                    }
                }
            }

            let stop = guard.page(events.iter().map(|e| e.dedupe_key.as_str()), page.next.is_some());
            if let Some(RunStop::Repeated { .. }) = stop {
                // Nothing on it is new to the run: no need to store it again.
                events.clear();
            }
            // Past max_pages the cursor may move only when this page raised the run's
            // greatest value (an oldest-first listing: what is left is newer). On a
            // newest-first listing what is left is older, and moving the cursor would skip it.
            let raised = run_max.is_some() && run_max != max_before_page;
            let keeps_cursor = matches!(stop, Some(RunStop::MaxPages { .. })) && !raised;
            let next = match (stop, page.next) {
                (Some(_), _) => None,
                (None, Some(next)) if seen.contains(next.as_str()) => {
                    return Err(PollError::Pagination(
                        "the next page is one this run already read".into(),
                    ));
                }
                (None, next) => next,
            };
            let end = (next.is_none() && !keeps_cursor).then(|| RunEnd {
                at: now,
                cursor: Some(CursorCommit {
                    value: CursorValue::max(stored.clone(), run_max.clone()).map(|c| c.to_json()),
                    generation: state.generation,
                }),
                new_before: summary.new_events,
                error: None,
                paused_until: None,
            });
            let write = PollWrite {
                source: self.source.name.clone(),
                events,
                recovers: self.recovers,
                counts: std::mem::take(pending),
                end,
            };
            // Built only while someone follows the stream.
            let items: Vec<FeedItem> = match &self.feed {
                Some(feed) if feed.is_listened() => write
                    .events
                    .iter()
                    .map(|e| {
                        FeedItem::new_event(
                            self.name(),
                            &e.id,
                            e.event_type.clone(),
                            &e.dedupe_key,
                            "poll",
                            e.received_at,
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let received: Vec<i64> = write.events.iter().map(|e| e.received_at).collect();
            let written = self.store.poll_write(write).await?;
            let mut items = items.into_iter();
            for (at, answer) in received.iter().zip(&written.ingested) {
                let item = items.next();
                if !answer.duplicate {
                    crate::telemetry::event_committed(self.feed.as_deref(), self.name(), *at, item);
                }
            }
            let new = written.ingested.iter().filter(|i| !i.duplicate).count() as u64;
            let duplicates = written.ingested.len() as u64 - new;
            metrics::add(
                "inlet_poll_items_total",
                &[("source", self.name()), ("result", "new")],
                new,
            );
            metrics::add(
                "inlet_poll_items_total",
                &[("source", self.name()), ("result", "duplicate")],
                duplicates,
            );
            if self.recovers {
                metrics::add("inlet_recovered_total", &[("source", self.name())], new);
            }
            if new > 0 {
                summary.new_events += new;
                self.wakeup.notify_waiters();
            }
            if let (true, Some(RunStop::MaxPages { max_pages })) = (keeps_cursor, stop) {
                return Err(PollError::Pagination(format!(
                    "the API had more than max_pages = {max_pages} pages, listed newest first: the cursor stays \
                     (raise max_pages to read the whole backlog)"
                )));
            }
            match next {
                None => {
                    summary.stopped = stop;
                    self.note_stop(stop);
                    return Ok(summary);
                }
                Some(next) => {
                    url = next;
                    page_no += 1;
                }
            }
        }
    }

    /// Warns when a run stops early for a reason the last run did not.
    fn note_stop(&self, stop: Option<RunStop>) {
        let mut last = self.last_stop.lock().unwrap_or_else(|p| p.into_inner());
        let changed = last.map(|l| std::mem::discriminant(&l)) != stop.map(|s| std::mem::discriminant(&s));
        if changed && let Some(stop) = stop {
            tracing::warn!(source = %self.source.name, reason = %stop, "poll run stopped early; the cursor is committed");
        }
        *last = stop;
    }

    /// GETs `url` with the source's headers; the body (at most [`MAX_ANSWER`]) and the
    /// `Link` header of a 2xx answer.
    async fn fetch(&self, url: &Url) -> Result<(Vec<u8>, Option<String>), PollError> {
        let mut request = self
            .client
            .get(url.clone())
            .timeout(self.source.timeout)
            .header(http::header::ACCEPT, "application/json");
        for (name, value) in &self.source.headers {
            request = request.header(name.as_str(), value.expose());
        }
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                PollError::Timeout
            } else {
                // Without the URL: its query may hold a key.
                PollError::Request(e.without_url().to_string())
            }
        };
        let mut response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        if status == 429 || status == 503 {
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, self.clock.now_ms()))
                .map(|d| d.min(MAX_RETRY_AFTER));
            return Err(PollError::RateLimited { status, retry_after });
        }
        if !(200..300).contains(&status) {
            return Err(PollError::Status(status));
        }
        let link = response
            .headers()
            .get_all(http::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(PollError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, (!link.is_empty()).then_some(link)))
    }
}

/// The HTTP client of all poll sources: pooled, no cookies, redirects only on the same origin
/// (the source's headers must not reach another host).
pub fn client() -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt.previous().first().map(Url::origin) == Some(attempt.url().origin());
        if attempt.previous().len() > 5 || !same_origin {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("inlet/", env!("CARGO_PKG_VERSION")))
        .redirect(policy)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}
