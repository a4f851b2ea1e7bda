//! One page of a poll run: the URL to ask (query, cursor and page parameters), the items in
//! the answer (each kept as the exact bytes the API sent), and where the next page is, by
//! the source's pagination kind. Next-page URLs on another host are refused: the source's
//! headers carry credentials.

use serde_json::Value;
use serde_json::value::RawValue;
use url::Url;

use super::PollError;
use crate::config::{Pagination, PollSource};
use crate::sources::fields::scalar_text;

/// The URL of a run's first page: `url` + `query` + the cursor parameter (+ the first page
/// number with page pagination).
pub fn first_url(source: &PollSource, cursor: Option<&str>) -> Url {
    match &source.pagination {
        Pagination::Page { param, start } => url_with(source, cursor, Some((param, &start.to_string()))),
        _ => url_with(source, cursor, None),
    }
}

/// `url` with the query, the cursor parameter and one pagination parameter.
fn url_with(source: &PollSource, cursor: Option<&str>, extra: Option<(&str, &str)>) -> Url {
    let mut url = source.url.clone();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in &source.query {
            let overridden = source
                .cursor
                .as_ref()
                .is_some_and(|c| cursor.is_some() && c.param == *k)
                || extra.is_some_and(|(p, _)| p == k);
            if !overridden {
                q.append_pair(k, v.expose());
            }
        }
        if let (Some(c), Some(value)) = (&source.cursor, cursor) {
            q.append_pair(&c.param, value);
        }
        if let Some((k, v)) = extra {
            q.append_pair(k, v);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    url
}

/// An item: its bytes as the API sent them, and parsed.
pub struct Item {
    pub raw: Vec<u8>,
    pub value: Value,
}

/// A parsed answer: its items and the next page's URL, if there is one.
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Url>,
}

/// Parses an answer to `requested`. `page_no` is the number `requested` asked for (page
/// pagination); `link` is the answer's `Link` header.
pub fn parse(
    source: &PollSource,
    cursor: Option<&str>,
    requested: &Url,
    page_no: u64,
    body: &[u8],
    link: Option<&str>,
) -> Result<Page, PollError> {
    let text = std::str::from_utf8(body).map_err(|_| PollError::BadJson("the answer is not UTF-8".into()))?;
    let doc: Value = serde_json::from_str(text).map_err(|e| PollError::BadJson(e.to_string()))?;
    let raw_doc: &RawValue = serde_json::from_str(text).map_err(|e| PollError::BadJson(e.to_string()))?;
    let raw_items = raw_at(raw_doc, &source.items)
        .ok_or_else(|| PollError::NoItems(format!("the answer has nothing at {:?}", source.items)))?;
    let raw_items: Vec<&RawValue> = serde_json::from_str(raw_items.get())
        .map_err(|_| PollError::NoItems(format!("{:?} in the answer is not an array", source.items)))?;
    let items = raw_items
        .into_iter()
        .map(|r| {
            let value = serde_json::from_str(r.get()).unwrap_or(Value::Null);
            Item {
                raw: r.get().as_bytes().to_vec(),
                value,
            }
        })
        .collect::<Vec<_>>();

    let next = match &source.pagination {
        Pagination::None => None,
        Pagination::Cursor { param, field, has_more } => {
            let more = match has_more {
                Some(p) => doc.pointer(p).and_then(Value::as_bool).unwrap_or(false),
                None => true,
            };
            match items.last() {
                Some(last) if more => {
                    let value = last.value.pointer(field).and_then(scalar_text).ok_or_else(|| {
                        PollError::Pagination(format!("the last item has no usable value at {field:?}"))
                    })?;
                    Some(url_with(source, cursor, Some((param, &value))))
                }
                _ => None,
            }
        }
        Pagination::NextUrl { field } => match doc.pointer(field) {
            Some(Value::String(s)) if !s.is_empty() => Some(resolve(source, requested, s)?),
            _ => None,
        },
        Pagination::LinkHeader => match link.and_then(next_link) {
            Some(target) => Some(resolve(source, requested, &target)?),
            None => None,
        },
        Pagination::Page { param, .. } => {
            if items.is_empty() {
                None
            } else {
                Some(url_with(source, cursor, Some((param, &(page_no + 1).to_string()))))
            }
        }
    };
    Ok(Page { items, next })
}

/// Resolves a next-page reference against the request, on the source's own origin only.
fn resolve(source: &PollSource, requested: &Url, target: &str) -> Result<Url, PollError> {
    let url = requested
        .join(target)
        .map_err(|_| PollError::Pagination("the next-page URL is not a URL".into()))?;
    if url.origin() != source.url.origin() {
        return Err(PollError::Pagination(format!(
            "the next page is on another host ({}); the source's headers are not sent there",
            url.host_str().unwrap_or("?")
        )));
    }
    Ok(url)
}

/// The target of the `rel="next"` link of an RFC 8288 `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        // The parameters run to the next comma outside quotes.
        let params_start = close + 1;
        let mut in_quotes = false;
        let mut end = rest.len();
        for (i, c) in rest[params_start..].char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    end = params_start + i;
                    break;
                }
                _ => {}
            }
        }
        let is_next = rest[params_start..end].split(';').any(|param| {
            let Some((name, value)) = param.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_string());
        }
        rest = rest.get(end + 1..)?;
    }
}

/// The raw JSON at `pointer` (RFC 6901) inside `doc`, without parsing the rest.
fn raw_at<'a>(doc: &'a RawValue, pointer: &str) -> Option<&'a RawValue> {
    let mut current = doc;
    if pointer.is_empty() {
        return Some(current);
    }
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let text: &'a str = current.get();
        current = if text.trim_start().starts_with('{') {
            let map: std::collections::HashMap<String, &'a RawValue> = serde_json::from_str(text).ok()?;
            map.get(&token).copied()?
        } else {
            let list: Vec<&'a RawValue> = serde_json::from_str(text).ok()?;
            list.get(token.parse::<usize>().ok()?).copied()?
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_yield_the_next_target_whatever_the_order_and_quoting() {
        let github = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=9>; rel="last""#;
        assert_eq!(
            next_link(github).as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
        let shopify = r#"<https://s.myshopify.com/admin/api/2025-01/orders.json?page_info=abc&limit=50>; rel="previous", <https://s.myshopify.com/admin/api/2025-01/orders.json?page_info=def&limit=50>; rel="next""#;
        assert!(next_link(shopify).is_some_and(|u| u.contains("page_info=def")));
        assert_eq!(next_link(r#"</p/2>; title="a, b"; rel=next"#).as_deref(), Some("/p/2"));
        assert_eq!(next_link(r#"</p/2>; rel="prev last""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage <"), None);
    }

    #[test]
    fn raw_items_keep_the_bytes_the_api_sent() {
        let doc: &RawValue = serde_json::from_str(r#"{"data": [{"b": 1,  "a":[2]}, 7], "x~/y": 3}"#).expect("json");
        let items = raw_at(doc, "/data").expect("found");
        let list: Vec<&RawValue> = serde_json::from_str(items.get()).expect("array");
        assert_eq!(list[0].get(), r#"{"b": 1,  "a":[2]}"#);
        assert_eq!(raw_at(doc, "/data/1").map(RawValue::get), Some("7"));
        assert_eq!(raw_at(doc, "/x~0~1y").map(RawValue::get), Some("3"));
        assert!(raw_at(doc, "/missing").is_none());
        assert!(raw_at(doc, "").is_some());
    }
}
