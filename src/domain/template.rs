//! Text with placeholders: `{/pointer}` (into the payload), `{id}`, `{source}`, `{type}`.
//! Strings render as they are, other values as their JSON text, a missing value as
//! nothing; in a URL each value is percent-encoded as one path segment or query value
//! (only RFC 3986 unreserved characters stay), and a value that is missing, empty, `.` or
//! `..` is an error: it would ask another URL (the parent, the collection) than the one
//! meant. Slack texts, hydration URLs and broker names (routing keys, streams) use it.

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

/// Why a placeholder's value may not go into a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsafe {
    /// No value (a pointer to nothing or `null`, an event without a type).
    Missing,
    Empty,
    /// `.`: the segment names the folder it is in.
    Dot,
    /// `..`: the segment names the parent.
    DotDot,
}

impl std::fmt::Display for Unsafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unsafe::Missing => "has no value in the event",
            Unsafe::Empty => "is empty",
            Unsafe::Dot => "is \".\" (it would ask the folder, not the object)",
            Unsafe::DotDot => "is \"..\" (it would ask the parent, not the object)",
        })
    }
}

/// A URL placeholder that rendered to something that would escape its segment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("placeholder {placeholder} {why}")]
pub struct PlaceholderError {
    /// As written in the template: `{/id}`, `{type}`.
    pub placeholder: String,
    pub why: Unsafe,
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

    /// The text with every placeholder filled (a missing value as nothing).
    pub fn render(&self, fields: &Fields<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Id | Part::Source | Part::Type | Part::Pointer(_) => {
                    out.push_str(&value(part, fields).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Whether a placeholder reads the payload (so the body must be parsed to render it).
    pub fn reads_payload(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Pointer(_)))
    }

    /// A name for a broker or a database (a routing key, a stream): values as they are, no
    /// encoding; an event without a type has the type `none`, a missing pointer is empty.
    pub fn render_name(&self, fields: &Fields<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Type => out.push_str(fields.event_type.filter(|t| !t.is_empty()).unwrap_or("none")),
                Part::Id | Part::Source | Part::Pointer(_) => out.push_str(&value(part, fields).unwrap_or_default()),
            }
        }
        out
    }

    /// A URL: every value percent-encoded; a missing, empty, `.` or `..` value is an error.
    pub fn render_url(&self, fields: &Fields<'_>) -> Result<String, PlaceholderError> {
        let mut out = String::new();
        for part in &self.parts {
            let placeholder = match part {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Id => "{id}".to_string(),
                Part::Source => "{source}".to_string(),
                Part::Type => "{type}".to_string(),
                Part::Pointer(p) => format!("{{{p}}}"),
            };
            let why = match value(part, fields).as_deref() {
                None => Some(Unsafe::Missing),
                Some("") => Some(Unsafe::Empty),
                Some(".") => Some(Unsafe::Dot),
                Some("..") => Some(Unsafe::DotDot),
                Some(v) => {
                    percent_encode(v, &mut out);
                    None
                }
            };
            if let Some(why) = why {
                return Err(PlaceholderError { placeholder, why });
            }
        }
        Ok(out)
    }
}

/// A placeholder's value; `None` when the event has none (text is not a placeholder).
fn value(part: &Part, fields: &Fields<'_>) -> Option<String> {
    match part {
        Part::Text(_) => None,
        Part::Id => Some(fields.id.to_string()),
        Part::Source => Some(fields.source.to_string()),
        Part::Type => fields.event_type.map(str::to_string),
        Part::Pointer(p) => match fields.payload.and_then(|v| v.pointer(p)) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        },
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

    #[test]
    fn a_name_renders_values_raw_and_a_missing_type_as_none() {
        let t = Template::parse("{source}.{type}.{/shop/name}").expect("valid");
        let payload = json!({"shop": {"name": "a b/c"}});
        assert_eq!(t.render_name(&fields(&payload)), "shop.orders/paid.a b/c");
        let untyped = Fields {
            event_type: None,
            ..fields(&payload)
        };
        assert_eq!(t.render_name(&untyped), "shop.none.a b/c");
    }

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
        assert_eq!(t.render(&fields(&payload)), "shop/orders/paid: order o 1 of 12.5 evt_1");
    }

    #[test]
    fn in_urls_each_value_is_one_percent_encoded_segment() {
        let t = Template::parse("https://api.example.com/orders/{/id}.json?ref={/ref}").expect("valid");
        let payload = json!({"id": "a/b c", "ref": "x&y=z~"});
        assert_eq!(
            t.render_url(&fields(&payload)),
            Ok("https://api.example.com/orders/a%2Fb%20c.json?ref=x%26y%3Dz~".to_string())
        );
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_errors() {
        assert!(Template::parse("{nope}").is_err());
        assert!(Template::parse("a {/id").is_err());
        assert_eq!(
            Template::parse("plain").expect("valid").render_url(&fields(&json!({}))),
            Ok("plain".to_string())
        );
    }

    #[test]
    fn a_url_placeholder_that_is_missing_empty_dot_or_dot_dot_names_itself_and_why() {
        let t = Template::parse("https://api.example.com/orders/{/id}").expect("valid");
        let why = |payload: Value| t.render_url(&fields(&payload)).map_err(|e| e.why);
        assert_eq!(why(json!({"id": ".."})), Err(Unsafe::DotDot));
        assert_eq!(why(json!({"id": "."})), Err(Unsafe::Dot));
        assert_eq!(why(json!({"id": ""})), Err(Unsafe::Empty));
        assert_eq!(why(json!({"id": null})), Err(Unsafe::Missing));
        assert_eq!(why(json!({})), Err(Unsafe::Missing));
        assert_eq!(
            why(json!({"id": "..."})).as_deref(),
            Ok("https://api.example.com/orders/...")
        );
        let error = t.render_url(&fields(&json!({"id": ".."}))).expect_err("escapes");
        assert_eq!(error.placeholder, "{/id}");
        assert!(error.to_string().starts_with("placeholder {/id} is \"..\""), "{error}");
        let typed = Template::parse("https://x.example/{type}/{/id}").expect("valid");
        let payload = json!({"id": "1"});
        let untyped = Fields {
            event_type: None,
            ..fields(&payload)
        };
        assert_eq!(
            typed.render_url(&untyped).map_err(|e| e.to_string()),
            Err("placeholder {type} has no value in the event".to_string())
        );
    }
}
