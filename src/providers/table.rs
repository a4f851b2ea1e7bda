//! The providers as people read them: one line saying what each verifies, and the
//! Markdown table docs/sources.md carries (a test fails when that copy is stale; `inlet
//! providers --markdown` prints a fresh one).

use super::{Locator, Provider, registry};
use crate::signature::{Algorithm, Encoding, Family, Part, TimeSource};

fn algorithm(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha256 => "HMAC-SHA256",
        Algorithm::Sha1 => "HMAC-SHA1",
        Algorithm::Sha512 => "HMAC-SHA512",
    }
}

fn encoding(e: Encoding) -> &'static str {
    match e {
        Encoding::Hex => "hex",
        Encoding::Base64 => "base64",
    }
}

fn message(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Literal(b) => String::from_utf8_lossy(b).into_owned(),
            Part::Body => "{body}".into(),
            Part::Timestamp => "{t}".into(),
            Part::Url => "{url}".into(),
            Part::Method => "{method}".into(),
            Part::Header(h) => format!("{{{h}}}"),
        })
        .collect()
}

/// What a provider's signature is, in one line.
pub fn verifies(p: &Provider) -> String {
    match &p.verify {
        Family::Hmac(h) => {
            let value = match (&h.prefix, &h.pairs) {
                (_, Some(pairs)) => format!(": {}=…", pairs.signature),
                (Some(prefix), None) => format!(": {prefix}…"),
                (None, None) => String::new(),
            };
            let mut s = format!(
                "`{}{value}`: {} {} of `{}`",
                h.header,
                algorithm(h.algorithm),
                encoding(h.encoding),
                message(&h.message.0)
            );
            if let Some(t) = &h.timestamp {
                let place = match &t.source {
                    TimeSource::Pair(k) => format!("`{k}=` in the header"),
                    TimeSource::Header(name) => format!("`{name}`"),
                    TimeSource::Body(ptr) => format!("body `{ptr}`"),
                };
                s.push_str(&format!(", time from {place}, {} s window", t.tolerance));
            }
            s
        }
        Family::Standard(_) => "Standard Webhooks `webhook-*`/`svix-*`: `v1` HMAC, `v1a` Ed25519, 300 s window".into(),
        Family::Ed25519(e) => format!(
            "`{}`: Ed25519 over `{{{}}}{}{{body}}`, {} s window",
            e.header, e.timestamp_header, e.separator, e.tolerance
        ),
        Family::Ecdsa => "ECDSA P-256 over timestamp + body, 300 s window".into(),
        Family::UrlForm(u) => format!("`{}`: HMAC-SHA1 base64 of the URL + sorted form parameters", u.header),
        Family::BodyFields => "HMAC-SHA256 of timestamp + token in the body, 300 s window".into(),
        Family::Token(t) => format!("the shared token in `{}`", t.header),
        Family::Basic => "HTTP basic credentials".into(),
        Family::None => "nothing (`allow_unsigned = true`)".into(),
    }
}

fn first(ls: &[Locator]) -> String {
    ls.first().map_or_else(|| "body hash".to_string(), |l| format!("{l}"))
}

/// The Markdown table of every provider.
pub fn markdown() -> String {
    let mut out = String::from("| scheme | provider | verifies | id | handshakes |\n|---|---|---|---|---|\n");
    for p in &registry().providers {
        let hs: Vec<&str> = p.handshakes.iter().map(|h| h.as_str()).collect();
        out.push_str(&format!(
            "| `{}` | [{}]({}) | {} | {} | {} |\n",
            p.name,
            p.title,
            p.docs,
            verifies(p).replace('|', "\\|"),
            first(&p.event.id),
            if hs.is_empty() {
                "—".to_string()
            } else {
                hs.join(", ")
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_docs_provider_table_is_the_one_the_provider_files_make() {
        let readme = include_str!("../../docs/sources.md");
        let start = readme
            .find("<!-- providers:start -->\n")
            .expect("docs/sources.md has the start marker")
            + 25;
        let end = readme
            .find("<!-- providers:end -->")
            .expect("docs/sources.md has the end marker");
        assert!(
            readme[start..end] == super::markdown(),
            "docs/sources.md's provider table is stale: replace it with the output of `inlet providers --markdown`"
        );
    }
}
