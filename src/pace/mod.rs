//! Pace: the clock every loop asks ([`Clock`]; tests move a [`ManualClock`] instead of
//! sleeping) and the token bucket that holds a rate limit ([`rate::TokenBucket`]). Leaf
//! helpers that polling, hydration and delivery all use; they depend on nothing but
//! `domain`.

pub mod clock;
pub mod rate;

pub use clock::{Clock, ManualClock, SystemClock};
