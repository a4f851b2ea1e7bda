//! Background loops that join the store, the sources and the destinations: one delivery
//! worker per destination, one poll loop per poll source, and retention. Time comes from a
//! [`Clock`] so tests can move it.

pub mod alerts;
pub mod circuit;
pub mod delivery;
pub mod pauses;
pub mod poll;
mod recording;
pub mod retention;

pub use crate::pace::{Clock, ManualClock, SystemClock};
pub use delivery::{DeliveryWorker, Health};
