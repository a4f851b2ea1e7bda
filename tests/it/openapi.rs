//! `/api/openapi.json`: a snapshot of the document, and every documented route answered by
//! the router (a handler's answer, never the router's own 404).

use inlet::http::admin::openapi::ROUTES;

use crate::support::TestApp;

const SNAPSHOT: &str = "tests/it/snapshots/openapi.json";

#[tokio::test]
async fn the_openapi_document_matches_its_snapshot_and_covers_every_api_route() {
    let app = TestApp::spawn("[admin]\ntoken = \"t\"\n").await;
    let resp = app
        .client
        .get(format!("{}/api/openapi.json", app.admin))
        .bearer_auth("t")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    let doc: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let pretty = serde_json::to_string_pretty(&doc).expect("serializes") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &pretty).expect("snapshot written");
    }
    let expected = std::fs::read_to_string(&path).expect("snapshot exists (UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        pretty, expected,
        "the OpenAPI document changed: review it, then UPDATE_SNAPSHOTS=1"
    );

    let mut documented: Vec<String> = doc["paths"].as_object().expect("paths").keys().cloned().collect();
    documented.sort();
    let mut contract = vec![
        "/api/v1/events",
        "/api/v1/events/{id}",
        "/api/v1/events/{id}/body",
        "/api/v1/events/{id}/replay",
        "/api/v1/replay",
        "/api/v1/sources",
        "/api/v1/sources/{name}/reset-cursor",
        "/api/v1/destinations",
        "/api/v1/rejected",
        "/api/v1/stream",
        "/api/v1/destinations/{name}/pause",
        "/api/v1/destinations/{name}/resume",
        "/api/v1/alerts",
        "/api/v1/rejected/retry",
    ];
    contract.sort();
    assert_eq!(documented, contract);

    for route in ROUTES {
        let url = format!(
            "{}{}",
            app.admin,
            route.path.replace("{id}", "evt_x").replace("{name}", "nope")
        );
        let request = match route.method {
            "get" => app.client.get(&url),
            _ => app
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body("{}"),
        };
        let resp = request.bearer_auth("t").send().await.expect("answered");
        let status = resp.status().as_u16();
        if route.path == "/api/v1/stream" {
            assert_eq!(status, 200);
            continue;
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_ne!(
            body["detail"], "no such route",
            "{} {} is not routed",
            route.method, route.path
        );
        assert!(
            status == 200 || status == 404,
            "{} {}: {status} {body}",
            route.method,
            route.path
        );
    }
    app.stop().await;
}
