//! HTML for the dashboard, built as strings with every dynamic value escaped: the page
//! layout (navigation, inline CSS, no CDN, no JavaScript), tables, and SVG bar charts.

use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn q(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\
header{background:#1d2330;color:#fff;padding:10px 24px;display:flex;gap:18px;align-items:center}\
header a{color:#cfd6e4;text-decoration:none}header a:hover{color:#fff}header b{margin-right:12px}\
main{padding:18px 24px;max-width:1200px}h1{font-size:20px}h2{font-size:16px;margin-top:24px}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6ec;vertical-align:top}\
th{font-weight:600;background:#eef0f4}code,pre{font:12px/1.4 ui-monospace,monospace}\
pre{background:#fff;border:1px solid #e3e6ec;padding:10px;overflow:auto;max-height:420px}\
.pending{color:#9a6700}.dead{color:#cf222e}.delivered{color:#1a7f37}.skipped_stale{color:#57606a}\
.open{color:#cf222e;font-weight:600}.closed{color:#1a7f37}form.inline{display:inline}\
button{background:#1f6feb;color:#fff;border:0;padding:6px 12px;border-radius:4px;cursor:pointer}\
input,select{padding:5px;border:1px solid #c9ced8;border-radius:4px}.muted{color:#6e7781}\
.chart{background:#fff;border:1px solid #e3e6ec;margin:4px 0 12px}";

/// A whole page: navigation, title, body.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · inlet</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><style>{CSS}</style></head><body>\
         <header><b>inlet</b><a href=\"/\">Overview</a><a href=\"/events\">Events</a><a href=\"/dead\">Dead letters</a>\
         <a href=\"/rejected\">Rejected</a><a href=\"/sources\">Sources</a></header><main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    )
}

/// A table: header cells, then rows of already-escaped HTML cells.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\" class=\"muted\">nothing yet</td></tr>",
            header.len()
        );
    }
    out.push_str("</table>");
    out
}

/// One bar per minute (oldest left), scaled to the busiest minute, with the total.
pub fn bars(label: &str, counts: &[u64]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let total: u64 = counts.iter().sum();
    let (w, h) = (6, 40);
    let mut svg = format!(
        "<svg class=\"chart\" width=\"{}\" height=\"{h}\" role=\"img\" aria-label=\"{} per minute\">",
        counts.len() * w,
        esc(label)
    );
    for (i, c) in counts.iter().enumerate() {
        let bar = (*c as usize * (h - 2)) / max as usize;
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bar}\" fill=\"#1f6feb\"><title>{c}</title></rect>",
            i * w,
            h - bar,
            w - 1
        );
    }
    svg.push_str("</svg>");
    format!(
        "<div><b>{}</b> <span class=\"muted\">{total} in the last hour</span><br>{svg}</div>",
        esc(label)
    )
}

/// A hidden CSRF field and a button, posting to `action`.
pub fn post_button(action: &str, csrf: &str, label: &str, extra: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{extra}<button type=\"submit\">{}</button></form>",
        esc(action),
        esc(csrf),
        esc(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_dynamic_is_escaped() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let t = table(&["a"], &[vec![esc("<b>")]]);
        assert!(t.contains("&lt;b&gt;") && !t.contains("<b>"));
        assert!(bars("<src>", &[0, 3, 1]).contains("&lt;src&gt;"));
    }
}
