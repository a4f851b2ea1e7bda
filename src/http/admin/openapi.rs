//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every `/api/v1` route, built here
//! from one table of routes (method, path, parameters, answer) that a test holds against
//! the router, so the document and the code cannot drift apart silently.

use axum::Json;
use serde_json::{Map, Value, json};

/// One documented route.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Query parameters (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// The JSON body's fields, for POSTs.
    pub body: &'static [(&'static str, &'static str)],
    /// The 200 answer's schema.
    pub answer: fn() -> Value,
}

const FILTERS: &[(&str, &str)] = &[
    ("source", "Only events of this source."),
    ("type", "Only events of this type."),
    ("status", "pending, dead or delivered (the event's status)."),
    ("destination", "Only events with a delivery to this destination."),
    (
        "since",
        "Received at or after: RFC 3339, or a duration back from now (\"15m\").",
    ),
    ("until", "Received before: RFC 3339, or a duration back from now."),
    ("dedupe_key", "Only the event with this dedupe key."),
];

const PAGE: &[(&str, &str)] = &[
    ("cursor", "The next_cursor of the previous page."),
    (
        "after",
        "Oldest first: only events that arrived after the one with this cursor (0: from the oldest).",
    ),
    ("limit", "Items per page: default 50, at most 1000."),
];

fn list_of(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": { "type": "array", "items": item },
            "next_cursor": { "type": ["string", "null"] }
        }
    })
}

fn event_summary() -> Value {
    json!({
        "type": "object",
        "required": ["id", "source", "type", "dedupe_key", "status", "via", "received_at", "occurred_at"],
        "properties": {
            "id": { "type": "string" },
            "source": { "type": "string" },
            "type": { "type": ["string", "null"] },
            "dedupe_key": { "type": "string" },
            "status": { "enum": ["pending", "dead", "delivered"] },
            "via": { "enum": ["webhook", "poll", "alert"] },
            "received_at": { "type": "string", "format": "date-time" },
            "occurred_at": { "type": ["string", "null"], "format": "date-time" }
        }
    })
}

fn event_detail() -> Value {
    let mut e = event_summary();
    let attempt = json!({
        "type": "object",
        "properties": {
            "at": { "type": "string", "format": "date-time" },
            "status_code": { "type": ["integer", "null"] },
            "latency_ms": { "type": "integer" },
            "error": { "type": ["string", "null"] },
            "response_excerpt": { "type": ["string", "null"] }
        }
    });
    if let Some(p) = e["properties"].as_object_mut() {
        p.insert(
            "headers".into(),
            json!({ "type": "object", "additionalProperties": { "type": "string" } }),
        );
        p.insert("payload".into(), json!({}));
        p.insert("payload_base64".into(), json!({ "type": "string" }));
        p.insert(
            "deliveries".into(),
            json!({ "type": "array", "items": {
                "type": "object",
                "properties": {
                    "id": { "type": "string" },
                    "destination": { "type": "string" },
                    "status": { "enum": ["pending", "delivered", "dead", "skipped_stale"] },
                    "next_attempt_at": { "type": ["string", "null"], "format": "date-time" },
                    "last_error": { "type": ["string", "null"] },
                    "attempts": { "type": "array", "items": attempt }
                }
            }}),
        );
    }
    e
}

fn replayed() -> Value {
    json!({ "type": "object", "properties": {
        "replayed": { "type": "integer" },
        "matching": { "type": "integer", "description": "With count = true: how many would be replayed." }
    }})
}

fn any_list() -> Value {
    list_of(json!({ "type": "object" }))
}

fn rejected() -> Value {
    list_of(json!({
        "type": "object",
        "properties": {
            "id": { "type": "string" },
            "source": { "type": "string" },
            "error": { "type": "string" },
            "at": { "type": "string", "format": "date-time" },
            "headers": { "type": "object", "additionalProperties": { "type": "string" } },
            "body_size": { "type": "integer" }
        }
    }))
}

fn event_list() -> Value {
    let mut item = event_summary();
    item["properties"]["cursor"] =
        json!({ "type": "string", "description": "This event's place in arrival order: `after` it resumes the list." });
    list_of(item)
}

fn raw_body() -> Value {
    json!({ "type": "string", "format": "binary", "description": "The body exactly as received, with its Content-Type." })
}

fn stream() -> Value {
    json!({ "type": "string", "description": "text/event-stream: `event: event` (a new event) and `event: delivery` (an attempt's outcome), data as JSON." })
}

fn reset() -> Value {
    json!({ "type": "object", "properties": { "source": { "type": "string" }, "cursor": { "type": "null" } } })
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/api/v1/events",
        summary: "Events, newest first (or oldest first after a cursor), filtered.",
        query: &[],
        body: &[],
        answer: event_list,
    },
    Route {
        method: "get",
        path: "/api/v1/events/{id}",
        summary: "One event with headers, payload, deliveries and attempts.",
        query: &[],
        body: &[],
        answer: event_detail,
    },
    Route {
        method: "get",
        path: "/api/v1/events/{id}/body",
        summary: "The event's body byte for byte, with the Content-Type it arrived with.",
        query: &[],
        body: &[],
        answer: raw_body,
    },
    Route {
        method: "post",
        path: "/api/v1/events/{id}/replay",
        summary: "Re-queue this event's finished deliveries.",
        query: &[],
        body: &[("destination", "Only the delivery to this destination.")],
        answer: replayed,
    },
    Route {
        method: "post",
        path: "/api/v1/replay",
        summary: "Re-queue deliveries of the events matching the filters.",
        query: &[],
        body: &[
            ("delivery_status", "dead (default), delivered or skipped_stale."),
            ("destination", "Only deliveries to this destination."),
            ("limit", "At most this many in this request."),
            ("count", "true: only count them."),
        ],
        answer: replayed,
    },
    Route {
        method: "get",
        path: "/api/v1/rejected",
        summary: "Rejected requests, newest first.",
        query: PAGE,
        body: &[],
        answer: rejected,
    },
    Route {
        method: "get",
        path: "/api/v1/stream",
        summary: "Server-sent events: new events and delivery outcomes.",
        query: &[("source", "Only this source."), ("type", "Only this type.")],
        body: &[],
        answer: stream,
    },
    Route {
        method: "get",
        path: "/api/v1/sources",
        summary: "Sources: kinds, poll cursors, efficiency and recovered events.",
        query: &[],
        body: &[],
        answer: any_list,
    },
    Route {
        method: "post",
        path: "/api/v1/sources/{name}/reset-cursor",
        summary: "Forget a poll source's cursor.",
        query: &[],
        body: &[],
        answer: reset,
    },
    Route {
        method: "get",
        path: "/api/v1/destinations",
        summary: "Destinations: deliveries by state, oldest pending, circuit, paused.",
        query: &[],
        body: &[],
        answer: any_list,
    },
    Route {
        method: "post",
        path: "/api/v1/destinations/{name}/pause",
        summary: "Pause a destination: new deliveries wait as pending, nothing is attempted, on every node.",
        query: &[],
        body: &[],
        answer: paused,
    },
    Route {
        method: "post",
        path: "/api/v1/destinations/{name}/resume",
        summary: "Resume a paused destination.",
        query: &[],
        body: &[],
        answer: paused,
    },
    Route {
        method: "get",
        path: "/api/v1/alerts",
        summary: "Alerts, newest first.",
        query: &[
            ("state", "open or resolved"),
            ("limit", "at most this many (default 50, at most 1000)"),
            ("cursor", "the next_cursor of the previous page"),
        ],
        body: &[],
        answer: alerts,
    },
    Route {
        method: "post",
        path: "/api/v1/rejected/retry",
        summary: "Verify the kept rejected requests again with the current config, as of when each was received; ingest those that pass with their original received time.",
        query: &[],
        body: &[
            ("source", "only this source's requests"),
            ("error", "only requests rejected with this KIND"),
            (
                "since",
                "received at or after: RFC 3339 or a duration back from now (\"1h\")",
            ),
            ("until", "received before: RFC 3339 or a duration back from now"),
            ("count", "true: only count what would be retried"),
        ],
        answer: retried,
    },
];

fn paused() -> Value {
    json!({ "type": "object", "properties": { "name": { "type": "string" }, "paused": { "type": "boolean" } } })
}

fn alerts() -> Value {
    list_of(json!({
        "type": "object",
        "properties": {
            "id": { "type": "string" },
            "kind": { "enum": ["destination_failing", "backlog", "poll_failing", "rejected_spike", "silent"] },
            "subject": { "type": "string" },
            "state": { "enum": ["open", "resolved"] },
            "opened_at": { "type": "string", "format": "date-time" },
            "resolved_at": { "type": ["string", "null"], "format": "date-time" },
            "detail": { "type": "string" }
        }
    }))
}

fn retried() -> Value {
    json!({ "type": "object", "properties": {
        "retried": { "type": "integer" },
        "accepted": { "type": "integer", "description": "New events." },
        "duplicates": { "type": "integer", "description": "Requests already stored." },
        "still_rejected": { "type": "integer" },
        "matching": { "type": "integer", "description": "With count = true: how many would be retried." }
    }})
}

fn parameters(route: &Route) -> Vec<Value> {
    let mut out = Vec::new();
    for name in ["id", "name"] {
        if route.path.contains(&format!("{{{name}}}")) {
            out.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
        }
    }
    let query: Vec<(&str, &str)> = if route.path == "/api/v1/events" {
        FILTERS.iter().chain(PAGE).copied().collect()
    } else {
        route.query.to_vec()
    };
    for (name, description) in query {
        out.push(json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } }));
    }
    out
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let error = json!({
        "description": "An error.",
        "content": { "application/json": { "schema": {
            "type": "object", "required": ["error", "detail"],
            "properties": {
                "error": { "enum": ["unauthorized", "not_found", "bad_request", "unavailable"] },
                "detail": { "type": "string" }
            }
        }}}
    });
    let mut paths = Map::new();
    for route in ROUTES {
        let mut op = json!({
            "summary": route.summary,
            "parameters": parameters(route),
            "security": [{ "bearer": [] }],
            "responses": {
                "200": { "description": "OK", "content": { (if route.path.ends_with("/body") { "*/*" } else { "application/json" }): { "schema": (route.answer)() } } },
                "400": error.clone(),
                "401": error.clone(),
                "404": error.clone(),
                "503": error.clone()
            }
        });
        if route.method == "post" {
            let fields: Vec<(&str, &str)> = if route.path == "/api/v1/replay" {
                FILTERS.iter().chain(route.body).copied().collect()
            } else {
                route.body.to_vec()
            };
            let props: Map<String, Value> = fields
                .into_iter()
                .map(|(k, d)| (k.to_string(), json!({ "description": d })))
                .collect();
            op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": { "type": "object", "properties": props } } } });
            // A POST without Content-Type: application/json, or a session-cookie write
            // without its X-CSRF-Token (or, without a token, a foreign Host).
            op["responses"]["403"] = error.clone();
            op["responses"]["415"] = error.clone();
        }
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "inlet admin API", "version": env!("CARGO_PKG_VERSION") },
        "components": { "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
        "paths": Value::Object(paths)
    })
}

pub async fn serve() -> Json<Value> {
    Json(document())
}
