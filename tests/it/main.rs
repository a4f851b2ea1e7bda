//! The one integration-test binary: the real app on port 0 with a real SQLite file.
//!
//! - `architecture`: the dependency rule of ARCHITECTURE.md over every module's `crate::` paths.
//! - `support`: `TestApp` (in-process app), `Child` (the `inlet` binary as a process), signing.
//! - `ingest`: every scheme end to end, statuses, dedupe, rejected records.
//! - `delivery`: destinations receive, retries, Retry-After, dead, circuit, concurrency.
//! - `receiver`: a scripted HTTP receiver standing in for the user's endpoint.
//! - `limits`: body size, slow clients, a store that cannot commit, graceful shutdown.
//! - `crash`: SIGKILL mid-stream loses no acknowledged event; no secret in logs.
//! - `poll`: poll sources against `provider`, a fake API the tests edit while inlet polls.
//! - `sources_api`: the sources admin route, reset-cursor, and `inlet sources`.
//! - `hydrate`: current state fetched from a fake provider API before delivery.
//! - `routing`: payload filters and per-key ordering with stale versions.
//! - `destinations`: slack against a stand-in server, command with real scripts.
//! - `presets`: mailgun, discord, zoom, linear, intercom over HTTP; handshakes only when signed.
//! - `metrics`: /metrics parses as Prometheus text and moves with traffic.
//! - `admin_api`: event routes, filters, pages, replay, rejected.
//! - `cli_admin`: `inlet events`, `replay`, `tail` against a running gateway.
//! - `openapi`: the OpenAPI snapshot, and every documented route routed.
//! - `dashboard`: login cookie, pages, CSRF-protected replay, escaping.
//! - `browsers`: other sites against the admin listener: content type, Host, CSRF on API writes, sessions, CSP.
//! - `hostile`: stuffed signature headers, header floods, stalled bodies, connection cap, a full disk.
//! - `nats`: the JetStream destination (INLET_TEST_NATS names the server; else skipped).
//! - `conformance`: one store suite for every backend (SQLite here; PostgreSQL with INLET_TEST_POSTGRES).
//! - `nodes`: two nodes on one PostgreSQL database (INLET_TEST_POSTGRES; else skipped).
//! - `takeover`: heartbeats: a killed node's work taken over within node_timeout + 5 s, a graceful stop at once.
//! - `cli`: `verify`, `sign`, `check`, `init` as a user runs them.
//! - `trigger`: `inlet trigger` sends every provider's samples and the gateway accepts each; `inlet providers`.
//! - `handshakes`: GET challenges (Meta, X, Dropbox) and signed POST handshakes (Twitch, Xero), never stored.

mod admin_api;
mod alerts;
mod amqp;
mod architecture;
mod backup;
mod browsers;
mod cli;
mod cli_admin;
mod config_docs;
mod conformance;
mod crash;
mod dashboard;
mod delivery;
mod destinations;
mod docs;
mod handshakes;
mod hostile;
mod hydrate;
mod ingest;
mod limits;
mod listen;
mod metrics;
mod nats;
mod nodes;
mod openapi;
mod operating;
mod poll;
mod postgres_destination;
mod presets;
mod provider;
mod receiver;
mod redis;
mod routing;
mod sources_api;
mod support;
mod takeover;
mod traces;
mod trigger;
mod unreachable;
