//! Why a poll run failed: the closed set of failures, each with a short kind to log only
//! when it changes, and the Retry-After a rate limit brought.

use std::time::Duration;

use crate::store::StoreError;

/// The most an answer may weigh.
pub const MAX_ANSWER: usize = 32 << 20;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("HTTP {status}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited { status: u16, retry_after: Option<Duration> },
    #[error("HTTP {0}")]
    Status(u16),
    #[error("no answer within the timeout")]
    Timeout,
    #[error("request failed: {0}")]
    Request(String),
    #[error("the answer is not JSON: {0}")]
    BadJson(String),
    #[error("{0}")]
    NoItems(String),
    #[error("pagination: {0}")]
    Pagination(String),
    #[error("the answer is larger than {} MiB", MAX_ANSWER >> 20)]
    TooLarge,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PollError {
    /// A short name of the failure, to log only when it changes.
    pub fn kind(&self) -> String {
        match self {
            PollError::RateLimited { status, .. } => format!("rate_limited_{status}"),
            PollError::Status(s) => format!("http_{s}"),
            PollError::Timeout => "timeout".into(),
            PollError::Request(_) => "request".into(),
            PollError::BadJson(_) => "bad_json".into(),
            PollError::NoItems(_) => "no_items".into(),
            PollError::Pagination(_) => "pagination".into(),
            PollError::TooLarge => "too_large".into(),
            PollError::Store(_) => "store".into(),
        }
    }

    /// 401/403: the credentials need a person.
    pub fn needs_attention(&self) -> bool {
        matches!(self, PollError::Status(401 | 403))
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
