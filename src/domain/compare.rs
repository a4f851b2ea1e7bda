//! One order over provider values, for cursors and ordering versions: numbers (or numeric
//! strings) as numbers, RFC 3339 strings as instants, anything else as text.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// An RFC 3339 string as an instant.
pub fn instant(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
}

/// A value as text: strings as they are, anything else as its JSON text.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Numbers when both are numbers, instants when both are RFC 3339, else text.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.total_cmp(&y);
    }
    if let (Some(x), Some(y)) = (instant(a), instant(b)) {
        return x.cmp(&y);
    }
    text(a).cmp(&text(b))
}

/// Whether the JSON text `a` is a newer version than `b` (an ordered route's versions are
/// stored as JSON text): by [`compare_values`], or as text when either is not JSON.
pub fn newer_version(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(x), Ok(y)) => compare_values(&x, &y) == Ordering::Greater,
        _ => a > b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_then_instants_then_text() {
        assert_eq!(compare_values(&json!(9), &json!("10")), Ordering::Less);
        assert_eq!(
            compare_values(&json!("2026-11-26T11:30:00+02:00"), &json!("2026-11-26T10:00:00Z")),
            Ordering::Less
        );
        assert_eq!(compare_values(&json!("b"), &json!("a")), Ordering::Greater);
    }

    #[test]
    fn versions_stored_as_json_text_compare_by_value() {
        assert!(newer_version("10", "9"));
        assert!(!newer_version(
            "\"2026-11-26T10:00:00Z\"",
            "\"2026-11-26T11:00:00+01:00\""
        ));
        assert!(newer_version("not json b", "not json a"));
    }
}
