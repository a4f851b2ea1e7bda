//! How events enter: webhook intake (verify, then extract the dedupe key, type and times)
//! and poll sources (call the provider's API, page by page, from a persisted cursor).
//! Sources build events and hand them to the store; they do not route or deliver them.

pub mod fields;
pub mod headers;
pub mod poll;
pub mod webhook;

pub use webhook::{Accepted, EventDraft, Refusal, WebhookIntake};
