//! How events enter: webhook intake (verify, then extract the dedupe key, type and times).
//! Sources build events; they do not store them, route them or schedule anything.

pub mod headers;
pub mod webhook;

pub use webhook::{Accepted, EventDraft, Refusal, WebhookIntake};
