//! Sample events, as `inlet trigger` sends them: a body and headers from the provider's
//! file with fresh ids and times filled in (`{{id}}`, `{{uuid}}`, `{{now}}`, `{{now_ms}}`,
//! `{{now_iso}}`), and `--set /pointer=value` overrides applied to a JSON body.

use serde::Deserialize;
use serde_json::Value;

/// One sample event of a provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// The event's name, as `inlet trigger PROVIDER EVENT` takes it.
    pub event: String,
    #[serde(default = "json")]
    pub content_type: String,
    /// Headers the provider sends besides its signature (`X-GitHub-Event: push`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The type inlet reads from the sample, when it is not the event's name (Discord's
    /// numeric interaction types).
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
}

fn json() -> String {
    "application/json".into()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SampleError {
    #[error("--set {0}: use /pointer=value")]
    BadOverride(String),
    #[error("--set {0}: the sample body is not JSON")]
    NotJson(String),
    #[error("--set {0}: the sample has no such field")]
    NoField(String),
}

/// A sample as it goes out, before signing.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The headers and body of `sample` at `now` (unix seconds), with `overrides` applied.
pub fn render(sample: &Sample, now: i64, overrides: &[String]) -> Result<Rendered, SampleError> {
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    let iso = chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let fill = |text: &str| {
        text.replace("{{id}}", &uuid[..24])
            .replace("{{uuid}}", &hyphenated(&uuid))
            .replace("{{now_ms}}", &now.saturating_mul(1000).to_string())
            .replace("{{now_iso}}", &iso)
            .replace("{{now}}", &now.to_string())
    };
    let headers = sample.headers.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
    let mut body = fill(&sample.body).into_bytes();
    if !overrides.is_empty() {
        let mut json: Value = serde_json::from_slice(&body).map_err(|_| SampleError::NotJson(overrides[0].clone()))?;
        for o in overrides {
            let (pointer, value) = o
                .split_once('=')
                .filter(|(p, _)| p.starts_with('/'))
                .ok_or_else(|| SampleError::BadOverride(o.clone()))?;
            let slot = json
                .pointer_mut(pointer)
                .ok_or_else(|| SampleError::NoField(o.clone()))?;
            *slot = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        }
        body = serde_json::to_vec(&json).unwrap_or(body);
    }
    Ok(Rendered { headers, body })
}

fn hyphenated(simple: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &simple[..8],
        &simple[8..12],
        &simple[12..16],
        &simple[16..20],
        &simple[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(body: &str) -> Sample {
        Sample {
            event: "e".into(),
            content_type: json(),
            headers: vec![("X-Id".into(), "{{uuid}}".into())],
            body: body.into(),
            event_type: None,
        }
    }

    #[test]
    fn placeholders_are_filled_fresh_and_overrides_set_json_fields() {
        let s = sample(r#"{"id":"evt_{{id}}","created":{{now}},"amount":100}"#);
        let a = render(&s, 1_700_000_000, &["/amount=250".into()]).expect("renders");
        let b = render(&s, 1_700_000_000, &[]).expect("renders");
        let v: Value = serde_json::from_slice(&a.body).expect("json");
        assert_eq!(v["created"], 1_700_000_000);
        assert_eq!(v["amount"], 250);
        assert!(v["id"].as_str().is_some_and(|id| id.len() == 28));
        assert_ne!(a.headers[0].1, b.headers[0].1, "each rendering has a fresh uuid");
    }

    #[test]
    fn an_override_of_a_missing_field_or_without_a_pointer_is_an_error() {
        let s = sample(r#"{"a":1}"#);
        assert!(matches!(render(&s, 0, &["/b=2".into()]), Err(SampleError::NoField(_))));
        assert!(matches!(
            render(&s, 0, &["a=2".into()]),
            Err(SampleError::BadOverride(_))
        ));
    }
}
