//! Text with placeholders: `{/pointer}` (into the payload), `{id}`, `{source}`, `{type}`.
//! Strings render as they are, other values as their JSON text, a missing value as
//! nothing; in a URL each value is percent-encoded as one path segment or query value
//! (only RFC 3986 unreserved characters stay). Slack texts and hydration URLs use it.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Pointer(String),
    Id,
    Source,
    Type,
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What placeholders are filled from.
pub struct Fields<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub event_type: Option<&'a str>,
    pub payload: Option<&'a Value>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| format!("{text:?}: a '{{' is not closed"))?;
            let name = &rest[open + 1..close];
            parts.push(match name {
                "id" => Part::Id,
                "source" => Part::Source,
                "type" => Part::Type,
                p if p.starts_with('/') => Part::Pointer(p.to_string()),
                other => {
                    return Err(format!(
                        "{text:?}: unknown placeholder {{{other}}}; use {{/pointer}}, {{id}}, {{source}} or {{type}}"
                    ));
                }
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The text with every placeholder filled; `encode` percent-encodes each value.
    pub fn render(&self, fields: &Fields<'_>, encode: bool) -> String {
        let mut out = String::new();
        for part in &self.parts {
            let value = match part {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Id => fields.id.to_string(),
                Part::Source => fields.source.to_string(),
                Part::Type => fields.event_type.unwrap_or("").to_string(),
                Part::Pointer(p) => match fields.payload.and_then(|v| v.pointer(p)) {
                    None => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                },
            };
            if encode {
                percent_encode(&value, &mut out);
            } else {
                out.push_str(&value);
            }
        }
        out
    }
}

fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(payload: &Value) -> Fields<'_> {
        Fields {
            id: "evt_1",
            source: "shop",
            event_type: Some("orders/paid"),
            payload: Some(payload),
        }
    }

    #[test]
    fn placeholders_render_strings_as_they_are_and_other_values_as_json() {
        let t = Template::parse("{source}/{type}: order {/id} of {/total} {/missing}{id}").expect("valid");
        let payload = json!({"id": "o 1", "total": 12.5});
        assert_eq!(
            t.render(&fields(&payload), false),
            "shop/orders/paid: order o 1 of 12.5 evt_1"
        );
    }

    #[test]
    fn in_urls_each_value_is_one_percent_encoded_segment() {
        let t = Template::parse("https://api.example.com/orders/{/id}.json?ref={/ref}").expect("valid");
        let payload = json!({"id": "a/b c", "ref": "x&y=z~"});
        assert_eq!(
            t.render(&fields(&payload), true),
            "https://api.example.com/orders/a%2Fb%20c.json?ref=x%26y%3Dz~"
        );
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_errors() {
        assert!(Template::parse("{nope}").is_err());
        assert!(Template::parse("a {/id").is_err());
        assert_eq!(
            Template::parse("plain")
                .expect("valid")
                .render(&fields(&json!({})), true),
            "plain"
        );
    }
}
