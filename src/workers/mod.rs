//! Background loops that join the store and the destinations: one delivery worker per
//! destination, and retention. Time comes from a [`Clock`] so tests can move it.

pub mod circuit;
pub mod clock;
pub mod delivery;
mod rate;
pub mod retention;

pub use clock::{Clock, ManualClock, SystemClock};
pub use delivery::DeliveryWorker;
