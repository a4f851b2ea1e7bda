//! Cursor values: how two compare (numbers, then RFC 3339 instants, then text), how the next
//! cursor is the greatest over a run, how `lookback` moves one back, and how one is sent.
//! A cursor keeps the JSON form it arrived in: an integer stays an integer. Pure, so the
//! config's check of `lookback` and the poller share it.

use std::cmp::Ordering;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::compare;

/// What a numeric cursor counts, for `lookback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorUnit {
    Seconds,
    Millis,
}

/// A cursor value as the provider wrote it (a JSON string or number).
#[derive(Debug, Clone, PartialEq)]
pub struct CursorValue(Value);

impl CursorValue {
    pub fn new(value: Value) -> Self {
        CursorValue(value)
    }

    /// A value usable as a cursor: a string or a number (not null, bool, object, array).
    pub fn from_item(value: &Value) -> Option<Self> {
        matches!(value, Value::String(_) | Value::Number(_)).then(|| CursorValue(value.clone()))
    }

    /// The stored form (JSON text).
    pub fn to_json(&self) -> String {
        self.0.to_string()
    }

    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str::<Value>(text)
            .ok()
            .as_ref()
            .and_then(Self::from_item)
    }

    /// The text of the query parameter: strings as they are, numbers as JSON text.
    pub fn param_text(&self) -> String {
        match &self.0 {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn instant(&self) -> Option<DateTime<Utc>> {
        compare::instant(&self.0)
    }

    /// Numbers when both are numbers, instants when both are RFC 3339, else text.
    pub fn compare(&self, other: &CursorValue) -> Ordering {
        compare::compare_values(&self.0, &other.0)
    }

    /// The greater of two optional cursors; never less than either.
    pub fn max(a: Option<CursorValue>, b: Option<CursorValue>) -> Option<CursorValue> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.compare(&a) == Ordering::Greater { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// The cursor `by` earlier, in the same form: unix seconds (or ms) stay integers (or
    /// numeric strings), instants come back as RFC 3339 UTC with `Z`. `None` for an opaque
    /// text cursor, which cannot be moved back.
    pub fn moved_back(&self, by: Duration, unit: CursorUnit) -> Option<CursorValue> {
        if by.is_zero() {
            return Some(self.clone());
        }
        let step = match unit {
            CursorUnit::Seconds => by.as_secs_f64(),
            CursorUnit::Millis => by.as_secs_f64() * 1000.0,
        };
        let back = |n: f64| -> Value {
            let v = n - step;
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Value::from(v as i64)
            } else {
                Value::from(v)
            }
        };
        match &self.0 {
            Value::Number(n) => n.as_f64().map(|n| CursorValue(back(n))),
            Value::String(s) => {
                if let Some(t) = self.instant() {
                    let moved = t - chrono::Duration::from_std(by).ok()?;
                    return Some(CursorValue(Value::String(
                        moved.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    )));
                }
                let n = s.trim().parse::<f64>().ok().filter(|f| f.is_finite())?;
                Some(CursorValue(Value::String(back(n).to_string())))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(v: Value) -> CursorValue {
        CursorValue::new(v)
    }

    #[test]
    fn numbers_compare_as_numbers_not_as_text() {
        assert_eq!(c(json!(9)).compare(&c(json!(10))), Ordering::Less);
        assert_eq!(c(json!("9")).compare(&c(json!("10"))), Ordering::Less);
    }

    #[test]
    fn instants_compare_across_offsets() {
        let utc = c(json!("2026-11-26T10:00:00Z"));
        let plus_two = c(json!("2026-11-26T11:30:00+02:00"));
        assert_eq!(plus_two.compare(&utc), Ordering::Less);
    }

    #[test]
    fn the_next_cursor_never_moves_back() {
        let stored = Some(c(json!(100)));
        assert_eq!(CursorValue::max(stored.clone(), Some(c(json!(95)))), stored);
        assert_eq!(CursorValue::max(stored, Some(c(json!(101)))), Some(c(json!(101))));
        assert_eq!(CursorValue::max(None, Some(c(json!(1)))), Some(c(json!(1))));
    }

    #[test]
    fn lookback_keeps_the_form_the_cursor_came_in() {
        let five = Duration::from_secs(5);
        assert_eq!(
            c(json!(1700000000)).moved_back(five, CursorUnit::Seconds),
            Some(c(json!(1699999995)))
        );
        assert_eq!(
            c(json!(1700000000000_i64)).moved_back(five, CursorUnit::Millis),
            Some(c(json!(1699999995000_i64)))
        );
        assert_eq!(
            c(json!("100")).moved_back(five, CursorUnit::Seconds),
            Some(c(json!("95")))
        );
        assert_eq!(
            c(json!("2026-11-26T10:00:03+01:00")).moved_back(five, CursorUnit::Seconds),
            Some(c(json!("2026-11-26T08:59:58Z")))
        );
        assert_eq!(c(json!("page_abc")).moved_back(five, CursorUnit::Seconds), None);
        assert_eq!(
            c(json!("page_abc")).moved_back(Duration::ZERO, CursorUnit::Seconds),
            Some(c(json!("page_abc")))
        );
    }

    #[test]
    fn cursors_round_trip_through_their_stored_form() {
        for v in [json!(12), json!("2026-11-26T10:00:00Z"), json!(1.5)] {
            let cv = c(v);
            assert_eq!(CursorValue::from_json(&cv.to_json()), Some(cv));
        }
        assert_eq!(CursorValue::from_item(&json!(null)), None);
        assert_eq!(CursorValue::from_item(&json!({"a": 1})), None);
    }
}
