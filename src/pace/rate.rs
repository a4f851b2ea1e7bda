//! A token bucket: `count` per `per`, with a burst of a tenth of the count (at least 1).

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::domain::values::Rate;

pub struct TokenBucket {
    state: Mutex<(f64, Instant)>,
    per_token: Duration,
    burst: f64,
}

impl TokenBucket {
    pub fn new(rate: Rate) -> Self {
        let burst = f64::from((rate.count / 10).max(1));
        TokenBucket {
            state: Mutex::new((burst, Instant::now())),
            per_token: rate.per / rate.count,
            burst,
        }
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self) {
        let mut state = self.state.lock().await;
        loop {
            let (tokens, last) = &mut *state;
            let refill = last.elapsed().as_secs_f64() / self.per_token.as_secs_f64();
            *tokens = (*tokens + refill).min(self.burst);
            *last = Instant::now();
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                return;
            }
            let wait = self.per_token.mul_f64(1.0 - *tokens);
            tokio::time::sleep(wait).await;
        }
    }
}
