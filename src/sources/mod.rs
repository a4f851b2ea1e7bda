//! How events enter: webhook intake (verify, then extract the dedupe key, type and times)
//! and poll sources (call the provider's API, page by page, from a persisted cursor); and
//! hydration, the provider call that fetches an event's current state before delivery.
//! Sources build events and hand them to the store; they do not route or deliver them.

pub mod fields;
pub mod handshake;
pub mod headers;
pub mod hydrate;
pub mod poll;
pub mod webhook;

pub use webhook::{Accepted, EventDraft, Refusal, WebhookIntake};
