//! Reading values out of provider JSON: ids and keys as text, instants as unix ms. Shared
//! by webhook intake and poll sources so that both sides of a dedupe group agree on keys.

use serde_json::Value;

/// A field's text: strings as they are, integers in decimal, other numbers as JSON text.
/// Objects, arrays, booleans and null are not ids.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Unix seconds (a number) or an RFC 3339 string, as unix milliseconds.
pub fn instant_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0) as i64),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}
