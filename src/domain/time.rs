//! How instants are written where people and programs read them: RFC 3339 UTC with
//! milliseconds, as the admin API, the live feed and the envelope show them.

/// RFC 3339 UTC with milliseconds, `Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_are_written_in_utc_with_milliseconds() {
        assert_eq!(super::rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
