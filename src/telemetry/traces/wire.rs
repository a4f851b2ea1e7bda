//! OTLP's trace export request (`opentelemetry/proto/collector/trace/v1`) written straight
//! from finished spans as protobuf: the few fields inlet sets, no intermediate messages. A
//! test decodes the result with the protocol's own generated types.
//!
//! Not here: when a batch is sent (`export.rs`).

use super::export::Finished;
use super::span::Value;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A protobuf writer; a nested message is written in place, its length put in front after.
struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field << 3 | u32::from(wire)));
    }

    fn bytes(&mut self, field: u32, data: &[u8]) {
        self.key(field, LEN);
        self.varint(data.len() as u64);
        self.0.extend_from_slice(data);
    }

    fn fixed64(&mut self, field: u32, v: u64) {
        self.key(field, FIXED64);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn fixed32(&mut self, field: u32, v: u32) {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn uint(&mut self, field: u32, v: u64) {
        self.key(field, VARINT);
        self.varint(v);
    }

    fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer)) {
        self.key(field, LEN);
        let start = self.0.len();
        body(self);
        let len = self.0.len() - start;
        let mut prefix = Writer(Vec::with_capacity(10));
        prefix.varint(len as u64);
        self.0.splice(start..start, prefix.0);
    }

    /// `KeyValue { key = 1; AnyValue value = 2 }`, `AnyValue { string = 1 | int = 3 }`.
    fn attribute(&mut self, key: &str, value: &Value) {
        self.message(9, |w| w.key_value(key, value));
    }

    fn key_value(&mut self, key: &str, value: &Value) {
        self.bytes(1, key.as_bytes());
        self.message(2, |w| match value {
            Value::Text(t) => w.bytes(1, t.as_bytes()),
            Value::Static(t) => w.bytes(1, t.as_bytes()),
            Value::Int(i) => w.uint(3, *i as u64),
        });
    }

    /// `Span`: ids 1, 2, parent 4, name 5, kind 6, times 7 and 8, attributes 9, flags 16.
    fn span(&mut self, s: &Finished) {
        self.message(2, |w| {
            w.bytes(1, &s.context.trace_id.to_be_bytes());
            w.bytes(2, &s.context.span_id.to_be_bytes());
            if let Some(parent) = s.parent {
                w.bytes(4, &parent.to_be_bytes());
            }
            w.bytes(5, s.name.as_str().as_bytes());
            w.uint(6, s.name.kind() as u64);
            w.fixed64(7, s.start_ns);
            w.fixed64(8, s.end_ns);
            for (key, value) in &s.attributes {
                w.attribute(key, value);
            }
            // Sampled.
            w.fixed32(16, 1);
        });
    }
}

/// One export request holding `spans`, from the service `service`:
/// `ExportTraceServiceRequest { ResourceSpans { Resource, ScopeSpans { scope, spans } } }`.
pub(super) fn encode(service: &str, spans: &[Finished]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64 + spans.len() * 160));
    w.message(1, |w| {
        w.message(1, |w| {
            w.message(1, |w| w.key_value("service.name", &Value::Text(service.to_string())));
        });
        w.message(2, |w| {
            w.message(1, |w| {
                w.bytes(1, b"inlet");
                w.bytes(2, env!("CARGO_PKG_VERSION").as_bytes());
            });
            for span in spans {
                w.span(span);
            }
        });
    });
    w.0
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use prost::Message as _;

    use super::encode;
    use crate::telemetry::traces::export::Finished;
    use crate::telemetry::traces::{Name, SpanContext, Value};

    #[test]
    fn an_export_decodes_as_otlp_with_ids_times_kind_and_attributes() {
        let span = Finished {
            context: SpanContext {
                trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
                span_id: 7,
            },
            parent: Some(9),
            name: Name::Delivery,
            start_ns: 1_000,
            end_ns: 2_500,
            attributes: vec![
                ("inlet.destination", Value::from("app")),
                ("inlet.outcome", Value::Static("delivered")),
                ("inlet.attempt", Value::Int(2)),
            ],
        };
        let request = ExportTraceServiceRequest::decode(encode("billing", &[span]).as_slice()).expect("protobuf");
        let resource = &request.resource_spans[0];
        let service = &resource.resource.as_ref().expect("resource").attributes[0];
        assert_eq!(service.key, "service.name");
        assert!(matches!(
            service.value.as_ref().and_then(|v| v.value.clone()),
            Some(any_value::Value::StringValue(s)) if s == "billing"
        ));
        let scope = resource.scope_spans[0].scope.as_ref().expect("scope");
        assert_eq!(scope.name, "inlet");
        let got = &resource.scope_spans[0].spans[0];
        assert_eq!(hex::encode(&got.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(got.span_id, 7u64.to_be_bytes());
        assert_eq!(got.parent_span_id, 9u64.to_be_bytes());
        assert_eq!((got.name.as_str(), got.kind), ("delivery", 3));
        assert_eq!((got.start_time_unix_nano, got.end_time_unix_nano), (1_000, 2_500));
        assert_eq!(got.flags, 1);
        let keys: Vec<&str> = got.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["inlet.destination", "inlet.outcome", "inlet.attempt"]);
        assert!(matches!(
            got.attributes[2].value.as_ref().and_then(|v| v.value.clone()),
            Some(any_value::Value::IntValue(2))
        ));
    }
}
