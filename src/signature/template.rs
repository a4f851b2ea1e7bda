//! What a template-HMAC provider signs, as its provider file spells it: `"{t}.{body}"`,
//! `"v0:{t}:{body}"`, `"{url}{body}"`, `"{header:webhook-id}{t}{body}"`. A [`Template`] is
//! parsed once when the provider files load, then rendered into byte parts for each
//! request; rendering never copies the body. Owns only the syntax: which values fill the
//! placeholders is the caller's (`hmac.rs`).

use serde::Deserialize;

/// One piece of a signed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Bytes written as they are.
    Literal(Vec<u8>),
    /// The raw request body.
    Body,
    /// The signed timestamp, exactly as the request carried it.
    Timestamp,
    /// The URL the provider called (the source's public URL).
    Url,
    /// The request method (`POST`).
    Method,
    /// A request header's value (name lowercase).
    Header(String),
}

/// A parsed signing template.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Template(pub Vec<Part>);

impl Default for Template {
    /// The body alone, what most providers sign.
    fn default() -> Self {
        Template(vec![Part::Body])
    }
}

impl TryFrom<String> for Template {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                parts.push(Part::Literal(rest.as_bytes().to_vec()));
                break;
            };
            if open > 0 {
                parts.push(Part::Literal(rest.as_bytes()[..open].to_vec()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("template {text:?}: a {{ without its }}"))?;
            let name = &rest[open + 1..open + close];
            parts.push(match name {
                "body" => Part::Body,
                "t" => Part::Timestamp,
                "url" => Part::Url,
                "method" => Part::Method,
                other => match other.strip_prefix("header:") {
                    Some(h) if !h.is_empty() => Part::Header(h.to_ascii_lowercase()),
                    _ => return Err(format!("template {text:?}: unknown placeholder {{{other}}}")),
                },
            });
            rest = &rest[open + close + 1..];
        }
        if !parts.contains(&Part::Body) {
            return Err(format!("template {text:?} does not sign the body"));
        }
        if parts.len() > MAX_PARTS {
            return Err(format!("template {text:?} has more than {MAX_PARTS} parts"));
        }
        Ok(Template(parts))
    }
}

/// The most pieces a template has: a rendered message lives on the stack.
pub const MAX_PARTS: usize = 8;

/// The values a template is filled with; a missing one is the caller's error to report.
pub struct Values<'v, 'a> {
    pub body: &'a [u8],
    pub timestamp: Option<&'a str>,
    pub url: Option<&'a str>,
    pub method: &'a str,
    pub header: &'v dyn Fn(&str) -> Option<&'a str>,
}

/// A rendered message: its pieces in order, borrowed (nothing is copied or allocated).
pub struct Message<'a> {
    parts: [&'a [u8]; MAX_PARTS],
    len: usize,
}

impl<'a> Message<'a> {
    pub fn parts(&self) -> &[&'a [u8]] {
        &self.parts[..self.len]
    }
}

/// What a template needed and did not get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Timestamp,
    Url,
    Header(String),
}

impl Template {
    pub fn needs_url(&self) -> bool {
        self.0.contains(&Part::Url)
    }

    /// The message as byte slices, in order (the body is borrowed, not copied).
    pub fn render<'a>(&'a self, v: &Values<'_, 'a>) -> Result<Message<'a>, Missing> {
        let mut message = Message {
            parts: [&[]; MAX_PARTS],
            len: 0,
        };
        for (slot, p) in message.parts.iter_mut().zip(&self.0) {
            *slot = match p {
                Part::Literal(b) => b.as_slice(),
                Part::Body => v.body,
                Part::Timestamp => v.timestamp.ok_or(Missing::Timestamp)?.as_bytes(),
                Part::Url => v.url.ok_or(Missing::Url)?.as_bytes(),
                Part::Method => v.method.as_bytes(),
                Part::Header(h) => (v.header)(h).ok_or_else(|| Missing::Header(h.clone()))?.as_bytes(),
            };
            message.len += 1;
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_parses_into_literals_and_placeholders() {
        let t = Template::try_from("v0:{t}:{body}".to_string()).expect("parses");
        assert_eq!(
            t.0,
            vec![
                Part::Literal(b"v0:".to_vec()),
                Part::Timestamp,
                Part::Literal(b":".to_vec()),
                Part::Body
            ]
        );
        let h = Template::try_from("{header:Webhook-Id}{t}{body}".to_string()).expect("parses");
        assert_eq!(h.0[0], Part::Header("webhook-id".into()));
    }

    #[test]
    fn a_template_without_the_body_or_with_an_unknown_placeholder_is_refused() {
        assert!(Template::try_from("{t}".to_string()).is_err());
        assert!(Template::try_from("{when}.{body}".to_string()).is_err());
        assert!(Template::try_from("{body".to_string()).is_err());
    }
}
