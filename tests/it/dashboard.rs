//! The dashboard over HTTP: login into an HttpOnly, SameSite=Strict cookie; pages behind it;
//! replay as a POST that needs the page's CSRF token and the dashboard's own origin;
//! everything from the payload escaped.

use inlet::providers::SchemeSpec;

use crate::admin_api::{SECRET, TOKEN, fixture};
use crate::support::{now, signed};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs in; the session cookie's `name=value`.
async fn login(admin: &str) -> String {
    let resp = no_redirects()
        .post(format!("{admin}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 303);
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(TOKEN), "the cookie is not the token");
    cookie.split(';').next().expect("name=value").to_string()
}

async fn get(admin: &str, path: &str, cookie: &str) -> (u16, String) {
    let resp = no_redirects()
        .get(format!("{admin}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("answered");
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().expect("value").to_string()
}

#[tokio::test]
async fn pages_need_a_login_and_the_cookie_is_httponly_strict_and_not_the_token() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let (status, _) = get(&admin, "/", "").await;
    assert_eq!(status, 303, "to /login");
    let wrong = no_redirects()
        .post(format!("{admin}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=nope")
        .send()
        .await
        .expect("answered");
    assert_eq!(wrong.status().as_u16(), 401);
    let cookie = login(&admin).await;
    let (status, html) = get(&admin, "/", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<svg class=\"chart\"") && html.contains("Queue depth"),
        "{html}"
    );
    for page in [
        "/events",
        "/dead",
        "/rejected",
        "/sources",
        &format!("/events/{}", f.ids[0]),
    ] {
        let (status, html) = get(&admin, page, &cookie).await;
        assert_eq!(status, 200, "{page}: {html}");
    }
    let (status, html) = get(&admin, "/events?q=msg_2", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains(&f.ids[1]), "search by dedupe key finds the event");
    let (status, _) = get(&admin, &format!("/events?q={}", f.ids[2]), &cookie).await;
    assert_eq!(status, 303, "search by id opens the event");
    let api = f
        .app
        .client
        .get(format!("{admin}/api/v1/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("answered");
    assert_eq!(api.status().as_u16(), 200, "the session opens the API too");
    let ingest = f
        .app
        .client
        .get(format!("{}/", f.app.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(ingest.status().as_u16(), 404, "no dashboard on the ingest listener");
    f.app.stop().await;
}

#[tokio::test]
async fn replay_from_the_event_page_needs_the_csrf_token_and_the_same_origin() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let cookie = login(&admin).await;
    let id = &f.ids[3];
    let (_, html) = get(&admin, &format!("/events/{id}"), &cookie).await;
    let csrf = csrf_of(&html);
    let post = |body: String, origin: Option<&str>| {
        let mut req = no_redirects()
            .post(format!("{admin}/events/{id}/replay"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    assert_eq!(
        post("destination=failing".into(), None)
            .await
            .expect("answered")
            .status()
            .as_u16(),
        403
    );
    let evil = post(format!("csrf={csrf}&destination=failing"), Some("https://evil.example")).await;
    assert_eq!(evil.expect("answered").status().as_u16(), 403);
    let own = admin.clone();
    let ok = post(format!("csrf={csrf}&destination=failing"), Some(&own))
        .await
        .expect("answered");
    assert_eq!(ok.status().as_u16(), 303);
    f.failing.wait_for(4).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, html) = get(&admin, &format!("/events/{id}"), &cookie).await;
    let failing = html
        .split("data-destination=\"failing\"")
        .nth(1)
        .expect("the failing delivery's attempts");
    let attempts = failing.split("</table>").next().unwrap_or("").matches("<tr>").count() - 1;
    assert_eq!(attempts, 2, "the replay's attempt is on the page");
    let unknown = no_redirects()
        .post(format!("{admin}/events/evt_nope/replay"))
        .header("cookie", &cookie)
        .header("origin", &own)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        unknown.status().as_u16(),
        404,
        "replaying an unknown event is not found"
    );
    f.app.stop().await;
}

#[tokio::test]
async fn a_payload_with_markup_is_shown_escaped() {
    let f = fixture().await;
    let body = br#"{"n":66,"type":"<script>alert(1)</script>"}"#;
    let headers = signed(&SchemeSpec::named("standard"), SECRET, body, now(), "msg_66", "");
    let (_, answer) = f.app.post("shop", &headers, body).await;
    let id = answer["id"].as_str().expect("id");
    let cookie = login(&f.app.admin).await;
    for path in [format!("/events/{id}"), "/events".to_string()] {
        let (_, html) = get(&f.app.admin, &path, &cookie).await;
        assert!(!html.contains("<script>"), "{path}");
        assert!(html.contains("&lt;script&gt;"), "{path}");
    }
    f.app.stop().await;
}

#[tokio::test]
async fn the_overview_pauses_and_resumes_a_destination_with_its_csrf_token_and_the_rejected_page_retries() {
    let f = fixture().await;
    let admin = f.app.admin.clone();
    let cookie = login(&admin).await;
    let (status, html) = get(&admin, "/", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("Open alerts"), "open alerts come first");
    assert!(html.contains("action=\"/destinations/good/pause\""), "a Pause button");
    let csrf = csrf_of(&html);
    let post = |path: String, body: String| {
        no_redirects()
            .post(format!("{admin}{path}"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let refused = post("/destinations/good/pause".into(), String::new())
        .await
        .expect("answered");
    assert_eq!(refused.status().as_u16(), 403, "no CSRF token, no pause");
    let paused = post("/destinations/good/pause".into(), format!("csrf={csrf}"))
        .await
        .expect("answered");
    assert_eq!(paused.status().as_u16(), 303);
    let (_, html) = get(&admin, "/", &cookie).await;
    assert!(
        html.contains("action=\"/destinations/good/resume\""),
        "now a Resume button"
    );
    let (status, _) = get(&admin, "/api/v1/destinations", &cookie).await;
    assert_eq!(status, 200);
    let resumed = post("/destinations/good/resume".into(), format!("csrf={csrf}"))
        .await
        .expect("answered");
    assert_eq!(resumed.status().as_u16(), 303);
    let (_, html) = get(&admin, "/", &cookie).await;
    assert!(html.contains("action=\"/destinations/good/pause\""), "running again");

    f.app.post_forged("shop", 1).await;
    assert!(f.app.rejected_count(1).await >= 1);
    let (_, html) = get(&admin, "/rejected", &cookie).await;
    assert!(html.contains("Retry 1 rejected requests"), "the button names the count");
    let retried = post("/rejected/retry".into(), format!("csrf={csrf}"))
        .await
        .expect("answered");
    assert_eq!(retried.status().as_u16(), 200);
    let page = retried.text().await.expect("text");
    assert!(page.contains("Retried 1: 0 accepted as new events"), "{page}");
    f.app.stop().await;
}
