//! OpenTelemetry traces, built only when `[telemetry] otlp` (or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) is set: a `tracing-opentelemetry` layer over a tracer
//! whose spans a batch processor exports over OTLP/HTTP (protobuf) from its own thread, off
//! the request path. inlet's spans use the target [`TARGET`] at TRACE level, so the log
//! layer never sees them and, with no exporter, their callsites stay disabled and cost
//! nothing. W3C `traceparent` in and out: [`parent`], [`traceparent`], [`follow`].

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The target of every span inlet exports.
pub const TARGET: &str = "inlet::trace";

/// The exporter's provider; dropping it without [`Traces::shutdown`] loses the last batch.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Exports what is buffered, then stops the exporter thread.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "traces: the last spans could not be exported");
        }
    }
}

/// The tracer provider and its layer for the collector at `otlp` (a base URL), or `None`
/// when no endpoint is configured.
pub fn build(
    otlp: Option<&str>,
    service: &str,
) -> Option<(
    Traces,
    tracing_opentelemetry::OpenTelemetryLayer<tracing_subscriber::Registry, opentelemetry_sdk::trace::Tracer>,
)> {
    let base = otlp?;
    let endpoint = if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    };
    use opentelemetry_otlp::WithExportConfig;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("warning: traces are not exported: {e}");
            return None;
        }
    };
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service.to_string())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("inlet");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer);
    Some((Traces { provider }, layer))
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Makes a valid `traceparent` among `headers` the parent of `span`.
pub fn parent(span: &tracing::Span, headers: &http::HeaderMap) {
    let cx = TraceContextPropagator::new().extract(&Headers(headers));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// Makes the stored `traceparent` the parent of `span`.
pub fn follow(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(tp) = traceparent else { return };
    let carrier: HashMap<String, String> = HashMap::from([("traceparent".to_string(), tp.to_string())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// `span`'s W3C `traceparent`, when it is exported (else `None`: nothing to join).
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}
