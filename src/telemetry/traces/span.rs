//! One span: its W3C context, its name and attributes, started when made and ended when
//! dropped, at which point it goes to the exporter's queue. With no exporter a span is
//! `None` inside, so making, naming and dropping one costs a branch.
//!
//! Not here: batching and the wire format (`export.rs`).

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Name;
use super::export::{self, Finished};

/// A span's place in its trace, as `traceparent` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    pub trace_id: u128,
    pub span_id: u64,
}

impl SpanContext {
    /// A W3C `traceparent` (`00-<trace>-<span>-<flags>`) with non-zero ids; `None` otherwise.
    pub fn parse(traceparent: &str) -> Option<SpanContext> {
        let mut parts = traceparent.trim().split('-');
        let (version, trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        // Version ff is invalid; a later version may add fields after the flags.
        if !hex(version, 2) || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        if !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
            return None;
        }
        let context = SpanContext {
            trace_id: u128::from_str_radix(trace, 16).ok()?,
            span_id: u64::from_str_radix(span, 16).ok()?,
        };
        (context.trace_id != 0 && context.span_id != 0).then_some(context)
    }

    /// The request's valid `traceparent` header, if any.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<SpanContext> {
        headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(SpanContext::parse)
    }

    /// This context as a `traceparent` (sampled: inlet exports every span it makes).
    pub fn traceparent(&self) -> String {
        format!("00-{:032x}-{:016x}-01", self.trace_id, self.span_id)
    }
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// Text known at compile time (an outcome): no allocation.
    Static(&'static str),
    Int(i64),
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

/// A span being timed; ends (and is queued for export) when dropped.
#[derive(Default)]
pub struct Span(Option<Box<Live>>);

struct Live {
    context: SpanContext,
    parent: Option<u64>,
    name: Name,
    start_ns: u64,
    /// Set through `&self`: the request path shares its span with closures.
    attributes: Mutex<Vec<(&'static str, Value)>>,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn nonzero<T: PartialEq + Default>(mut draw: impl FnMut() -> T) -> T {
    loop {
        let v = draw();
        if v != T::default() {
            return v;
        }
    }
}

impl Span {
    /// A span that records nothing.
    pub fn none() -> Span {
        Span(None)
    }

    /// A new span, the child of the context `parent` gives (asked only when an exporter
    /// runs, so reading a header or a stored `traceparent` costs nothing otherwise), else
    /// the root of a new trace; records nothing when no exporter runs.
    pub fn start(name: Name, parent: impl FnOnce() -> Option<SpanContext>) -> Span {
        if !export::running() {
            return Span(None);
        }
        let parent = parent();
        let context = SpanContext {
            trace_id: parent.map_or_else(|| nonzero(rand::random::<u128>), |p| p.trace_id),
            span_id: nonzero(rand::random::<u64>),
        };
        Span(Some(Box::new(Live {
            context,
            parent: parent.map(|p| p.span_id),
            name,
            start_ns: now_ns(),
            attributes: Mutex::new(Vec::with_capacity(4)),
        })))
    }

    /// A child of this span (recording nothing when this one does not).
    pub fn child(&self, name: Name) -> Span {
        match self.context() {
            Some(context) => Span::start(name, || Some(context)),
            None => Span(None),
        }
    }

    /// Sets an attribute (a later value for the same key replaces it).
    pub fn set(&self, key: &'static str, value: impl Into<Value>) {
        let Some(live) = &self.0 else { return };
        let value = value.into();
        if let Ok(mut attributes) = live.attributes.lock() {
            match attributes.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => attributes.push((key, value)),
            }
        }
    }

    /// This span's context, when it records.
    pub fn context(&self) -> Option<SpanContext> {
        self.0.as_ref().map(|live| live.context)
    }

    /// This span's `traceparent`, for an outgoing request or the stored event; `None` when
    /// it records nothing.
    pub fn traceparent(&self) -> Option<String> {
        self.context().map(|c| c.traceparent())
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some(live) = self.0.take() else { return };
        let Live {
            context,
            parent,
            name,
            start_ns,
            attributes,
        } = *live;
        export::queue(Finished {
            context,
            parent,
            name,
            start_ns,
            end_ns: now_ns(),
            attributes: attributes.into_inner().unwrap_or_default(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::SpanContext;

    #[test]
    fn a_w3c_traceparent_is_read_and_written_back_the_same() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = SpanContext::parse(tp).expect("valid");
        assert_eq!(context.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(context.span_id, 0x00f067aa0ba902b7);
        assert_eq!(context.traceparent(), tp);
    }

    #[test]
    fn an_invalid_traceparent_is_ignored_rather_than_joined() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(SpanContext::parse(bad), None, "{bad}");
        }
        // A later version may carry more fields after the flags.
        assert!(SpanContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ab").is_some());
    }
}
