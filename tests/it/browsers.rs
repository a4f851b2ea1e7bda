//! Browsers and other sites against the admin listener: a cross-site `text/plain` POST, a
//! DNS-rebinding `Host`, a cookie-only API write, sessions that logout ends, `Secure`
//! behind an https proxy, the pages' CSP, and a stalled login body.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::admin_api::{TOKEN, fixture};
use crate::support::TestApp;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

const OPEN: &str = r#"
[sources.stripe]
scheme = "stripe"
secrets = ["whsec_test"]
"#;

#[tokio::test]
async fn without_a_token_a_cross_site_text_plain_replay_is_refused() {
    let app = TestApp::spawn(OPEN).await;
    let post = |content_type: &'static str| {
        app.client
            .post(format!("{}/api/v1/replay", app.admin))
            .header("content-type", content_type)
            .body(r#"{"delivery_status":"dead"}"#)
            .send()
    };
    let forged = post("text/plain").await.expect("answered");
    assert_eq!(forged.status().as_u16(), 415);
    let body: serde_json::Value = forged.json().await.expect("json");
    assert_eq!(body["error"], "bad_request");
    assert!(body.get("replayed").is_none());
    let form = post("application/x-www-form-urlencoded").await.expect("answered");
    assert_eq!(form.status().as_u16(), 415);
    let own = post("application/json").await.expect("answered");
    assert_eq!(own.status().as_u16(), 200, "the CLI's own JSON POST still works");
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_a_foreign_host_is_refused_so_dns_rebinding_reads_nothing() {
    let app = TestApp::spawn(OPEN).await;
    for path in ["/api/v1/events", "/", "/events", "/metrics"] {
        let resp = app
            .client
            .get(format!("{}{path}", app.admin))
            .header("host", "rebind.evil.example:8081")
            .send()
            .await
            .expect("answered");
        assert_eq!(resp.status().as_u16(), 403, "{path}");
    }
    let own = app
        .client
        .get(format!("{}/api/v1/events", app.admin))
        .send()
        .await
        .expect("answered");
    assert_eq!(own.status().as_u16(), 200, "127.0.0.1 is served");
    let localhost = app
        .client
        .get(format!("{}/api/v1/events", app.admin))
        .header("host", "localhost:8081")
        .send()
        .await
        .expect("answered");
    assert_eq!(localhost.status().as_u16(), 200);
    let health = app
        .client
        .get(format!("{}/healthz", app.admin))
        .header("host", "rebind.evil.example")
        .send()
        .await
        .expect("answered");
    assert_eq!(health.status().as_u16(), 200, "health checks need no Host");
    app.stop().await;
}

/// Signs in; the cookie's `name=value` and the whole Set-Cookie line.
async fn login(admin: &str, https: bool) -> (String, String) {
    let mut req = no_redirects()
        .post(format!("{admin}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"));
    if https {
        req = req.header("x-forwarded-proto", "https");
    }
    let resp = req.send().await.expect("answered");
    assert_eq!(resp.status().as_u16(), 303);
    let line = resp.headers()["set-cookie"].to_str().expect("ascii").to_string();
    (line.split(';').next().expect("name=value").to_string(), line)
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().expect("value").to_string()
}

#[tokio::test]
async fn the_session_cookie_alone_reads_the_api_but_writes_only_with_the_csrf_token() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let (cookie, _) = login(&admin, false).await;
    let client = no_redirects();
    let read = client
        .get(format!("{admin}/api/v1/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("answered");
    assert_eq!(read.status().as_u16(), 200);
    let write = |csrf: Option<String>| {
        let mut req = client
            .post(format!("{admin}/api/v1/replay"))
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(r#"{"delivery_status":"dead"}"#);
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    let cookie_only = write(None).await.expect("answered");
    assert_eq!(cookie_only.status().as_u16(), 403);
    assert!(!cookie_only.text().await.unwrap_or_default().contains("replayed"));
    assert_eq!(
        write(Some("0".repeat(64))).await.expect("answered").status().as_u16(),
        403
    );
    let page = client
        .get(format!("{admin}/dead"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("answered");
    let csrf = csrf_of(&page.text().await.expect("html"));
    let with_token = write(Some(csrf)).await.expect("answered");
    assert_eq!(with_token.status().as_u16(), 200);
    let bearer = client
        .post(format!("{admin}/api/v1/replay"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("answered");
    assert_eq!(bearer.status().as_u16(), 200, "the bearer token needs no CSRF token");
    f.app.stop().await;
}

#[tokio::test]
async fn sessions_are_random_expiring_ended_by_logout_and_secure_behind_https() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let (first, line) = login(&admin, false).await;
    let (second, _) = login(&admin, false).await;
    assert_ne!(first, second, "each sign-in is a new random session");
    assert!(line.contains("Max-Age=43200") && !line.contains("Secure"), "{line}");
    let (_, https_line) = login(&admin, true).await;
    assert!(https_line.contains("; Secure"), "{https_line}");
    let client = no_redirects();
    let page = client
        .get(format!("{admin}/dead"))
        .header("cookie", &first)
        .send()
        .await
        .expect("answered");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let csrf = csrf_of(&page.text().await.expect("html"));
    let out = client
        .post(format!("{admin}/logout"))
        .header("cookie", &first)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(out.status().as_u16(), 303);
    let after = client
        .get(format!("{admin}/api/v1/events"))
        .header("cookie", &first)
        .send()
        .await
        .expect("answered");
    assert_eq!(after.status().as_u16(), 401, "logout ended the session");
    let other = client
        .get(format!("{admin}/api/v1/events"))
        .header("cookie", &second)
        .send()
        .await
        .expect("answered");
    assert_eq!(other.status().as_u16(), 200, "other sessions go on");
    f.app.stop().await;
}

#[tokio::test]
async fn a_stalled_login_body_is_timed_out_on_the_admin_listener() {
    let app = TestApp::spawn(&format!(
        "[server]\nread_timeout = \"500ms\"\n[admin]\ntoken = \"{TOKEN}\"\n{OPEN}"
    ))
    .await;
    let mut stream = tokio::net::TcpStream::connect(app.admin.trim_start_matches("http://"))
        .await
        .expect("connects");
    stream
        .write_all(b"POST /login HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ntoken=")
        .await
        .expect("writes");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    app.stop().await;
}
