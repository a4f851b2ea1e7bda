//! Prometheus metrics: one process-wide registry of labelled counters and histograms that
//! the subsystems bump where things happen, rendered as Prometheus text (with the gauges
//! the caller computes at scrape time) by the admin listener's `/metrics`. No crate: the
//! text format is small, and this keeps the hot path to one uncontended lock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

/// Seconds: ack latency, delivery latency, commit time.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Operations per commit.
pub const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

struct Histogram {
    buckets: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// Per metric name, per label text (`{a="x"}`): sorted, so a scrape renders in order.
#[derive(Default)]
struct Registry {
    counters: BTreeMap<&'static str, BTreeMap<String, u64>>,
    histograms: BTreeMap<&'static str, BTreeMap<String, Histogram>>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Registry::default()))
}

/// Writes `{a="x",b="y"}` with values escaped into `out`, or nothing without labels.
fn write_labels(out: &mut String, labels: &[(&str, &str)]) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

fn label_text(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    write_labels(&mut out, labels);
    out
}

/// Runs `f` with the label text of `labels`, built in a buffer the thread keeps: the hot
/// path (a series that exists) allocates nothing.
fn with_labels<T>(labels: &[(&str, &str)], f: impl FnOnce(&str) -> T) -> T {
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with(|b| match b.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            write_labels(&mut buffer, labels);
            f(&buffer)
        }
        Err(_) => f(&label_text(labels)),
    })
}

/// Adds `by` to counter `name` with `labels`.
pub fn add(name: &'static str, labels: &[(&str, &str)], by: u64) {
    if by == 0 {
        return;
    }
    with_labels(labels, |text| {
        let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
        let series = r.counters.entry(name).or_default();
        match series.get_mut(text) {
            Some(v) => *v += by,
            None => {
                series.insert(text.to_string(), by);
            }
        }
    });
}

pub fn inc(name: &'static str, labels: &[(&str, &str)]) {
    add(name, labels, 1);
}

/// Records `value` in histogram `name` with `labels`.
pub fn observe(name: &'static str, labels: &[(&str, &str)], buckets: &'static [f64], value: f64) {
    with_labels(labels, |text| {
        let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
        let series = r.histograms.entry(name).or_default();
        if !series.contains_key(text) {
            series.insert(
                text.to_string(),
                Histogram {
                    buckets,
                    counts: vec![0; buckets.len()],
                    sum: 0.0,
                    count: 0,
                },
            );
        }
        if let Some(h) = series.get_mut(text) {
            for (i, le) in h.buckets.iter().enumerate() {
                if value <= *le {
                    h.counts[i] += 1;
                }
            }
            h.sum += value;
            h.count += 1;
        }
    });
}

/// A gauge computed at scrape time: name, labels, value.
pub struct Gauge {
    pub name: &'static str,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

const HELP: &[(&str, &str)] = &[
    ("inlet_ingest_requests_total", "Webhook requests by source and outcome."),
    (
        "inlet_ingest_duration_seconds",
        "Time from request to answer of accepted webhooks.",
    ),
    (
        "inlet_deliveries_total",
        "Delivery attempts by destination and outcome.",
    ),
    ("inlet_delivery_duration_seconds", "Duration of delivery attempts."),
    (
        "inlet_duplicate_attempts_total",
        "Attempts that finished after their lease had passed to another node.",
    ),
    ("inlet_queue_depth", "Pending deliveries per destination."),
    (
        "inlet_queue_oldest_seconds",
        "Age of the oldest pending delivery per destination.",
    ),
    ("inlet_circuit_open", "1 while the destination's circuit is open."),
    ("inlet_poll_requests_total", "Poll requests by source and result."),
    ("inlet_poll_items_total", "Polled items by source and result."),
    (
        "inlet_recovered_total",
        "Events first seen by a poll source in a group with a webhook source.",
    ),
    ("inlet_store_commit_batch", "Operations per store commit."),
    ("inlet_store_commit_seconds", "Duration of store commits."),
    (
        "inlet_store_flush_seconds",
        "Duration of the SQLite WAL flush that precedes acknowledgements.",
    ),
];

fn header(out: &mut String, name: &str, kind: &str) {
    let help = HELP.iter().find(|(n, _)| *n == name).map_or("", |(_, h)| h);
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The Prometheus text of every metric, with `gauges` added.
pub fn render(gauges: &[Gauge]) -> String {
    let r = registry().lock().unwrap_or_else(|p| p.into_inner());
    let mut out = String::new();
    for (name, series) in &r.counters {
        header(&mut out, name, "counter");
        for (labels, value) in series {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    }
    for (name, series) in &r.histograms {
        header(&mut out, name, "histogram");
        for (labels, h) in series {
            let inner = labels.trim_start_matches('{').trim_end_matches('}');
            let with = |le: &str| {
                if inner.is_empty() {
                    format!("{{le=\"{le}\"}}")
                } else {
                    format!("{{{inner},le=\"{le}\"}}")
                }
            };
            for (le, n) in h.buckets.iter().zip(&h.counts) {
                let _ = writeln!(out, "{name}_bucket{} {n}", with(&le.to_string()));
            }
            let _ = writeln!(out, "{name}_bucket{} {}", with("+Inf"), h.count);
            let _ = writeln!(out, "{name}_sum{labels} {}", h.sum);
            let _ = writeln!(out, "{name}_count{labels} {}", h.count);
        }
    }
    drop(r);
    let mut last = "";
    for g in gauges {
        if g.name != last {
            header(&mut out, g.name, "gauge");
            last = g.name;
        }
        let labels: Vec<(&str, &str)> = g.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let _ = writeln!(out, "{}{} {}", g.name, label_text(&labels), g.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_as_prometheus_text() {
        inc("inlet_test_total", &[("source", "a\"b")]);
        add("inlet_test_total", &[("source", "a\"b")], 2);
        observe("inlet_test_seconds", &[], LATENCY_BUCKETS, 0.003);
        let text = render(&[Gauge {
            name: "inlet_test_depth",
            labels: vec![("destination".into(), "app".into())],
            value: 7.0,
        }]);
        assert!(
            text.contains("# TYPE inlet_test_total counter\ninlet_test_total{source=\"a\\\"b\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("inlet_test_seconds_bucket{le=\"0.0025\"} 0\n"), "{text}");
        assert!(text.contains("inlet_test_seconds_bucket{le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("inlet_test_seconds_bucket{le=\"+Inf\"} 1\n"), "{text}");
        assert!(text.contains("inlet_test_seconds_count 1\n"), "{text}");
        assert!(
            text.contains("# TYPE inlet_test_depth gauge\ninlet_test_depth{destination=\"app\"} 7\n"),
            "{text}"
        );
    }

    #[test]
    fn each_label_set_is_its_own_series_and_values_are_escaped() {
        inc("inlet_test_pairs_total", &[("source", "x"), ("outcome", "ok")]);
        inc("inlet_test_pairs_total", &[("source", "x"), ("outcome", "no")]);
        inc("inlet_test_pairs_total", &[("source", "x"), ("outcome", "ok")]);
        inc("inlet_test_pairs_total", &[("source", "a\\b\nc"), ("outcome", "ok")]);
        let text = render(&[]);
        assert!(
            text.contains("inlet_test_pairs_total{source=\"x\",outcome=\"ok\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("inlet_test_pairs_total{source=\"x\",outcome=\"no\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("inlet_test_pairs_total{source=\"a\\\\b\\nc\",outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE inlet_test_pairs_total counter").count(),
            1,
            "{text}"
        );
    }
}
