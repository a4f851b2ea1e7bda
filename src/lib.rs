//! inlet: a self-hosted event gateway.
//!
//! Webhooks come in through `http` (ingest listener), are verified by `signature` with the
//! parameters of their provider's file (`providers`), turned into events by `sources`,
//! committed by `store` and only then acknowledged; `workers` deliver them to
//! `destinations`. `config` reads `inlet.toml`; `domain` and `pace` are the vocabulary and
//! the leaf helpers every layer uses; `app` wires it all; `cli` is the command line. See
//! `ARCHITECTURE.md` for the codemap, the path of an event and the dependency rule.

pub mod app;
pub mod cli;
pub mod config;
pub mod destinations;
pub mod domain;
pub mod http;
pub mod pace;
pub mod providers;
pub mod routing;
pub mod signature;
pub mod sources;
pub mod store;
pub mod telemetry;
pub mod workers;

pub use app::App;
