//! Where a provider puts an event's id, type and occurred time, as its file spells them:
//! `"header:X-GitHub-Delivery"`, `"body:/id"`, `"form:MessageStatus"`. Reading them out of
//! a request is `sources::webhook`'s; this only says where to look.

use serde::Deserialize;

/// One place in a request.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Locator {
    /// A header (name lowercase).
    Header(String),
    /// A JSON pointer into the body.
    Body(String),
    /// A field of a form-encoded body.
    Form(String),
}

impl TryFrom<String> for Locator {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let (kind, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: use header:NAME, body:/pointer or form:NAME"))?;
        match kind {
            "header" if !rest.is_empty() => Ok(Locator::Header(rest.to_ascii_lowercase())),
            "body" if rest.starts_with('/') => Ok(Locator::Body(rest.to_string())),
            "form" if !rest.is_empty() => Ok(Locator::Form(rest.to_string())),
            _ => Err(format!("{text:?}: use header:NAME, body:/pointer or form:NAME")),
        }
    }
}

impl std::fmt::Display for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locator::Header(h) => write!(f, "header {h}"),
            Locator::Body(p) => write!(f, "body {p}"),
            Locator::Form(n) => write!(f, "form field {n}"),
        }
    }
}

/// An event's parts, each a list of places tried in order (the first present wins).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    #[serde(default)]
    pub id: Vec<Locator>,
    /// A body without the id is refused `400 malformed_body` (else the body hash is the id).
    #[serde(default)]
    pub id_required: bool,
    #[serde(default, rename = "type")]
    pub event_type: Vec<Locator>,
    /// Appended to the type after a `.` when present (GitHub's `action`).
    #[serde(default)]
    pub type_suffix: Option<Locator>,
    #[serde(default)]
    pub occurred: Vec<Locator>,
}

impl Fields {
    /// The header a signer sends the event id in, when the id is read from one.
    pub fn id_header(&self) -> Option<&str> {
        match self.id.first() {
            Some(Locator::Header(h)) => Some(h),
            Some(Locator::Body(_) | Locator::Form(_)) | None => None,
        }
    }
}
