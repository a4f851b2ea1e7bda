//! The small value types of the config file: durations, sizes, rates, JSON Pointers and
//! event-type globs, each parsed from its text form with a message that says what was wrong.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses `"300ms"`, `"10s"`, `"5m"`, `"2h"`, `"14d"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like \"300ms\", \"10s\", \"5m\", \"2h\" or \"14d\""))?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "{text:?} has no unit: write it like \"300ms\", \"10s\", \"5m\", \"2h\" or \"14d\""
            ));
        }
    };
    n.checked_mul(ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Parses `"512KiB"`, `"1MiB"`, `"100B"` (also `KB`, `MB`, `GB` as powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size like \"512KiB\" or \"1MiB\""))?;
    let mult = match unit.trim() {
        "B" | "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => {
            return Err(format!("{text:?} has an unknown unit: use B, KiB, MiB or GiB"));
        }
    };
    n.checked_mul(mult).ok_or_else(|| format!("{text:?} is too large"))
}

/// A rate limit: `"N/s"`, `"N/min"`, `"N/h"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let bad = || format!("{text:?} is not a rate like \"50/s\", \"100/min\" or \"1000/h\"");
    let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
    let count: u32 = n.trim().parse().map_err(|_| bad())?;
    let per = match unit.trim() {
        "s" => Duration::from_secs(1),
        "min" | "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    if count == 0 {
        return Err(format!("{text:?}: the count must be at least 1"));
    }
    Ok(Rate { count, per })
}

/// Checks RFC 6901 syntax: empty (the whole document) or `/`-separated reference tokens
/// whose `~` escapes are `~0` or `~1`.
pub fn check_pointer(text: &str) -> Result<(), String> {
    if !text.is_empty() && !text.starts_with('/') {
        return Err(format!(
            "{text:?} is not a JSON Pointer: it must start with '/', e.g. \"/data/object/id\""
        ));
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "{text:?} is not a JSON Pointer: '~' must be followed by 0 or 1"
            ));
        }
    }
    Ok(())
}

/// Matches an event type against a glob where `*` stands for any run of characters.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A duration field, deserialized from its text form.
#[derive(Clone, Copy, Debug)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(Dur).map_err(serde::de::Error::custom)
    }
}

/// A size field, deserialized from its text form.
#[derive(Clone, Copy, Debug)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_size(&s).map(Size).map_err(serde::de::Error::custom)
    }
}

/// A rate field, deserialized from its text form.
#[derive(Clone, Copy, Debug)]
pub struct RateField(pub Rate);

impl<'de> Deserialize<'de> for RateField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_rate(&s).map(RateField).map_err(serde::de::Error::custom)
    }
}

/// A JSON Pointer field, checked for syntax when deserialized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer(pub String);

impl<'de> Deserialize<'de> for Pointer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        check_pointer(&s).map_err(serde::de::Error::custom)?;
        Ok(Pointer(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_every_unit_and_reject_missing_units() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86400)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten s").is_err());
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn sizes_parse_binary_units() {
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("100B"), Ok(100));
        assert!(parse_size("1 potato").is_err());
    }

    #[test]
    fn rates_parse_and_refuse_zero() {
        assert_eq!(
            parse_rate("50/s"),
            Ok(Rate {
                count: 50,
                per: Duration::from_secs(1)
            })
        );
        assert_eq!(parse_rate("100/min").map(|r| r.per), Ok(Duration::from_secs(60)));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("5 per second").is_err());
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        assert!(check_pointer("/data/object/id").is_ok());
        assert!(check_pointer("/a~1b/c~0d").is_ok());
        assert!(check_pointer("").is_ok());
        assert!(check_pointer("data/id").is_err());
        assert!(check_pointer("/a~2").is_err());
    }

    #[test]
    fn globs_match_like_shell_stars() {
        assert!(glob_matches("*", "charge.succeeded"));
        assert!(glob_matches("charge.*", "charge.succeeded"));
        assert!(!glob_matches("charge.*", "payment_intent.succeeded"));
        assert!(glob_matches("*.succeeded", "payment_intent.succeeded"));
        assert!(glob_matches("a*b*c", "aXXbYYc"));
        assert!(!glob_matches("a*b*c", "aXXbYY"));
        assert!(glob_matches("exact", "exact"));
    }
}
